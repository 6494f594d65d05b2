/**
 * Writing a build directory all at once. Only a directory nixlab wrote itself (it holds
 * the marker file, and nothing nixlab did not write) is ever replaced; a failed build
 * leaves the previous one intact, and a build killed in the middle of the swap is
 * undone by the next run (see recoverBuildDir).
 */
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import { buildNodeFiles } from "../nodes/index.ts";
import type { DeployPlan } from "../plan/schema.ts";
import { processAlive } from "../process.ts";
import type { CatalogInputs } from "../services/catalog.ts";
import { renderCluster } from "./build.ts";
import type { RenderedFile } from "./plan.ts";

/** The file that marks a directory as nixlab's build output; it lists every file the build wrote. */
export const buildMarker = ".nixlab-build";
const markerFormat = "nixlab-build-directory/1";
/** Files other tools write into a build directory, which a rebuild may discard (Nix writes flake.lock there). */
const derivedFiles: ReadonlySet<string> = new Set(["flake.lock"]);

interface Marker {
  format: string;
  note: string;
  /** "incomplete" while the directory is being written (only ever seen in a staging directory). */
  state?: "incomplete";
  files: string[];
}

/** The steps of the swap, in order; `onStep` is called after each. */
export type SwapStep = "staged" | "old-moved-aside" | "new-moved-in" | "old-removed";

/** Options of writeBuildDir. */
export interface WriteBuildOptions {
  /** Called after each step of the swap; the crash tests kill the process here. */
  onStep?: (step: SwapStep) => void;
}

function markerText(files: string[], incomplete = false): string {
  const marker: Marker = {
    format: markerFormat,
    note: "Written by `nixlab build`, which replaces this directory on every build and refuses to if it holds files not listed here.",
    ...(incomplete ? { state: "incomplete" as const } : {}),
    files,
  };
  return `${JSON.stringify(marker, null, 2)}\n`;
}

/** The marker of `dir`, or null when it has none (missing, not a regular file, or not nixlab's format). */
function readMarker(dir: string): Marker | null {
  const path = join(dir, buildMarker);
  try {
    if (!lstatSync(path).isFile()) return null;
    const marker = JSON.parse(readFileSync(path, "utf8")) as Partial<Marker>;
    if (marker?.format !== markerFormat || !Array.isArray(marker.files)) return null;
    if (!marker.files.every((f) => typeof f === "string")) return null;
    return marker as Marker;
  } catch {
    return null;
  }
}

/** Every file, symlink and directory under `dir` (relative paths, directories with a trailing slash), not following links. */
function listTree(dir: string, prefix = ""): string[] {
  const entries: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = `${prefix}${name}`;
    if (lstatSync(join(dir, name)).isDirectory()) entries.push(`${rel}/`, ...listTree(join(dir, name), `${rel}/`));
    else entries.push(rel);
  }
  return entries;
}

/** What `listTree` of a directory holding exactly `files` (and the marker) returns. */
function expectedTree(files: readonly string[]): Set<string> {
  const expected = new Set<string>([buildMarker, ...derivedFiles]);
  for (const file of files) {
    expected.add(file);
    for (let i = file.indexOf("/"); i !== -1; i = file.indexOf("/", i + 1)) expected.add(file.slice(0, i + 1));
  }
  return expected;
}

const refuse = (message: string, details: string[]) =>
  new UserError(message, { exitCode: ExitCode.invalidInput, details: details.map((d) => `  ${d}`) });

