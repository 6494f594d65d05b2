# Host basics: name, time zone, boot loader, the cluster user, SSH, mDNS, nix settings.
{
  config,
  lib,
  pkgs,
  nixlab,
  ...
}:
let
  spec = nixlab.spec;
in
{
  networking.hostName = spec.hostname;
  networking.networkmanager.enable = true;
  # k3s's CNI creates cni0, flannel.1 and a veth per pod; NetworkManager must not manage them.
  networking.networkmanager.unmanaged = spec.network.unmanaged;
  # k3s and MetalLB manage their own iptables rules; a host firewall breaks CNI traffic.
  networking.firewall.enable = lib.mkForce false;
  time.timeZone = spec.timezone;
  # The WireGuard pod may run on any node and does not load kernel modules itself.
  boot.kernelModules = [ "wireguard" ];

  # GRUB for both firmware kinds: the 1 MiB BIOS boot partition and the ESP; disko
  # fills in boot.loader.grub.devices from the disk layout (a /dev/disk/by-id path when
  # the cluster file gives one). GRUB copies each generation's kernel and initrd to the
  # ESP, so the number it keeps is bounded by the ESP's size.
  boot.loader.grub = {
    enable = true;
    efiSupport = true;
    efiInstallAsRemovable = true;
    configurationLimit = spec.boot.configurationLimit;
  };

  # Reached as <hostname>.local (unless the cluster file gives an address) by agents,
  # `nixlab nodes apply` and colmena.
  services.avahi = {
    enable = true;
    nssmdns4 = true;
    publish = {
      enable = true;
      addresses = true;
    };
  };

  users.mutableUsers = false;
  users.users.${spec.user.name} = {
    isNormalUser = true;
    extraGroups = spec.user.extraGroups;
    openssh.authorizedKeys.keys = spec.user.sshKeys;
    hashedPasswordFile = config.sops.secrets.user_password.path;
  };
  users.users.root.hashedPasswordFile = config.sops.secrets.user_password.path;
  # `nixos-rebuild --use-remote-sudo` runs unattended for many nodes at once; login is
  # by SSH key only, so sudo without a password adds no way in.
  security.sudo.wheelNeedsPassword = false;

  services.openssh = {
    enable = true;
    # Host keys live on /persist so fingerprints survive the root wipe.
    hostKeys = spec.ssh.hostKeys;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "no";
    };
  };

  nix.settings = {
    experimental-features = [
      "nix-command"
      "flakes"
    ];
    trusted-users = [
      "root"
      spec.user.name
    ];
  };

  environment.systemPackages = [
    pkgs.git
    pkgs.vim
  ];

  system.stateVersion = spec.stateVersion;
}
