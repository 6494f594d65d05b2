// The bundled example as TypeScript: the same cluster as nixlab.yaml beside it.
import { defineConfig } from "nixlab";

const workerDisk = "/dev/sda";

export default defineConfig({
  username: "alice",
  timezone: "Europe/Berlin",
  clusterSshKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnqA1UJ/+gtV/whQPBKLx7UOetuuL15PCav7TMKVT4n admin@homelab",

  nodes: {
    node1: {
      hostname: "node1",
      master: true,
      disk: "/dev/nvme0n1",
      espSize: "500M",
      tags: ["master", "storage"],
    },
    node2: { hostname: "node2", disk: workerDisk, tags: ["worker", "storage"] },
    node3: { hostname: "node3", disk: workerDisk, espSize: "1G", tags: ["worker"] },
  },

  domain: "home.example.com",
  acmeEmail: "admin@example.com",
  metallbPool: "192.168.1.192/26",
  piholeIp: "192.168.1.250",
  wireguardIp: "192.168.1.194",
  nginxIp: "192.168.1.193",
  upstreamDns: "192.168.1.1",
  lanCidr: "192.168.1.0/24",

  wireguardUsers: {
    alice: {
      ip: "10.0.100.2",
      group: "admin",
      publicKeySecret: "alice_wg_public_key",
      allowedIPs: "0.0.0.0/0",
      nextcloudUser: "alice",
      description: "Alice's laptop",
      enabled: true,
    },
    bob: {
      ip: "10.0.100.3",
      group: "family",
      publicKeySecret: "bob_wg_public_key",
      allowedIPs: "192.168.1.0/24, 10.0.100.0/24",
      nextcloudUser: "bob",
      description: "Bob's phone",
      enabled: true,
    },
    carol: {
      ip: "10.0.100.4",
      group: "guests",
      publicKeySecret: "carol_wg_public_key",
      allowedIPs: "0.0.0.0/0",
      description: "Guest tablet, no Nextcloud",
      enabled: true,
    },
  },
  // VPN access is enforced by the WireGuard pod's firewall; `check` and `build` verify
  // these against the compiled policy (docs/vpn.md).
  vpnTests: [
    { from: "carol", to: "nextcloud:443", expect: "deny", description: "guests never reach Nextcloud" },
    { from: "family", to: "lan", expect: "allow" },
    { from: "guests", to: "cluster", expect: "deny" },
  ],
});
