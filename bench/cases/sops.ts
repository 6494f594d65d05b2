// Decrypting a 200-key SOPS file: `nixlab secrets list` (a full decrypt and MAC
// check, process start included) vs `sops decrypt` on the same file in the same
// run, with the peak memory (max RSS) of each from /usr/bin/time -v.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSecrets, parseIdentities } from "../../src/secrets/index.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "bin/nixlab.js");
const RUNS = 7;
const KEYS = 200;

function findSops(): string {
  const built = join(root, ".testbed/bin/sops");
  if (existsSync(built)) return built;
  const r = spawnSync("sh", ["-c", "command -v sops"], { encoding: "utf8" });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error("sops not found: run scripts/setup.sh (it builds .testbed/bin/sops)");
}

/** Wall time (ms) and max RSS (MiB) of one run, measured by GNU time. */
function measure(argv: string[], env: NodeJS.ProcessEnv): { ms: number; mib: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-v", ...argv], { encoding: "utf8", env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv[0]} failed: ${r.stderr.split("\n").find((l) => l.trim()) ?? r.status}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (!rss) throw new Error("/usr/bin/time -v printed no max RSS");
  return { ms, mib: Number(rss[1]) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const sopsCase: BenchCase = async () => {
  const sops = findSops();
  const dir = mkdtempSync(join(tmpdir(), "nixlab-bench-sops-"));
  try {
    const key = join(dir, "key.txt");
    execFileSync("age-keygen", ["-o", key], { stdio: "pipe" });
    const recipient = execFileSync("age-keygen", ["-y", key], { encoding: "utf8" }).trim();
    const lines = Array.from(
      { length: KEYS },
      (_, i) => `secret_${i}: ${i % 10 === 0 ? i : `value-${i}-${"x".repeat(32)}`}`,
    );
    const plain = join(dir, "plain.yaml");
    writeFileSync(plain, `${lines.join("\n")}\n`);
    const file = join(dir, "secrets.yaml");
    const env = { PATH: process.env.PATH ?? "", HOME: dir, SOPS_AGE_KEY_FILE: key, NO_COLOR: "1" };
    writeFileSync(file, execFileSync(sops, ["encrypt", "--age", recipient, plain], { env }));
    const nixlab = [process.execPath, cli, "secrets", "list", "--file", file];
    const sopsArgs = [sops, "decrypt", file];
    // Warm the page cache for both binaries before timing.
    measure(nixlab, env);
    measure(sopsArgs, env);
    const ours: Array<{ ms: number; mib: number }> = [];
    const theirs: Array<{ ms: number; mib: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(measure(nixlab, env));
      theirs.push(measure(sopsArgs, env));
    }
    // The deploy engine decrypts in-process, so the library's own time matters too.
    const identities = await parseIdentities(readFileSync(key, "utf8"), key);
    await openSecrets(file, identities);
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await openSecrets(file, identities);
      inProcess.push(performance.now() - start);
    }
    const rows: BenchRow[] = [
      {
        name: `secrets: decrypt ${KEYS}-key SOPS file, nixlab process (median of ${RUNS})`,
        value: median(ours.map((r) => r.ms)),
        unit: "ms",
        baseline: { name: "sops decrypt", value: median(theirs.map((r) => r.ms)) },
      },
      {
        name: `secrets: decrypt ${KEYS}-key SOPS file in-process (openSecrets, median of ${RUNS})`,
        value: median(inProcess),
        unit: "ms",
      },
      {
        name: "secrets: peak memory (max RSS), nixlab process",
        value: Math.max(...ours.map((r) => r.mib)),
        unit: "MiB",
        baseline: { name: "sops decrypt", value: Math.max(...theirs.map((r) => r.mib)) },
      },
    ];
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default sopsCase;
