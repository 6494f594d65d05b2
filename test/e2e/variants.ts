/**
 * Variants of a build for tests and benchmarks: the same plan with some manifests
 * edited and groups added, hashes recomputed as `nixlab build` computes them (a chart's
 * hash is its manifest's sha256; a group's hash covers its charts), so the engine sees
 * exactly the groups that changed as changed.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { KObject } from "../../src/deploy/objects.ts";
import type { DeployPlan, PlanGroup } from "../../src/plan/schema.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export interface ExtraGroup {
  name: string;
  dependsOn?: string[];
  /** Chart key -> objects. */
  charts: Record<string, KObject[]>;
  timeoutSeconds?: number;
}

/**
 * Writes a copy of the build in `src` to `dst`: each manifest through `edit` (return the
 * objects unchanged to keep it), plus `extra` groups. Returns the new plan.
 */
export function rewriteBuild(
  src: string,
  dst: string,
  edit: (chart: string, objects: KObject[]) => KObject[] = (_c, o) => o,
  extra: ExtraGroup[] = [],
): DeployPlan {
  const plan = JSON.parse(readFileSync(join(src, "deploy-plan.json"), "utf8")) as DeployPlan;
  mkdirSync(join(dst, "manifests"), { recursive: true });
  const write = (key: string, objects: KObject[]) => {
    const text = objects.map((d) => `---\n${stringify(d)}`).join("");
    writeFileSync(join(dst, "manifests", `${key}.yaml`), text);
    return sha(text);
  };
  for (const chart of plan.charts) {
    const docs = parseAllDocuments(readFileSync(join(src, chart.manifest), "utf8")).map((d) => d.toJS() as KObject);
    chart.hash = write(chart.key, edit(chart.key, docs));
  }
  for (const g of extra) {
    const namespaces = new Set<string>();
    for (const [key, objects] of Object.entries(g.charts)) {
      const namespace = objects.find((o) => o.metadata.namespace)?.metadata.namespace ?? "default";
      namespaces.add(namespace);
      plan.charts.push({
        key,
        group: g.name,
        namespace,
        kind: "manifests",
        manifest: `manifests/${key}.yaml`,
        hash: write(key, objects),
        objects: objects.map((o) => ({
          apiVersion: o.apiVersion,
          kind: o.kind,
          name: o.metadata.name,
          ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
        })),
        secrets: [],
      });
    }
    const group: PlanGroup = {
      name: g.name,
      dependsOn: g.dependsOn ?? [],
      charts: Object.keys(g.charts),
      namespaces: [...namespaces].sort(),
      secrets: [],
      waitFor: [],
      retry: { attempts: 3, delaySeconds: 1, maxDelaySeconds: 5 },
      timeoutSeconds: g.timeoutSeconds ?? 120,
      hash: "",
    };
    plan.groups.push(group);
    for (const ns of namespaces) if (!plan.namespaces.includes(ns)) plan.namespaces.push(ns);
  }
  const chartHash = new Map(plan.charts.map((c) => [c.key, c.hash]));
  for (const g of plan.groups)
    g.hash = sha(
      `${g.name}\0${g.dependsOn.join(",")}\0${g.charts.map((c) => chartHash.get(c)).join(",")}\0${JSON.stringify(g.waitFor)}`,
    );
  plan.namespaces.sort();
  plan.hash = sha(JSON.stringify(plan.groups.map((g) => g.hash)));
  writeFileSync(join(dst, "deploy-plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
  return plan;
}
