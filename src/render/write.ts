/** `nixlab build`: rendering everything and writing the build directory all at once (a failed build leaves the previous one intact). */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import { buildNodeFiles } from "../nodes/index.ts";
import type { DeployPlan } from "../plan/schema.ts";
import { renderCluster } from "./build.ts";
import type { RenderedFile } from "./plan.ts";

/** The file that marks a directory as nixlab's build output (safe to replace). */
const buildMarker = "deploy-plan.json";

/**
 * Replaces `outDir` with exactly `files`. The new tree is written beside it and swapped
 * in with renames. Refuses (UserError) to replace a non-empty directory that is not a
 * nixlab build, so no user file is ever deleted.
 */
function writeBuildDir(outDir: string, files: readonly RenderedFile[]): void {
  const out = resolve(outDir);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, buildMarker))) {
    throw new UserError(`${outDir} exists and is not a nixlab build directory`, {
      exitCode: ExitCode.invalidInput,
      details: ["  pass another --out, or empty that directory first"],
    });
  }
  mkdirSync(dirname(out), { recursive: true });
  const staging = mkdtempSync(join(dirname(out), `.${basename(out)}.new-`));
  try {
    for (const file of files) {
      const path = join(staging, file.path);
      if (!path.startsWith(`${staging}/`)) throw new Error(`refusing to write outside the build dir: ${file.path}`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content, { mode: file.path.endsWith(".sh") ? 0o755 : 0o644 });
    }
    if (existsSync(out)) {
      const old = mkdtempSync(join(dirname(out), `.${basename(out)}.old-`));
      renameSync(out, join(old, "build"));
      renameSync(staging, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(staging, out);
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
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
}

/**
 * Renders the cluster (the Kubernetes side, and the NixOS side unless `nodes` is false)
 * and replaces `outDir` with the result. Throws UserError (exit 2), writing nothing, when
 * a node input is missing or `outDir` is not a nixlab build directory.
 */
export async function buildToDir(cluster: Cluster, outDir: string, options: { nodes: boolean }): Promise<BuildResult> {
  const { plan, files: k8sFiles } = renderCluster(cluster);
  const nodes = options.nodes ? await buildNodeFiles(cluster, dirname(cluster.source)) : undefined;
  if (nodes && nodes.problems.length > 0) {
    throw new UserError(`cannot build the NixOS side: ${nodes.problems.length} problem(s); nothing was written`, {
      exitCode: ExitCode.invalidInput,
      details: [...nodes.problems.map((p) => `  ${p}`), "  (--no-nodes renders only the Kubernetes side)"],
    });
  }
  const files = [...k8sFiles, ...(nodes?.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  writeBuildDir(outDir, files);
  return {
    plan,
    files,
    ...(nodes ? { nodes: nodes.specs.map((s) => ({ hostname: s.hostname, role: s.role })) } : {}),
    warnings: nodes?.warnings ?? [],
  };
}
