/** Reads build/deploy-plan.json and the manifests it names, checking what the engine relies on. */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { type DeployPlan, type PlanChart, planApiVersion } from "../render/plan-types.ts";
import { type KObject, parseManifest, refKey } from "./objects.ts";
import { topoOrder } from "./scheduler.ts";

export interface LoadedChart {
  chart: PlanChart;
  objects: KObject[];
}

export interface LoadedPlan {
  path: string;
  plan: DeployPlan;
  /** Chart key -> its parsed objects. */
  charts: Map<string, LoadedChart>;
}

function invalid(path: string, message: string, details: string[] = []): UserError {
  return new UserError(`${path}: ${message}`, { exitCode: ExitCode.invalidInput, details });
}

export async function loadPlan(path: string): Promise<LoadedPlan> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UserError(`cannot read the deploy plan ${path} (${(error as NodeJS.ErrnoException).code})`, {
      exitCode: ExitCode.invalidInput,
      details: ["Run `nixlab build` first, or pass --plan PATH."],
    });
  }
  let plan: DeployPlan;
  try {
    plan = JSON.parse(text) as DeployPlan;
  } catch (error) {
    throw invalid(path, `not JSON (${(error as Error).message})`);
  }
  if (plan.apiVersion !== planApiVersion || plan.kind !== "DeployPlan") {
    throw invalid(
      path,
      `not a deploy plan of ${planApiVersion} (apiVersion ${String(plan.apiVersion)}, kind ${String(plan.kind)})`,
      ["Rebuild it with this version of nixlab: `nixlab build`."],
    );
  }
  for (const key of ["groups", "charts", "secrets", "hooks", "namespaces"] as const) {
    if (!Array.isArray(plan[key])) throw invalid(path, `${key} must be a list`);
  }
  topoOrder(plan.groups);
  const groupNames = new Set(plan.groups.map((g) => g.name));
  const chartKeys = new Set(plan.charts.map((c) => c.key));
  for (const g of plan.groups) {
    for (const c of g.charts) if (!chartKeys.has(c)) throw invalid(path, `group ${g.name} names unknown chart ${c}`);
  }
  for (const s of plan.secrets) {
    if (!groupNames.has(s.group))
      throw invalid(path, `secret ${s.namespace}/${s.name} belongs to unknown group ${s.group}`);
  }
  for (const h of plan.hooks) {
    if (!groupNames.has(h.after)) throw invalid(path, `hook ${h.name} runs after unknown group ${h.after}`);
  }

  const base = dirname(resolve(path));
  const charts = new Map<string, LoadedChart>();
  await Promise.all(
    plan.charts.map(async (chart) => {
      if (!groupNames.has(chart.group))
        throw invalid(path, `chart ${chart.key} belongs to unknown group ${chart.group}`);
      const file = resolve(base, chart.manifest);
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw invalid(
          path,
          `manifest ${chart.manifest} of chart ${chart.key} is unreadable (${(error as NodeJS.ErrnoException).code})`,
        );
      }
      const hash = createHash("sha256").update(bytes).digest("hex");
      if (hash !== chart.hash) {
        throw invalid(
          path,
          `manifest ${chart.manifest} does not match the plan (sha256 ${hash.slice(0, 12)}…, plan ${chart.hash.slice(0, 12)}…)`,
          ["The manifests were changed after `nixlab build`; rebuild."],
        );
      }
      let objects: KObject[];
      try {
        objects = parseManifest(bytes.toString("utf8"), chart.manifest);
      } catch (error) {
        throw invalid(path, (error as Error).message);
      }
      const listed = new Set(chart.objects.map(refKey));
      for (const o of objects) {
        const key = refKey({
          kind: o.kind,
          name: o.metadata.name,
          namespace: o.metadata.namespace,
          apiVersion: o.apiVersion,
        });
        if (!listed.has(key))
          throw invalid(path, `manifest ${chart.manifest} holds ${key}, which the plan does not list`);
      }
      charts.set(chart.key, { chart, objects });
    }),
  );
  return { path, plan, charts };
}
