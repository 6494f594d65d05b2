/**
 * What a plan was built from, and whether it still matches. `nixlab build` records the
 * digest of the validated cluster configuration; deploy, diff and status load the
 * cluster file again and refuse a plan built from another version of it, so `plan`,
 * `diff` and `deploy` can never show or do different things.
 */
import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { clusterFileNames, findClusterFile, loadCluster } from "../config/load.ts";
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
export function locateClusterFile(planPath: string, config: string | undefined, cwd = process.cwd()): string | null {
  if (config !== undefined) return findClusterFile({ config, cwd });
  for (const dir of [cwd, dirname(dirname(resolve(cwd, planPath)))]) {
    if (clusterFileNames.some((n) => existsSync(resolve(dir, n)))) return findClusterFile({ cwd: dir });
  }
  return null;
}

/**
 * Refuses (UserError, exit 2) a plan whose recorded configuration digest differs from
 * the cluster file's; a cluster file that does not load stops the command with its own
 * error. Returns the file compared (null: none found, nothing checked).
 */
export async function checkPlanSource(
  plan: DeployPlan,
  planPath: string,
  config: string | undefined,
  cwd = process.cwd(),
): Promise<PlanSourceCheck> {
  const clusterFile = locateClusterFile(planPath, config, cwd);
  if (!clusterFile) return { clusterFile: null };
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
  return { clusterFile };
}
