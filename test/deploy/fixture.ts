/** Builds small deploy plans (manifests + deploy-plan.json with real hashes) for engine tests. */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { KubeClient } from "../../src/deploy/client.ts";
import { type DeployInput, deploy } from "../../src/deploy/engine.ts";
import type { DeployReport } from "../../src/deploy/events.ts";
import type { KObject } from "../../src/deploy/objects.ts";
import { FileStateStore } from "../../src/deploy/state.ts";
import { loadPlan } from "../../src/plan/load.ts";
import {
  type DeployPlan,
  type PlanGroup,
  type PlanHook,
  type PlanSecret,
  planApiVersion,
  type WaitTarget,
} from "../../src/plan/schema.ts";

export interface FixtureGroup {
  name: string;
  dependsOn?: string[];
  /** Chart key -> objects (one manifest per chart). */
  charts: Record<string, KObject[]>;
  waitFor?: WaitTarget[];
  timeoutSeconds?: number;
}

export interface FixtureSecret {
  name: string;
  namespace: string;
  group: string;
  keys: Array<{ key: string; sopsSecret: string }>;
  restart?: PlanSecret["restart"];
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Writes DIR/manifests/<chart>.yaml and DIR/deploy-plan.json; returns the plan path. */
export function writePlan(
  dir: string,
  groups: FixtureGroup[],
  secrets: FixtureSecret[] = [],
  hooks: PlanHook[] = [],
): string {
  mkdirSync(join(dir, "manifests"), { recursive: true });
  const charts: DeployPlan["charts"] = [];
  const planGroups: PlanGroup[] = [];
  const namespaces = new Set<string>();
  for (const g of groups) {
    const gNs = new Set<string>();
    const chartHashes: string[] = [];
    for (const [key, objects] of Object.entries(g.charts)) {
      const text = objects.map((o) => `---\n${stringify(o)}`).join("");
      writeFileSync(join(dir, "manifests", `${key}.yaml`), text);
      const ns = objects.find((o) => o.metadata.namespace)?.metadata.namespace ?? "default";
      gNs.add(ns);
      const hash = sha(text);
      chartHashes.push(hash);
      charts.push({
        key,
        group: g.name,
        namespace: ns,
        kind: "manifests",
        manifest: `manifests/${key}.yaml`,
        hash,
        objects: objects.map((o) => ({
          apiVersion: o.apiVersion,
          kind: o.kind,
          name: o.metadata.name,
          ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
        })),
        secrets: [],
      });
    }
    const groupSecrets = secrets.filter((s) => s.group === g.name);
    for (const s of groupSecrets) gNs.add(s.namespace);
    for (const n of gNs) namespaces.add(n);
    const def = {
      name: g.name,
      dependsOn: g.dependsOn ?? [],
      charts: Object.keys(g.charts),
      namespaces: [...gNs].sort(),
      secrets: groupSecrets.map((s) => `${s.namespace}/${s.name}`),
      waitFor: g.waitFor ?? [],
      retry: { attempts: 3, delaySeconds: 0.2, maxDelaySeconds: 1 },
      timeoutSeconds: g.timeoutSeconds ?? 30,
    };
    planGroups.push({ ...def, hash: sha(JSON.stringify(def) + chartHashes.join()) });
  }
  const body = {
    apiVersion: planApiVersion as typeof planApiVersion,
    kind: "DeployPlan" as const,
    helmMode: "helmchart" as const,
    // Each test's plans own their inventory: named after their first namespace.
    name: [...namespaces].sort()[0] ?? "fixture",
    source: { configDigest: sha("a fixture, built from no cluster file") },
    namespaces: [...namespaces].sort(),
    groups: planGroups,
    charts,
    secrets: secrets.map((s) => ({ ...s, restart: s.restart ?? [] })),
    hooks,
  };
  const plan: DeployPlan = { ...body, hash: sha(JSON.stringify(body)) };
  writeFileSync(join(dir, "deploy-plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
  return join(dir, "deploy-plan.json");
}

export function configMap(namespace: string, name: string, data: Record<string, string>): KObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data };
}

export function deployment(namespace: string, name: string, opts: { readyDelay?: string; env?: string } = {}): KObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          ...(opts.readyDelay ? { annotations: { "testbed.nixlab.dev/ready-delay": opts.readyDelay } } : {}),
        },
        spec: {
          containers: [{ name: "main", image: "registry.invalid/app:1", env: [{ name: "V", value: opts.env ?? "1" }] }],
        },
      },
    },
  };
}

export function job(namespace: string, name: string, arg: string): KObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "registry.invalid/job:1", args: [arg] }] },
      },
    },
  };
}

/** deploy() from files, as the CLI adapts them: the plan at planPath, the state dir at stateDir. */
export async function deployFiles(
  options: { kube: KubeClient; planPath: string; stateDir: string } & Omit<DeployInput, "plan" | "kube" | "store">,
): Promise<DeployReport> {
  const { planPath, stateDir, ...rest } = options;
  return await deploy({ ...rest, plan: await loadPlan(planPath), store: new FileStateStore(stateDir) });
}
