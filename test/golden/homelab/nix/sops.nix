# sops-nix: decrypt the node's secrets with the age key kept on /persist. Every file is
# owner-only (0400); the seed's 0644 files were world-readable.
{ lib, nixlab, ... }:
let
  s = nixlab.spec.sops;
  declare = secret: {
    name = secret.name;
    value = {
      inherit (secret) owner mode;
    }
    // lib.optionalAttrs secret.neededForUsers { neededForUsers = true; };
  };
in
{
  sops = {
    defaultSopsFile = nixlab.root + "/${s.file}";
    defaultSopsFormat = s.format;
    age.keyFile = s.ageKeyFile;
    # Only the age key: do not also derive keys from the SSH host keys.
    age.sshKeyPaths = [ ];
    gnupg.sshKeyPaths = [ ];
    secrets = builtins.listToAttrs (map declare s.secrets);
  };
}
