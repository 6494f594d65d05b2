# The initrd `rollback` service: before / is mounted, retire the old root subvolume and
# create an empty one (nix/rollback.sh, embedded as the service's script).
{ pkgs, nixlab, ... }:
let
  rollback = nixlab.spec.rollback;
in
{
  boot.initrd.systemd.enable = true;
  boot.initrd.services.lvm.enable = true;
  boot.initrd.supportedFilesystems = [ "btrfs" ];
  boot.initrd.systemd.initrdBin = [ pkgs.btrfs-progs ];

  boot.initrd.systemd.services.rollback = {
    description = "Start from an empty root subvolume";
    wantedBy = [ "initrd.target" ];
    requires = [ rollback.deviceUnit ];
    after = [ rollback.deviceUnit ];
    before = [ "sysroot.mount" ];
    unitConfig.DefaultDependencies = "no";
    serviceConfig.Type = "oneshot";
    environment = {
      NIXLAB_ROLLBACK_DEVICE = rollback.device;
      NIXLAB_ROLLBACK_KEEP_DAYS = toString rollback.keepDays;
    };
    script = builtins.readFile ./rollback.sh;
  };
}
