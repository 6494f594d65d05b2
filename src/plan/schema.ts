/**
 * build/deploy-plan.json, the build→deploy contract: everything the deploy engine needs
 * besides the manifests and the secret values. One zod schema: `nixlab build` checks
 * what it writes with it and `nixlab deploy|diff|status` validate what they read with
 * it, so both sides agree on every field. Pure data, stable key order, no secret values.
 */
import { z } from "zod";
import { canonicalJson, sha256 } from "../services/util.ts";
import { findCycle } from "./dag.ts";

/** The plan format this nixlab writes and reads. */
export const planApiVersion = "nixlab.dev/v1alpha1";

const waitKinds = ["Deployment", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim", "HelmChart"] as const;

const name = z.string().min(1);

const waitTargetSchema = z.strictObject({
  kind: z.enum(waitKinds),
  name,
  namespace: name,
  timeoutSeconds: z.number().positive(),
});

const retryPolicySchema = z.strictObject({
  /** Attempts per apply, the first included. Only retriable errors are retried. */
  attempts: z.number().int().min(1),
  /** First backoff delay; doubles per attempt, capped at maxDelaySeconds. */
  delaySeconds: z.number().positive(),
  maxDelaySeconds: z.number().positive(),
});

const objectRefSchema = z.strictObject({
  apiVersion: name,
  kind: name,
  name,
  /** Absent for cluster-scoped objects. */
  namespace: name.optional(),
});

const chartSchema = z.strictObject({
  /** The chart key (services.md §2.3), also the manifest's file name. */
  key: name,
  group: name,
  /** Namespace the chart's workloads live in. */
  namespace: name,
  /** "helm": the manifest holds a k3s HelmChart object; "manifests": plain objects. */
  kind: z.enum(["helm", "manifests"]),
  /** Path of the multi-document YAML, relative to the plan file's directory. */
  manifest: name,
  /** sha256 (hex) of the manifest file's bytes. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Every object of the manifest, in apply order as written. */
  objects: z.array(objectRefSchema),
  helm: z.strictObject({ repo: name, chart: name, version: name }).optional(),
  /** Names of the Kubernetes Secrets (in `namespace`) this chart reads. */
  secrets: z.array(name),
});

/** A Kubernetes Secret the engine builds from SOPS values (one server-side apply each). */
const secretSchema = z.strictObject({
  name,
  namespace: name,
  /** Key inside the Secret -> the SOPS secret that holds the value; sorted by key. */
  keys: z.array(z.strictObject({ key: name, sopsSecret: name })),
  /** The group whose hash covers these values (the first group that uses the Secret). */
  group: name,
  /** Workloads whose pods read this Secret: rolled (pod annotation) when its values change. */
  restart: z.array(objectRefSchema),
});

const groupSchema = z.strictObject({
  name,
  dependsOn: z.array(name),
  charts: z.array(name),
  /** Namespaces of the group's charts and secrets. */
  namespaces: z.array(name),
  /** The PlanSecrets this group's hash covers ("<namespace>/<name>"). */
  secrets: z.array(name),
  waitFor: z.array(waitTargetSchema),
  retry: retryPolicySchema,
  /** Overall budget for the group's readiness, after its applies. */
  timeoutSeconds: z.number().positive(),
  /** sha256 over the group's definition and its charts' hashes (the engine adds secret values). */
  hash: name,
});

/** An idempotent step run in a pod through the API's exec after a group is ready. */
const hookSchema = z.strictObject({
  name,
  /** Runs after this group is ready. */
  after: name,
  target: z.strictObject({ namespace: name, deployment: name, container: name }),
  /** The command is run as this user inside the container (e.g. www-data for occ). */
  runAs: name,
  /** occ settings to ensure; the hook reads each back and sets only what differs. */
  occ: z.strictObject({
    apps: z.array(name),
    settings: z.array(z.strictObject({ app: name, key: name, value: z.string() })),
  }),
});

/** The whole plan, with its cross references checked (unknown groups, charts, cycles). */
export const planSchema = z
  .strictObject({
    apiVersion: z.literal(planApiVersion),
    kind: z.literal("DeployPlan"),
    /** How Helm charts are rendered: "helmchart" = k3s HelmChart objects. */
    helmMode: z.literal("helmchart"),
    /**
     * The deployment's name (the cluster's domain). The in-cluster inventory is kept
     * under it, so two nixlab configurations on one cluster never prune each other.
     */
    name,
    /**
     * What the plan was built from: sha256 of the validated cluster configuration
     * (canonical JSON, defaults applied), the same for its YAML, TypeScript and vars.nix
     * forms. deploy, diff and status compare it with the cluster file to refuse a stale build.
     */
    source: z.strictObject({ configDigest: z.string().regex(/^[0-9a-f]{64}$/) }),
    /** Every namespace the plan uses, sorted. */
    namespaces: z.array(name),
    groups: z.array(groupSchema),
    charts: z.array(chartSchema),
    secrets: z.array(secretSchema),
    hooks: z.array(hookSchema),
    /** sha256 over namespaces, groups, charts, secrets and hooks. */
    hash: name,
  })
  .superRefine((plan, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const groups = new Set<string>();
    plan.groups.forEach((g, i) => {
      if (groups.has(g.name)) issue(["groups", i, "name"], `group ${g.name} is defined twice`);
      groups.add(g.name);
    });
    const charts = new Set(plan.charts.map((c) => c.key));
    plan.groups.forEach((g, i) => {
      g.dependsOn.forEach((d, j) => {
        if (!groups.has(d)) issue(["groups", i, "dependsOn", j], `group ${g.name} depends on unknown group ${d}`);
      });
      g.charts.forEach((c, j) => {
        if (!charts.has(c)) issue(["groups", i, "charts", j], `group ${g.name} names unknown chart ${c}`);
      });
    });
    plan.charts.forEach((c, i) => {
      if (!groups.has(c.group)) issue(["charts", i, "group"], `chart ${c.key} belongs to unknown group ${c.group}`);
    });
    plan.secrets.forEach((s, i) => {
      if (!groups.has(s.group))
        issue(["secrets", i, "group"], `secret ${s.namespace}/${s.name} belongs to unknown group ${s.group}`);
    });
    plan.hooks.forEach((h, i) => {
      if (!groups.has(h.after)) issue(["hooks", i, "after"], `hook ${h.name} runs after unknown group ${h.after}`);
    });
    const byName = new Map(plan.groups.map((g) => [g.name, g.dependsOn.filter((d) => groups.has(d))]));
    const cycle = findCycle(byName.keys(), (g) => byName.get(g) ?? []);
    if (cycle) issue(["groups"], `group dependency cycle: ${cycle.join(" -> ")}`);
  });

/** Kinds a group can wait for. */
export type WaitKind = (typeof waitKinds)[number];
/** A workload a group waits for. */
export type WaitTarget = z.infer<typeof waitTargetSchema>;
/** Attempts and backoff for errors about one request. */
export type RetryPolicy = z.infer<typeof retryPolicySchema>;
/** An object the plan names. */
export type PlanObjectRef = z.infer<typeof objectRefSchema>;
/** One chart (manifest) of the plan. */
export type PlanChart = z.infer<typeof chartSchema>;
/** A Kubernetes Secret built from SOPS values. */
export type PlanSecret = z.infer<typeof secretSchema>;
/** One key of a PlanSecret and the SOPS secret holding its value. */
export type PlanSecretKey = PlanSecret["keys"][number];
/** One deploy group. */
export type PlanGroup = z.infer<typeof groupSchema>;
/** A step run in a pod after a group is ready. */
export type PlanHook = z.infer<typeof hookSchema>;
/** build/deploy-plan.json. */
export type DeployPlan = z.infer<typeof planSchema>;

/**
 * The retry policy of every request that belongs to no group (namespaces, pruning,
 * inventory) and the default of every group: only retriable errors are retried.
 */
export const defaultRetry: RetryPolicy = { attempts: 3, delaySeconds: 10, maxDelaySeconds: 60 };

/**
 * Validates a parsed deploy-plan.json. Returns the plan, or the problems as
 * "field.path: message" lines (never throws).
 */
export function checkPlan(value: unknown): { plan: DeployPlan } | { problems: string[] } {
  const parsed = planSchema.safeParse(value);
  if (parsed.success) return { plan: parsed.data };
  return {
    problems: parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`),
  };
}

/** sha256 of the canonical JSON of a validated cluster configuration (defaults applied): `source.configDigest`. */
export function configDigest(config: unknown): string {
  return sha256(canonicalJson(config));
}
