/**
 * Process start: `nixlab --version` and `nixlab check` of the example beside bare Node
 * (`node -e 0`), with peak memory. Where a goal is missed the time is split into the
 * steps of a start, each measured as a process of its own: the launcher's freshness
 * check of the bundle, the main chunk (the command list), the command's modules, its work.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { atMost, compare, fmt, freshCli, node, nixlab, root } from "../measure.ts";
import type { BenchCase, BenchRow } from "../types.ts";

const RUNS = 15;
const example = join(root, "examples/homelab");
const bundler = pathToFileURL(join(root, "scripts/bundle-cli.js")).href;
/** A module run by `node -e` with the launcher's compile cache, as bin/nixlab.js has it. */
const moduleEval = (code: string) => [
  node,
  "--input-type=module",
  "-e",
  `(await import("node:module")).enableCompileCache(${JSON.stringify(join(root, "dist/.compile-cache"))}); ${code}`,
];

const startCase: BenchCase = async () => {
  await freshCli();
  const [bare, launcher, mainChunk, version, checkModules, check, checkYaml] = await compare(
    [
      { argv: [node, "-e", "0"] },
      { argv: moduleEval(`await (await import(${JSON.stringify(bundler)})).freshBundle()`) },
      {
        argv: moduleEval(`const b = await import(${JSON.stringify(bundler)}); await import(await b.freshBundle())`),
      },
      { argv: [node, nixlab, "--version"] },
      { argv: [node, nixlab, "check", "--help"], cwd: example },
      { argv: [node, nixlab, "check"], cwd: example },
      { argv: [node, nixlab, "check", "-c", "nixlab.yaml"], cwd: example },
    ],
    RUNS,
  );
  const step = (from: number, to: number) => fmt(Math.max(0, to - from));
  const startSteps =
    `bare Node ${fmt(bare!.ms)} ms; launcher and bundle freshness check +${step(bare!.ms, launcher!.ms)} ms; ` +
    `main chunk +${step(launcher!.ms, mainChunk!.ms)} ms`;
  const versionRatio = version!.ms / bare!.ms;
  const checkRatio = check!.ms / bare!.ms;
  const rows: BenchRow[] = [
    {
      name: `start: nixlab --version (median of ${RUNS})`,
      value: version!.ms,
      unit: "ms",
      baseline: { name: "node -e 0", value: bare!.ms },
      ...atMost(
        versionRatio,
        1.5,
        "≤ 1.5× node -e 0",
        `${startSteps}; parsing and printing +${step(mainChunk!.ms, version!.ms)} ms`,
      ),
    },
    {
      name: `start: nixlab check of examples/homelab (nixlab.config.ts, median of ${RUNS})`,
      value: check!.ms,
      unit: "ms",
      baseline: { name: "node -e 0", value: bare!.ms },
      ...atMost(
        checkRatio,
        3,
        "≤ 3× node -e 0",
        `${startSteps}; commander and check's modules (zod, yaml, the catalog) +${step(mainChunk!.ms, checkModules!.ms)} ms; ` +
          `loading, validating and rendering the cluster +${step(checkModules!.ms, check!.ms)} ms`,
      ),
    },
    {
      name: `start: nixlab check -c nixlab.yaml of examples/homelab (median of ${RUNS})`,
      value: checkYaml!.ms,
      unit: "ms",
      baseline: { name: "node -e 0", value: bare!.ms },
    },
    {
      name: "start: peak memory (max RSS), nixlab --version",
      value: version!.maxRssMiB,
      unit: "MiB",
      baseline: { name: "node -e 0", value: bare!.maxRssMiB },
    },
    {
      name: "start: peak memory (max RSS), nixlab check of the example",
      value: check!.maxRssMiB,
      unit: "MiB",
      baseline: { name: "node -e 0", value: bare!.maxRssMiB },
    },
  ];
  return rows;
};

export default startCase;
