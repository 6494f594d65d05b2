/**
 * `nixlab build` wall time, process start included (Kubernetes and NixOS side, engine
 * bundle included): the example, 50 nodes + 1000 VPN users (goal ≤ 0.5 s), and how the
 * time grows from there to 200,000 users. The /24 VPN subnet holds 253 peers, so the rest
 * are disabled entries, which are still validated (every field, duplicate names and
 * keys) and rendered into nothing.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { openSecrets, parseIdentities, wireguardPrivateKey, wireguardPublicKey } from "../../src/secrets/index.ts";
import { atMost, compare, fmt, freshCli, nixlab, node, root } from "../measure.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const NODES = 50;
/** The /24 VPN subnet's peers; the other users are disabled. */
const ENABLED = 253;
/** The goal's size first; the growth is measured up to the last. */
const USERS = [1000, 10_000, 50_000, 200_000];

function generated(nodes: number, users: number): Record<string, unknown> {
  const nodeEntries = Object.fromEntries(
    Array.from({ length: nodes }, (_, i) => [
      `node${i + 1}`,
      {
        hostname: `node${i + 1}`,
        master: i === 0,
        disk: `/dev/disk/by-id/ata-BENCH_DISK_${i + 1}`,
        tags: [i === 0 ? "master" : "worker", `rack${i % 4}`],
      },
    ]),
  );
  const userEntries = Object.fromEntries(
    Array.from({ length: users }, (_, i) => [
      `user${i + 1}`,
      {
        ip: `10.0.100.${(i % 253) + 2}`,
        group: (["admin", "family", "friends", "guests"] as const)[i % 4],
        publicKeySecret: `user${i + 1}_wg_public_key`,
        allowedIPs: i % 2 ? "0.0.0.0/0" : "192.168.1.0/24, 10.0.100.0/24",
        ...(i % 3 === 0 ? { nextcloudUser: `user${i + 1}` } : {}),
        description: `generated user ${i + 1}`,
        enabled: i < ENABLED,
      },
    ]),
  );
  return {
    username: "admin",
    timezone: "UTC",
    clusterSshKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnqA1UJ/+gtV/whQPBKLx7UOetuuL15PCav7TMKVT4n admin@homelab",
    nodes: nodeEntries,
    domain: "home.example.com",
    metallbPool: "192.168.1.192/26",
    piholeIp: "192.168.1.250",
    wireguardIp: "192.168.1.194",
    nginxIp: "192.168.1.193",
    upstreamDns: "192.168.1.1",
    wireguardUsers: userEntries,
  };
}

/** The example's age key: it opens the example's secrets.yaml, copied beside each generated cluster. */
const exampleKey = join(root, "examples/homelab/age-key.txt");

/**
 * A cluster directory with what the NixOS side reads next to the cluster file, the
 * example's secrets plus a WireGuard public key for every enabled user; returns the file.
 */
export async function clusterDir(dir: string, users: number): Promise<string> {
  for (let i = 1; i <= NODES; i++) {
    mkdirSync(join(dir, "hosts", `node${i}`), { recursive: true });
    copyFileSync(
      join(root, "examples/homelab/hosts/node2/hardware-configuration.nix"),
      join(dir, "hosts", `node${i}`, "hardware-configuration.nix"),
    );
  }
  for (const file of ["secrets.yaml", "secrets.agents.yaml", ".sops.yaml"]) {
    copyFileSync(join(root, "examples/homelab", file), join(dir, file));
  }
  const secrets = await openSecrets(
    join(dir, "secrets.yaml"),
    await parseIdentities(readFileSync(exampleKey, "utf8"), exampleKey),
  );
  const publicKey = wireguardPublicKey(wireguardPrivateKey());
  for (let i = 0; i < Math.min(users, ENABLED); i++) secrets.set(`user${i + 1}_wg_public_key`, publicKey);
  await secrets.save();
  const file = join(dir, "nixlab.yaml");
  writeFileSync(file, stringify(generated(NODES, users)));
  return file;
}

