// `nixlab build` wall time (Kubernetes and NixOS side, engine bundle included), process start included: the example, and generated clusters
// up to 50 nodes + 1000 VPN users (the /24 VPN subnet holds 253 peers, so the rest are
// disabled entries, which are still validated and rendered into nothing).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { BenchCase, BenchRow } from "../types.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "bin/nixlab.js");

function generated(nodes: number, users: number): Record<string, unknown> {
  const nodeEntries = Object.fromEntries(
    Array.from({ length: nodes }, (_, i) => [
      `node${i + 1}`,
      {
        hostname: `node${i + 1}`,
        master: i === 0,
        disk: "/dev/sda",
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
        enabled: i < 253,
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

function timeMs(args: string[], runs = 5): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, [cli, ...args], { stdio: "ignore" });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const run: BenchCase = async () => {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-bench-"));
  try {
    const rows: BenchRow[] = [];
    const start = timeMs(["--version"]);
    rows.push({ name: "process start (nixlab --version), median of 5", value: start, unit: "ms" });
    // First build after a change to nixlab itself: the engine bundle is made afresh.
    rmSync(join(root, "node_modules/.cache/nixlab"), { recursive: true, force: true });
    const cold = timeMs(
      ["build", "--config", join(root, "examples/homelab/nixlab.yaml"), "--out", join(dir, "cold")],
      1,
    );
    rows.push({
      name: "build: example cluster, first build after a nixlab change (engine bundled afresh)",
      value: cold,
      unit: "ms",
      baseline: { name: "process start", value: start },
    });
    const example = timeMs(["build", "--config", join(root, "examples/homelab/nixlab.yaml"), "--out", join(dir, "ex")]);
    rows.push({
      name: "build: example cluster (3 nodes, 3 users), process start included",
      value: example,
      unit: "ms",
      baseline: { name: "process start", value: start },
      goal: "< 2000 ms",
      met: example < 2000,
    });
    let previous: { size: string; ms: number; users: number } | undefined;
    for (const [nodes, users] of [
      [10, 100],
      [25, 500],
      [50, 1000],
    ] as const) {
      // Each cluster in its own directory with what the NixOS side reads next to it.
      const clusterDir = join(dir, `c${nodes}`);
      const file = join(clusterDir, "nixlab.yaml");
      for (let i = 1; i <= nodes; i++) {
        mkdirSync(join(clusterDir, "hosts", `node${i}`), { recursive: true });
        copyFileSync(
          join(root, "examples/homelab/hosts/node2/hardware-configuration.nix"),
          join(clusterDir, "hosts", `node${i}`, "hardware-configuration.nix"),
        );
      }
      copyFileSync(join(root, "examples/homelab/secrets.yaml"), join(clusterDir, "secrets.yaml"));
      writeFileSync(file, stringify(generated(nodes, users)));
      const ms = timeMs(["build", "--config", file, "--out", join(dir, `out${nodes}`)]);
      const size = `${nodes} nodes + ${users} users`;
      rows.push({
        name: `build: ${size}, process start included`,
        value: ms,
        unit: "ms",
        baseline: previous
          ? {
              name: `${previous.size} (time ×${(ms / previous.ms).toFixed(2)} for users ×${users / previous.users})`,
              value: previous.ms,
            }
          : { name: "process start", value: start },
        ...(nodes === 50 ? { goal: "< 2000 ms", met: ms < 2000 } : {}),
      });
      previous = { size, ms, users };
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default run;
