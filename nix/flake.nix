# Written by `nixlab build`; edit the cluster file, not this. Static: every per-node fact
# comes from nodes/<hostname>.json, read with builtins.fromJSON.
{
  description = "nixlab cluster: NixOS configurations of every node";

  # Pinned: the revisions nixlab knows work (src/nodes/inputs.ts says why; docs/nodes.md
  # says how to bump them). rev + narHash make Nix check what it fetched and let it reuse
  # a store copy offline; nixpkgs follows the stable branch and is held by flake.lock.
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    sops-nix = {
      type = "github";
      owner = "Mic92";
      repo = "sops-nix";
      rev = "56b24064fdcaedca53553b1a6d607fd23b613a24";
      narHash = "sha256-478kKQBvK6SYTOdN2h9jhKJv94nbXRbFMfuL1WshErg=";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    disko = {
      type = "github";
      owner = "nix-community";
      repo = "disko";
      rev = "878ec37d6a8f52c6c801d0e2a2ad554c75b9353c";
      narHash = "sha256-qWKbLUJpavIpvOdX1fhHYm0WGerytFHRoh9lVck6Bh0=";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    impermanence = {
      type = "github";
      owner = "nix-community";
      repo = "impermanence";
      rev = "7b1d382faf603b6d264f58627330f9faa5cba149";
      narHash = "sha256-03+JxvzmfwRu+5JafM0DLbxgHttOQZkUtDWBmeUkN8Y=";
      inputs.nixpkgs.follows = "nixpkgs";
      # Only impermanence's own tests use it: nothing to fetch.
      inputs.home-manager.follows = "";
    };
    colmena = {
      type = "github";
      owner = "zhaofengli";
      repo = "colmena";
      rev = "5bf4ce6a24adba74a5184f4a9bef01d545a09473";
      narHash = "sha256-ypTPb2eKcOBbOoyvPV0j4ZOXs4kayo73/2KI456QnE0=";
      inputs.nixpkgs.follows = "nixpkgs";
      inputs.stable.follows = "nixpkgs";
      # Only colmena's CI and flake-compat shim use these.
      inputs.nix-github-actions.follows = "";
      inputs.flake-compat.follows = "";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      disko,
      sops-nix,
      impermanence,
      colmena,
      ...
    }:
    let
      lib = nixpkgs.lib;
      root = ./.;
      jsonFiles = lib.filterAttrs (file: type: type == "regular" && lib.hasSuffix ".json" file) (
        builtins.readDir ./nodes
      );
      specList = map (file: builtins.fromJSON (builtins.readFile (./nodes + "/${file}"))) (
        builtins.attrNames jsonFiles
      );
      specs = builtins.listToAttrs (map (spec: lib.nameValuePair spec.hostname spec) specList);

      modulesOf = spec: [
        disko.nixosModules.disko
        sops-nix.nixosModules.sops
        impermanence.nixosModules.impermanence
        ./nix/node.nix
        (./hosts + "/${spec.hostname}/hardware-configuration.nix")
      ];
      specialArgsOf = spec: {
        nixlab = {
          inherit spec root;
        };
      };
    in
    {
      nixosConfigurations = lib.mapAttrs (
        _: spec:
        lib.nixosSystem {
          inherit (spec) system;
          specialArgs = specialArgsOf spec;
          modules = modulesOf spec;
        }
      ) specs;

      # `colmena apply --on @worker` works on this hive as well as `nixlab nodes apply`:
      # current colmena reads colmenaHive (made by the pinned colmena's makeHive), older
      # colmena the plain colmena output.
      colmenaHive = colmena.lib.makeHive self.outputs.colmena;
      colmena =
        {
          meta = {
            nixpkgs = import nixpkgs { system = "x86_64-linux"; };
            nodeNixpkgs = lib.mapAttrs (_: spec: import nixpkgs { inherit (spec) system; }) specs;
            nodeSpecialArgs = lib.mapAttrs (_: specialArgsOf) specs;
          };
        }
        // lib.mapAttrs (_: spec: {
          deployment = {
            inherit (spec.deployment) targetHost targetUser;
            inherit (spec) tags;
          };
          imports = modulesOf spec;
        }) specs;

      # disko of the same revision the configurations use, for `nixlab nodes install`.
      packages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (system: {
        disko = disko.packages.${system}.disko;
      });
    };
}
