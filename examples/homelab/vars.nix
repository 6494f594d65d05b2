# The bundled example as a Nix-only nixlab vars.nix: the same cluster as nixlab.yaml.
let
  workerDisk = "/dev/sda";
  vpnUser = name: ip: extra: {
    inherit ip;
    publicKeySecret = "${name}_wg_public_key";
    enabled = true;
  } // extra;
in
{
  username = "alice";
  timezone = "Europe/Berlin";
  clusterSshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnqA1UJ/+gtV/whQPBKLx7UOetuuL15PCav7TMKVT4n admin@homelab";

  nodes = {
    node1 = { hostname = "node1"; master = true; disk = "/dev/nvme0n1"; espSize = "500M"; tags = [ "master" "storage" ]; };
    node2 = { hostname = "node2"; disk = workerDisk; tags = [ "worker" "storage" ]; };
    node3 = { hostname = "node3"; disk = workerDisk; espSize = "1G"; tags = [ "worker" ]; };
  };

  domain = "home.example.com";
  acmeEmail = "admin@example.com";
  metallbPool = "192.168.1.192/26";
  piholeIp = "192.168.1.250";
  wireguardIp = "192.168.1.194";
  nginxIp = "192.168.1.193";
  upstreamDns = "192.168.1.1";
  lanCidr = "192.168.1.0/24";

  wireguardUsers = {
    alice = vpnUser "alice" "10.0.100.2" {
      group = "admin";
      allowedIPs = "0.0.0.0/0";
      nextcloudUser = "alice";
      description = "Alice's laptop";
    };
    bob = vpnUser "bob" "10.0.100.3" {
      group = "family";
      allowedIPs = "192.168.1.0/24, 10.0.100.0/24";
      nextcloudUser = "bob";
      description = "Bob's phone";
    };
    carol = vpnUser "carol" "10.0.100.4" {
      group = "guests";
      allowedIPs = "0.0.0.0/0";
      description = "Guest tablet, no Nextcloud";
    };
  };

  # VPN access is enforced by the WireGuard pod's firewall; `check` and `build` verify
  # these against the compiled policy (docs/vpn.md).
  vpnTests = [
    { from = "carol"; to = "nextcloud:443"; expect = "deny"; description = "guests never reach Nextcloud"; }
    { from = "family"; to = "lan"; expect = "allow"; }
    { from = "guests"; to = "cluster"; expect = "deny"; }
  ];
}
