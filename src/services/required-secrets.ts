/**
 * Every SOPS secret a cluster needs, with where its value comes from. `nixlab secrets
 * init` generates or asks for them; `nixlab secrets check` and `nixlab check` report the
 * missing ones; the NixOS layer declares them to sops-nix.
 */
import type { Cluster } from "../cluster/model.ts";
import { devicePrivateKeySecret } from "../dashboard/protocol.ts";
import { dashboardTokenSecret, sharedDevices } from "./dashboard/dashboard.ts";

export type SecretSource =
  /** Random bytes, written in the given encoding. */
  | { kind: "random"; bytes: number; encoding: "hex" | "base64url" }
  /** A fresh WireGuard (x25519) private key. */
  | { kind: "wireguard-private-key" }
  /** The WireGuard public key of the private key stored in secret `of`. */
  | { kind: "wireguard-public-key"; of: string }
  /** A fixed default the user may change. */
  | { kind: "default"; value: string }
  /** Only the user knows it: a placeholder until they fill it in. */
  | { kind: "user"; hint: string };

/**
 * What a value must look like (`nixlab secrets check` checks it): a WireGuard key (32 bytes,
 * base64), a crypt(3) password hash, a token (one word: no whitespace or control
 * characters), a host name or IP address with an optional port, or any text that is not blank.
 */
export type SecretFormat = "wireguard-key" | "crypt-hash" | "token" | "endpoint" | "text";

export interface SecretRequirement {
  /** The SOPS key (also the sops-nix secret name). */
  name: string;
  /** What reads it, for people. */
  usedBy: string;
  source: SecretSource;
  format: SecretFormat;
  /** Who may read the decrypted file on a node (sops-nix owner); mode is always 0400. */
  owner: "root" | "user";
}

/** The placeholder written for user-provided secrets; `check` reports any left. */
export const secretPlaceholder = "REPLACE_ME";

const password = { source: { kind: "random", bytes: 24, encoding: "base64url" }, format: "text" } as const;

/** The secrets `cluster` needs, in a stable order. Pure. */
export function requiredSecrets(cluster: Cluster): SecretRequirement[] {
  const fixed: SecretRequirement[] = [
    {
      name: "user_password",
      format: "crypt-hash",
      usedBy: "login password of the cluster user and root on every node (sha-512 crypt hash)",
      source: { kind: "user", hint: "a password hash: `mkpasswd -m sha-512 | nixlab secrets set user_password`" },
      owner: "root",
    },
    {
      name: "k3s_token",
      format: "token",
      usedBy: "k3s server and agents (join token)",
      source: { kind: "random", bytes: 32, encoding: "hex" },
      owner: "root",
    },
    {
      name: "cloudflare_token",
      format: "token",
      usedBy: "cert-manager DNS-01, ExternalDNS (Cloudflare), DDNS",
      source: { kind: "user", hint: "a Cloudflare API token with Zone:DNS:Edit on your zone" },
      owner: "root",
    },
    { name: "pihole_password", usedBy: "Pi-hole web UI and API", ...password, owner: "root" },
    {
      name: "wireguard_server_private_key",
      format: "wireguard-key",
      usedBy: "WireGuard server",
      source: { kind: "wireguard-private-key" },
      owner: "root",
    },
    {
      name: "wireguard_server_public_key",
      format: "wireguard-key",
      usedBy: "WireGuard client configs",
      source: { kind: "wireguard-public-key", of: "wireguard_server_private_key" },
      owner: "root",
    },
    {
      name: "wireguard_server_endpoint",
      format: "endpoint",
      usedBy: "WireGuard client configs (Endpoint host; DDNS keeps vpn.<domain> current)",
      source: { kind: "default", value: `vpn.${cluster.config.domain}` },
      owner: "root",
    },
    {
      name: "nextcloud_admin_username",
      format: "token",
      usedBy: "Nextcloud admin account",
      source: { kind: "default", value: "admin" },
      owner: "root",
    },
    { name: "nextcloud_admin_password", usedBy: "Nextcloud admin account", ...password, owner: "root" },
    {
      name: "nextcloud_db_username",
      format: "token",
      usedBy: "Nextcloud database user",
      source: { kind: "default", value: "nextcloud" },
      owner: "root",
    },
    { name: "nextcloud_db_password", usedBy: "Nextcloud database user", ...password, owner: "root" },
    {
      name: "nextcloud_db_postgres_password",
      usedBy: "PostgreSQL superuser",
      ...password,
      owner: "root",
    },
    { name: "nextcloud_redis_password", usedBy: "Nextcloud Redis", ...password, owner: "root" },
    {
      name: "nextcloud_sso_token",
      usedBy: "the VPN's Nextcloud sign-in proxy and the gate in front of Nextcloud",
      source: { kind: "random", bytes: 32, encoding: "hex" },
      format: "token",
      owner: "root",
    },
  ];
  const users: SecretRequirement[] = cluster.vpn.enabledUsers.map((u) => ({
    name: u.publicKeySecret,
    usedBy: `WireGuard peer ${u.name}`,
    source: {
      kind: "user",
      hint: `the public key of ${u.name}'s WireGuard client (\`nixlab vpn rotate ${u.name}\` makes a key pair and prints the config)`,
    },
    format: "wireguard-key",
    owner: "root",
  }));
  const dashboard: SecretRequirement[] = cluster.config.dashboard.enabled
    ? [
        {
          name: dashboardTokenSecret,
          usedBy: "the VPN's sign-in proxy and the in-cluster dashboard",
          source: { kind: "random", bytes: 32, encoding: "hex" },
          format: "token",
          owner: "root",
        },
        ...sharedDevices(cluster).map(
          (u): SecretRequirement => ({
            name: devicePrivateKeySecret(u),
            usedBy: `the in-cluster dashboard: ${u.name}'s own client config`,
            source: {
              kind: "user",
              hint: `${u.name}'s private key, from \`nixlab vpn show ${u.name}\` (its PrivateKey line)`,
            },
            format: "wireguard-key",
            owner: "root",
          }),
        ),
      ]
    : [];
  return [...fixed, ...users, ...dashboard];
}

/** Names no VPN user's publicKeySecret may take. */
export const reservedSecretNames: readonly string[] = [
  "k3s_token",
  "cloudflare_token",
  "cloudflare_email",
  "pihole_password",
  "wireguard_server_private_key",
  "wireguard_server_public_key",
  "wireguard_server_endpoint",
  "nextcloud_admin_username",
  "nextcloud_admin_password",
  "nextcloud_db_username",
  "nextcloud_db_password",
  "nextcloud_db_postgres_password",
  "nextcloud_redis_password",
  "nextcloud_sso_token",
  "dashboard_sso_token",
  "user_password",
  "private_ssh_key",
];