const buildCase: BenchCase = async () => {
  await freshCli();
  const dir = mkdtempSync(join(tmpdir(), "nixlab-bench-build-"));
  try {
    // The admin's age key, as on a workstation: build checks the agents' secrets file against secrets.yaml.
    const env = { ...process.env, SOPS_AGE_KEY_FILE: exampleKey };
    const build = (config: string, out: string) => ({
      argv: [node, nixlab, "build", "--config", config, "--out", out],
      env,
    });
    const exampleConfig = join(root, "examples/homelab/nixlab.yaml");
    const goalConfig = await clusterDir(join(dir, `u${USERS[0]}`), USERS[0]!);
    // The goal's build, and the steps it is made of, each a process of its own.
    // The cluster file's parse as nixlab does it (src/config/load.ts: the yaml library's document with positions).
    const yamlOnly = `import { readFileSync } from "node:fs"; import { LineCounter, parseDocument } from "yaml"; parseDocument(readFileSync(${JSON.stringify(goalConfig)}, "utf8"), { lineCounter: new LineCounter(), uniqueKeys: false }).toJS()`;
    const [bare, example, goalSize, modules, yamlParse, check] = await compare(
      [
        { argv: [node, "-e", "0"] },
        build(exampleConfig, join(dir, "out-example")),
        build(goalConfig, join(dir, "out-goal")),
        { argv: [node, nixlab, "build", "--help"], env },
        { argv: [node, "--input-type=module", "-e", yamlOnly], cwd: root },
        { argv: [node, nixlab, "check", "--config", goalConfig], env },
      ],
      5,
    );
    const step = (from: number, to: number) => fmt(Math.max(0, to - from));
    const goalWhy =
      `bare Node ${fmt(bare!.ms)} ms; nixlab's start with build's modules +${step(bare!.ms, modules!.ms)} ms; ` +
      `reading, validating and rendering the cluster (check) +${step(modules!.ms, check!.ms)} ms, of which parsing ` +
      `the ${fmt(USERS[0]! / 1000)}k-user YAML alone takes ${step(bare!.ms, yamlParse!.ms)} ms; ` +
      `node files, engine bundle and writing +${step(check!.ms, goalSize!.ms)} ms`;
    const rows: BenchRow[] = [
      {
        name: "build: example cluster (3 nodes, 3 users), process start included (median of 5)",
        value: example!.ms,
        unit: "ms",
        baseline: { name: "node -e 0", value: bare!.ms },
      },
      {
        name: `build: ${NODES} nodes + ${USERS[0]} users, process start included (median of 5)`,
        value: goalSize!.ms,
        unit: "ms",
        baseline: { name: "node -e 0", value: bare!.ms },
        ...atMost(goalSize!.ms, 500, "≤ 500 ms", goalWhy),
      },
      {
        name: `build: ${NODES} nodes + ${USERS[0]} users, peak memory (max RSS)`,
        value: goalSize!.maxRssMiB,
        unit: "MiB",
      },
    ];
    let previous = { users: USERS[0]!, ms: goalSize!.ms };
    for (const users of USERS.slice(1)) {
      const [t] = await compare([build(await clusterDir(join(dir, `u${users}`), users), join(dir, `out${users}`))], 1);
      rows.push({
        name: `build: ${NODES} nodes + ${users} users (${fmt(t!.ms / users)} ms per user; ×${(t!.ms / previous.ms).toFixed(2)} time for ×${users / previous.users} users)`,
        value: t!.ms,
        unit: "ms",
        baseline: { name: `${previous.users} users`, value: previous.ms },
      });
      rows.push({
        name: `build: ${NODES} nodes + ${users} users, peak memory (max RSS)`,
        value: t!.maxRssMiB,
        unit: "MiB",
      });
      previous = { users, ms: t!.ms };
      rmSync(join(dir, `u${users}`), { recursive: true, force: true });
      rmSync(join(dir, `out${users}`), { recursive: true, force: true });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default buildCase;
