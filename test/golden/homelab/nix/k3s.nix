# k3s server (master) or agent, with the token from sops and openiscsi for Longhorn.
{
  config,
  lib,
  pkgs,
  nixlab,
  ...
}:
let
  k = nixlab.spec.k3s;
in
{
  services.k3s = {
    enable = true;
    role = k.role;
    tokenFile = config.sops.secrets.${k.tokenSecret}.path;
    # nixlab validated every flag (no whitespace, no quotes), so joining is safe.
    extraFlags = lib.concatStringsSep " " k.extraFlags;
  }
  // lib.optionalAttrs (k.serverAddr != null) { serverAddr = k.serverAddr; };

  # k3s writes the kubeconfig 0640 root:<group>; the cluster user is in that group.
  users.groups = lib.optionalAttrs (k.kubeconfig != null) { ${k.kubeconfig.group} = { }; };
  environment.variables = lib.optionalAttrs (k.kubeconfig != null) { KUBECONFIG = k.kubeconfig.path; };
  environment.systemPackages = [
    pkgs.kubectl
    pkgs.nfs-utils
  ];

  # Longhorn attaches volumes over iSCSI and needs these on every node.
  services.openiscsi = {
    enable = true;
    name = "iqn.2016-04.com.open-iscsi:${nixlab.spec.hostname}";
  };
  # Longhorn's manager looks for iscsiadm and friends in the host's usual bin paths.
  systemd.tmpfiles.rules = [ "L+ /usr/local/bin - - - - /run/current-system/sw/bin" ];
}
