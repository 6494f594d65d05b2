// `nixlab vpn add` (a new user on a copy of the example: validation, key pair, two SOPS
// files, the YAML edit, config; process start included) and `vpn show`, beside `node -e 0`
// measured in the same run.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, BenchRow } from "../types.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "bin/nixlab.js");
const RUNS = 7;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(argv: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.slice(2).join(" ")} failed: ${r.stderr.trim().split("\n")[0]}`);
  return ms;
}

const vpnCase: BenchCase = async () => {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-bench-vpn-"));
  try {
    cpSync(join(root, "examples/homelab"), dir, { recursive: true });
    for (const f of ["nixlab.config.ts", "vars.nix"]) rmSync(join(dir, f));
    const env = { PATH: process.env.PATH ?? "", HOME: dir, SOPS_AGE_KEY_FILE: join(dir, "age-key.txt"), NO_COLOR: "1" };
    const node = [process.execPath, "-e", "0"];
    const add = (name: string) => [process.execPath, cli, "vpn", "add", name, "--group", "family"];
    timed(add("warm"), dir, env);
    const adds: number[] = [];
    const shows: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      adds.push(timed(add(`user${i}`), dir, env));
      shows.push(timed([process.execPath, cli, "vpn", "show", `user${i}`], dir, env));
      bare.push(timed(node, dir, env));
    }
    const baseline = { name: "node -e 0", value: median(bare) };
    const rows: BenchRow[] = [
      {
        name: `vpn: add a user, process start included (median of ${RUNS})`,
        value: median(adds),
        unit: "ms",
        baseline,
      },
      { name: `vpn: show a user's config again (median of ${RUNS})`, value: median(shows), unit: "ms", baseline },
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default vpnCase;
