# disko layout: GPT with a 1 MiB BIOS boot partition, the ESP (vfat, /boot) and the rest
# as an LVM PV holding root_vg/root, a btrfs volume with the root, persist and nix subvolumes.
{ lib, nixlab, ... }:
let
  disk = nixlab.spec.disk;
  subvolume = sv: {
    name = sv.name;
    value = {
      mountpoint = sv.mountpoint;
    }
    // lib.optionalAttrs (sv.mountOptions != [ ]) { mountOptions = sv.mountOptions; };
  };
in
{
  disko.devices = {
    disk.main = {
      type = "disk";
      device = disk.device;
      content = {
        type = "gpt";
        partitions = {
          boot = {
            size = disk.biosBootSize;
            type = "EF02";
            priority = 1;
          };
          ESP = {
            size = disk.espSize;
            type = "EF00";
            content = {
              type = "filesystem";
              format = "vfat";
              mountpoint = disk.espMountpoint;
              mountOptions = disk.espMountOptions;
            };
          };
          root = {
            size = "100%";
            content = {
              type = "lvm_pv";
              vg = disk.volumeGroup;
            };
          };
        };
      };
    };
    lvm_vg.${disk.volumeGroup} = {
      type = "lvm_vg";
      lvs.${disk.logicalVolume} = {
        size = "100%FREE";
        content = {
          type = "btrfs";
          extraArgs = [ "-f" ];
          subvolumes = builtins.listToAttrs (map subvolume disk.subvolumes);
        };
      };
    };
  };

  # Impermanence bind-mounts from /persist early in stage 2, so it must be mounted by then.
  fileSystems.${nixlab.spec.persistence.root}.neededForBoot = true;
}
