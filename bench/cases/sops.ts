/**
 * `nixlab secrets get` beside the real `sops decrypt --extract` (.testbed/bin/sops) on the
 * same file, whole processes: the example's secrets.yaml and a generated 200-key file.
 * Also a full decrypt (`secrets list` vs `sops decrypt`), the in-process decrypt the
 * deploy engine uses, and the peak memory of each.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSecrets, parseIdentities } from "../../src/secrets/index.ts";
import { atMost, compare, fmt, freshCli, median, nixlab, node, root } from "../measure.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const RUNS = 11;
const KEYS = 200;

function findSops(): string {
  const built = join(root, ".testbed/bin/sops");
  if (existsSync(built)) return built;
  const r = spawnSync("sh", ["-c", "command -v sops"], { encoding: "utf8" });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error("sops not found: run scripts/setup.d/30-sops.sh (it builds .testbed/bin/sops)");
}

/** A SOPS file of KEYS values encrypted for a new age key, made by sops itself. */
function generatedFile(sops: string, dir: string): { file: string; key: string } {
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
  const env = { PATH: process.env.PATH ?? "", HOME: dir, SOPS_AGE_KEY_FILE: key };
  writeFileSync(file, execFileSync(sops, ["encrypt", "--age", recipient, plain], { env }));
  return { file, key };
}

const sopsCase: BenchCase = async () => {
  await freshCli();
  const sops = findSops();
  const dir = mkdtempSync(join(tmpdir(), "nixlab-bench-sops-"));
  try {
    const big = generatedFile(sops, dir);
    const example = {
      file: join(root, "examples/homelab/secrets.yaml"),
      key: join(root, "examples/homelab/age-key.txt"),
    };
    const envFor = (key: string) => ({
      PATH: process.env.PATH ?? "",
      HOME: dir,
      SOPS_AGE_KEY_FILE: key,
      NO_COLOR: "1",
    });
    const get = (f: typeof example, name: string) => [
      { argv: [node, nixlab, "secrets", "get", name, "--file", f.file], env: envFor(f.key) },
      { argv: [sops, "decrypt", "--extract", `["${name}"]`, f.file], env: envFor(f.key) },
    ];
    const [exOurs, exSops, bigOurs, bigSops, listOurs, listSops, bare, getHelp] = await compare(
      [
        ...get(example, "k3s_token"),
        ...get(big, "secret_100"),
        { argv: [node, nixlab, "secrets", "list", "--file", big.file], env: envFor(big.key) },
        { argv: [sops, "decrypt", big.file], env: envFor(big.key) },
        { argv: [node, "-e", "0"] },
        { argv: [node, nixlab, "secrets", "get", "--help"], env: envFor(big.key) },
      ],
      RUNS,
    );
    const why = (ours: number, theirs: number) =>
      `bare Node alone takes ${fmt(bare!.ms)} ms (${(bare!.ms / theirs).toFixed(2)}× sops); nixlab's start up to ` +
      `its secrets module +${fmt(Math.max(0, getHelp!.ms - bare!.ms))} ms; reading, decrypting and checking the ` +
      `file +${fmt(Math.max(0, ours - getHelp!.ms))} ms`;
    const getRow = (label: string, ours: number, theirs: number): BenchRow => ({
      name: `secrets: get one value, ${label} (median of ${RUNS})`,
      value: ours,
      unit: "ms",
      baseline: { name: "sops decrypt --extract", value: theirs },
      ...atMost(ours / theirs, 2.5, "≤ 2.5× sops", why(ours, theirs)),
    });
    // The deploy engine decrypts in-process: the library's own time.
    const identities = await parseIdentities(readFileSync(big.key, "utf8"), big.key);
    await openSecrets(big.file, identities);
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await openSecrets(big.file, identities);
      inProcess.push(performance.now() - start);
    }
    return [
      getRow("examples/homelab/secrets.yaml", exOurs!.ms, exSops!.ms),
      getRow(`${KEYS}-key file`, bigOurs!.ms, bigSops!.ms),
      {
        name: `secrets: decrypt the whole ${KEYS}-key file (secrets list, median of ${RUNS})`,
        value: listOurs!.ms,
        unit: "ms",
        baseline: { name: "sops decrypt", value: listSops!.ms },
      },
      { name: `secrets: decrypt the ${KEYS}-key file in-process (openSecrets)`, value: median(inProcess), unit: "ms" },
      {
        name: "secrets: peak memory (max RSS), secrets get of the example",
        value: exOurs!.maxRssMiB,
        unit: "MiB",
        baseline: { name: "sops decrypt --extract", value: exSops!.maxRssMiB },
      },
      {
        name: `secrets: peak memory (max RSS), secrets list of the ${KEYS}-key file`,
        value: listOurs!.maxRssMiB,
        unit: "MiB",
        baseline: { name: "sops decrypt", value: listSops!.maxRssMiB },
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default sopsCase;