/** Throws UserError unless `out` is absent, an empty directory, or a build directory holding only what nixlab wrote. */
function assertReplaceable(out: string, label: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(out);
  } catch {
    return;
  }
  if (stat.isSymbolicLink())
    throw refuse(`${label} is a symbolic link; nixlab does not replace it`, [
      "pass the directory it points to, or another directory (nixlab creates it), with --out",
    ]);
  if (!stat.isDirectory())
    throw refuse(`${label} is a file, not a directory`, ["pass a directory with --out (nixlab creates it)"]);
  const top = readdirSync(out);
  if (top.length === 0) return;
  const marker = readMarker(out);
  if (!marker) {
    throw refuse(
      `${label} was not written by \`nixlab build\` (it has no ${buildMarker} marker), so it is not replaced`,
      [
        "pass another directory with --out (nixlab creates it), or empty this one yourself",
        ...(top.includes("deploy-plan.json") && top.includes("manifests")
          ? [`if it is the output of an older nixlab, delete it yourself (rm -r ${label}) and build again`]
          : []),
      ],
    );
  }
  const expected = expectedTree(marker.files);
  const foreign = listTree(out).filter((entry) => !expected.has(entry) && !expected.has(`${entry}/`));
  if (foreign.length > 0) {
    throw refuse(`${label} holds ${foreign.length} file(s) nixlab did not write, so it is not replaced`, [
      ...foreign.slice(0, 10).map((f) => `${label}/${f}`),
      ...(foreign.length > 10 ? [`… and ${foreign.length - 10} more`] : []),
      "move them elsewhere (the build directory is replaced on every build), then build again",
    ]);
  }
}

/** The names of the swap's temporary directories: beside `out`, with the owner's pid so a live one is left alone. */
const tempPattern = (base: string) =>
  new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.nixlab-(new|old)-(\\d+)-[0-9a-f]{12}$`);
const tempName = (out: string, kind: "new" | "old") =>
  join(dirname(out), `.${basename(out)}.nixlab-${kind}-${process.pid}-${randomBytes(6).toString("hex")}`);

/**
 * Finishes or undoes a swap a killed `nixlab build` left behind, beside `outDir`: when
 * `outDir` is missing, the previous build moved aside is moved back; leftover staging and
 * moved-aside directories are removed. Only directories with nixlab's name pattern and
 * marker whose owner process is gone are touched. Returns what it did, for the user
 * ([] when there was nothing to do). Throws the fs error if a rename or removal fails.
 */
export function recoverBuildDir(outDir: string): string[] {
  const out = resolve(outDir);
  const parent = dirname(out);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const pattern = tempPattern(basename(out));
  const leftovers = names
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter(({ name, match }) => {
      if (!match || (Number(match[2]) !== process.pid && processAlive(Number(match[2])))) return false;
      const path = join(parent, name);
      return lstatSync(path).isDirectory() && readMarker(path) !== null;
    })
    .map(({ name, match }) => ({ path: join(parent, name), kind: match![1] as "new" | "old" }));
  const notes: string[] = [];
  const olds = leftovers
    .filter((l) => l.kind === "old")
    .sort((a, b) => statSync(b.path).mtimeMs - statSync(a.path).mtimeMs);
  let outExists = true;
  try {
    lstatSync(out);
  } catch {
    outExists = false;
  }
  if (!outExists && olds.length > 0) {
    renameSync(olds.shift()!.path, out);
    notes.push(`restored ${outDir} from the build before an interrupted \`nixlab build\``);
  }
  if (olds.length > 0 || leftovers.some((l) => l.kind === "new")) {
    for (const l of [...olds, ...leftovers.filter((x) => x.kind === "new")]) rmSync(l.path, { recursive: true });
    notes.push(`removed the temporary directories of an interrupted \`nixlab build\` beside ${outDir}`);
  }
  return notes;
}

