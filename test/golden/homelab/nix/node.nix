# The NixOS configuration of one nixlab node. Every per-node fact comes from
# `nixlab.spec` (build/nodes/<hostname>.json, validated by nixlab before it is written).
{ ... }:
{
  imports = [
    ./base.nix
    ./disk.nix
    ./rollback.nix
    ./impermanence.nix
    ./sops.nix
    ./k3s.nix
    ./deploy.nix
  ];
}
