/**
 * What a plan was built from, and whether it still matches. `nixlab build` records the
 * digest of the validated cluster configuration; deploy, diff and status load the
 * cluster file again and refuse a plan built from another version of it, so `plan`,
 * `diff` and `deploy` can never show or do different things.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { clusterFileNames, findClusterFile } from "../config/find.ts";
import { ExitCode, UserError } from "../errors.ts";
import { configDigest, type DeployPlan } from "./schema.ts";

/** The outcome of the freshness check: which cluster file was compared, or null when none was found. */
export interface PlanSourceCheck {
  clusterFile: string | null;
}

/**
 * The cluster file to compare a plan with: `config` when given (it must exist), else the
 * cluster file in `cwd`, else the one in the plan directory's parent (where `nixlab
 * build` puts build/ by default); null when there is none (e.g. a plan in the Nix store).
 */
function locateClusterFile(planPath: string, config: string | undefined, cwd = process.cwd()): string | null {
  if (config !== undefined) return findClusterFile({ config, cwd });
  for (const dir of [cwd, dirname(dirname(resolve(cwd, planPath)))]) {
    if (clusterFileNames.some((n) => existsSync(resolve(dir, n)))) return findClusterFile({ cwd: dir });
  }
  return null;
}

/** Remembers the last cluster file content verified against a plan (one key). */
export interface SourceCheckCache {
  read(): string | null;
  write(key: string): void;
}

/** nixlab's version (a newer one may validate the same file differently); null when unknown. */
function nixlabVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return null;
  }
}

/**
 * The key under which a verified YAML or JSON cluster file is remembered: its bytes, the
 * plan's digest and nixlab's version. null for TypeScript and vars.nix files, whose
 * imports can change without the file changing.
 */
function cacheKey(clusterFile: string, plan: DeployPlan): string | null {
  const version = nixlabVersion();
  if (!version || !/\.(ya?ml|json)$/.test(clusterFile)) return null;
  return createHash("sha256")
    .update(`${version}\0${plan.source.configDigest}\0`)
    .update(readFileSync(clusterFile))
    .digest("hex");
}

/**
 * Refuses (UserError, exit 2) a plan whose recorded configuration digest differs from
 * the cluster file's; a cluster file that does not load stops the command with its own
 * error. Returns the file compared (null: none found, nothing checked). With a cache, a
 * YAML or JSON file verified before against this plan is not loaded again.
 */
export async function checkPlanSource(
  plan: DeployPlan,
  planPath: string,
  config: string | undefined,
  options: { cwd?: string; cache?: SourceCheckCache } = {},
): Promise<PlanSourceCheck> {
  const cwd = options.cwd ?? process.cwd();
  const clusterFile = locateClusterFile(planPath, config, cwd);
  if (!clusterFile) return { clusterFile: null };
  const key = options.cache ? cacheKey(clusterFile, plan) : null;
  if (key && options.cache?.read() === key) return { clusterFile };
  const { loadCluster } = await import("../config/load.ts");
  const cluster = await loadCluster({ config: clusterFile, cwd });
  if (configDigest(cluster.config) !== plan.source.configDigest) {
    const shown = relative(cwd, clusterFile) || clusterFile;
    throw new UserError(`${planPath} is stale: ${shown} changed since it was built`, {
      exitCode: ExitCode.invalidInput,
      details: [
        `Run \`nixlab build\` (with --config ${shown} if it is not in the working directory) and try again,`,
        "or pass --config with the cluster file this plan was built from.",
      ],
    });
  }
  if (key) options.cache?.write(key);
  return { clusterFile };
}
