# Written by `nixlab build`; edit the cluster file, not this. Static: every per-node fact
# comes from nodes/<hostname>.json, read with builtins.fromJSON.
{
  description = "nixlab cluster: NixOS configurations of every node";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
    disko = {
      url = "github:nix-community/disko";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    impermanence.url = "github:nix-community/impermanence";
  };

  outputs =
    {
      self,
      nixpkgs,
      disko,
      sops-nix,
      impermanence,
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

      # `colmena apply --on @worker` works on this hive as well as `nixlab nodes apply`.
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