function writeStaging(staging: string, files: readonly RenderedFile[]): void {
  // The marker goes in first (so a killed build's staging is recognisable as ours) and is finalised last.
  writeFileSync(join(staging, buildMarker), markerText([], true), { mode: 0o644 });
  for (const file of files) {
    const path = join(staging, file.path);
    if (!path.startsWith(`${staging}/`) || file.path === buildMarker)
      throw new Error(`refusing to write outside the build dir: ${file.path}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.path.endsWith(".sh") ? 0o755 : 0o644 });
  }
  writeFileSync(join(staging, buildMarker), markerText(files.map((f) => f.path).sort()), { mode: 0o644 });
}

function fsError(error: unknown, label: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code) return error;
  return new UserError(`cannot write the build directory ${label} (${(error as Error).message})`, {
    details: ["  check the permissions of the directory, or pass another one with --out"],
  });
}

/**
 * Replaces `outDir` with exactly `files` plus the marker. The new tree is written beside
 * it, then swapped in with two renames; a build killed between them is undone by the next
 * run's recoverBuildDir, which this calls first. Returns recoverBuildDir's notes.
 * Throws UserError, writing nothing, when `outDir` is a file or a symlink, or a non-empty
 * directory without nixlab's marker or holding files nixlab did not write; and when the
 * file system refuses (permissions, no space).
 */
export function writeBuildDir(
  outDir: string,
  files: readonly RenderedFile[],
  options: WriteBuildOptions = {},
): string[] {
  const out = resolve(outDir);
  const step = options.onStep ?? (() => {});
  let notes: string[];
  try {
    notes = recoverBuildDir(outDir);
    assertReplaceable(out, outDir);
  } catch (error) {
    throw fsError(error, outDir);
  }
  let staging: string | undefined;
  let old: string | undefined;
  try {
    mkdirSync(dirname(out), { recursive: true });
    staging = tempName(out, "new");
    mkdirSync(staging, { mode: 0o755 });
    writeStaging(staging, files);
    step("staged");
    // rename(2) replaces an empty directory in one step; anything else is moved aside first.
    if (existsSync(out) && readdirSync(out).length > 0) {
      old = tempName(out, "old");
      renameSync(out, old);
      step("old-moved-aside");
    }
    renameSync(staging, out);
    staging = undefined;
    step("new-moved-in");
  } catch (error) {
    if (staging) rmSync(staging, { recursive: true, force: true });
    if (old && !existsSync(out)) renameSync(old, out);
    throw fsError(error, outDir);
  }
  if (old) rmSync(old, { recursive: true, force: true });
  step("old-removed");
  return notes;
}

/** What `nixlab build` wrote. */
export interface BuildResult {
  plan: DeployPlan;
  /** Every file written, sorted by path. */
  files: RenderedFile[];
  /** The NixOS configurations built (absent with nodes: false). */
  nodes?: Array<{ hostname: string; role: string }>;
  /** What the user should know about the NixOS side (it was still written). */
  warnings: string[];
  /** What recovering an interrupted earlier build did (see recoverBuildDir). */
  notes: string[];
}

/**
 * Renders the cluster (the Kubernetes side, and the NixOS side unless `nodes` is false;
 * `inputs`: files only a build makes, see catalogInputs) and replaces `outDir` with the
 * result (writeBuildDir). Throws UserError (exit 2),
 * writing nothing, when a node input is missing or `outDir` may not be replaced.
 */
export async function buildToDir(
  cluster: Cluster,
  outDir: string,
  options: { nodes: boolean; inputs?: CatalogInputs },
): Promise<BuildResult> {
  const { plan, files: k8sFiles } = renderCluster(cluster, options.inputs ?? {});
  const nodes = options.nodes ? await buildNodeFiles(cluster, dirname(cluster.source)) : undefined;
  if (nodes && nodes.problems.length > 0) {
    throw new UserError(`cannot build the NixOS side: ${nodes.problems.length} problem(s); nothing was written`, {
      exitCode: ExitCode.invalidInput,
      details: [...nodes.problems.map((p) => `  ${p}`), "  (--no-nodes renders only the Kubernetes side)"],
    });
  }
  const files = [...k8sFiles, ...(nodes?.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const notes = writeBuildDir(outDir, files);
  return {
    plan,
    files,
    ...(nodes ? { nodes: nodes.specs.map((s) => ({ hostname: s.hostname, role: s.role })) } : {}),
    warnings: nodes?.warnings ?? [],
    notes,
  };
}
