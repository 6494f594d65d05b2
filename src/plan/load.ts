/**
 * Reading a build: deploy-plan.json validated with the plan schema, and the manifests
 * it names, each checked against its recorded sha256 and object list.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseManifest, refKey } from "../deploy/objects.ts";
import type { KObject } from "../deploy/objects.ts";
import { ExitCode, UserError } from "../errors.ts";
import { checkPlan, type DeployPlan, type PlanChart } from "./schema.ts";

/** A chart of the plan and its manifest. */
export interface LoadedChart {
  chart: PlanChart;
  /** The manifest's objects, parsed on first use (a no-op deploy parses none). Throws UserError like loadPlan. */
  objects(): KObject[];
}

/** A validated plan with its manifests parsed: what deploy, diff and status work on. */
export interface LoadedPlan {
  path: string;
  plan: DeployPlan;
  /** Chart key -> its parsed objects. */
  charts: Map<string, LoadedChart>;
}

function invalid(path: string, message: string, details: string[] = []): UserError {
  return new UserError(`${path}: ${message}`, { exitCode: ExitCode.invalidInput, details });
}

/**
 * Reads and validates the plan at `path` and every manifest it names. Throws UserError
 * (exit 2) naming the file and the field for anything unreadable or inconsistent.
 */
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not JSON (${(error as Error).message})`);
  }
  const checked = checkPlan(value);
  if ("problems" in checked) {
    throw invalid(path, "not a deploy plan this nixlab can use", [
      ...checked.problems.slice(0, 10).map((p) => `  ${p}`),
      "Rebuild it with this version of nixlab: `nixlab build`.",
    ]);
  }
  const plan = checked.plan;
  const base = dirname(resolve(path));
  const charts = new Map<string, LoadedChart>();
  await Promise.all(
    plan.charts.map(async (chart) => {
      const text = await readManifest(path, base, chart);
      let parsed: KObject[] | undefined;
      charts.set(chart.key, { chart, objects: () => (parsed ??= parseObjects(path, chart, text)) });
    }),
  );
  return { path, plan, charts };
}

/** The manifest's text, checked against the plan's sha256. */
async function readManifest(planPath: string, base: string, chart: PlanChart): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(base, chart.manifest));
  } catch (error) {
    throw invalid(
      planPath,
      `manifest ${chart.manifest} of chart ${chart.key} is unreadable (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (hash !== chart.hash) {
    throw invalid(
      planPath,
      `manifest ${chart.manifest} does not match the plan (sha256 ${hash.slice(0, 12)}…, plan ${chart.hash.slice(0, 12)}…)`,
      ["The manifests were changed after `nixlab build`; rebuild."],
    );
  }
  return bytes.toString("utf8");
}

/** Parses a manifest and checks it holds exactly the objects the plan lists. */
function parseObjects(planPath: string, chart: PlanChart, text: string): KObject[] {
  let objects: KObject[];
  try {
    objects = parseManifest(text, chart.manifest);
  } catch (error) {
    throw invalid(planPath, (error as Error).message);
  }
  const listed = new Set(chart.objects.map(refKey));
  if (objects.length !== listed.size) {
    throw invalid(
      planPath,
      `manifest ${chart.manifest} holds ${objects.length} objects, the plan lists ${listed.size}`,
    );
  }
  for (const o of objects) {
    const key = refKey({ kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });
    if (!listed.has(key))
      throw invalid(planPath, `manifest ${chart.manifest} holds ${key}, which the plan does not list`);
  }
  return objects;
}
