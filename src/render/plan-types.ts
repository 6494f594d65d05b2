/**
 * build/deploy-plan.json: everything the deploy engine needs besides the manifests
 * and the secret values. Written by `nixlab build`, read by `nixlab deploy|diff|status`
 * and by the master's systemd unit. Pure data, stable key order, no secret values.
 */

export const planApiVersion = "nixlab.dev/v1alpha1";

export type WaitKind = "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "PersistentVolumeClaim" | "HelmChart";

export interface WaitTarget {
  kind: WaitKind;
  name: string;
  namespace: string;
  timeoutSeconds: number;
}

export interface RetryPolicy {
  /** Attempts per apply, the first included. Only retriable errors are retried. */
  attempts: number;
  /** First backoff delay; doubles per attempt, capped at maxDelaySeconds. */
  delaySeconds: number;
  maxDelaySeconds: number;
}

export interface PlanObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
}

export interface PlanChart {
  /** The chart key (services.md §2.3), also the manifest's file name. */
  key: string;
  group: string;
  /** Namespace the chart's workloads live in. */
  namespace: string;
  /** "helm": the manifest holds a k3s HelmChart object; "manifests": plain objects. */
  kind: "helm" | "manifests";
  /** Path of the multi-document YAML, relative to the plan file's directory. */
  manifest: string;
  /** sha256 (hex) of the manifest file's bytes. */
  hash: string;
  /** Every object of the manifest, in apply order as written. */
  objects: PlanObjectRef[];
  helm?: { repo: string; chart: string; version: string };
  /** Names of the Kubernetes Secrets (in `namespace`) this chart reads. */
  secrets: string[];
}

export interface PlanSecretKey {
  /** Key inside the Kubernetes Secret. */
  key: string;
  /** The SOPS secret that holds the value. */
  sopsSecret: string;
}

/** A Kubernetes Secret the engine builds from SOPS values (one server-side apply each). */
export interface PlanSecret {
  name: string;
  namespace: string;
  /** Sorted by key. */
  keys: PlanSecretKey[];
  /** The group whose hash covers these values (the first group that uses the Secret). */
  group: string;
  /**
   * Workloads whose pods read this Secret: when its values change, the engine rolls them
   * (sets the pod template annotation `nixlab.dev/secrets-hash`).
   */
  restart: PlanObjectRef[];
}

export interface PlanGroup {
  name: string;
  dependsOn: string[];
  charts: string[];
  /** Namespaces of the group's charts and secrets. */
  namespaces: string[];
  /** Names of the PlanSecrets this group's hash covers ("<namespace>/<name>"). */
  secrets: string[];
  waitFor: WaitTarget[];
  retry: RetryPolicy;
  /** Overall budget for the group's readiness, after its applies. */
  timeoutSeconds: number;
  /** sha256 over the group's definition and its charts' hashes (secret values are added by the engine). */
  hash: string;
}

/** An idempotent step run in a pod through the API's exec after a group is ready. */
export interface PlanHook {
  name: string;
  /** Runs after this group is ready. */
  after: string;
  target: { namespace: string; deployment: string; container: string };
  /** The command is run as this user inside the container (e.g. www-data for occ). */
  runAs: string;
  /** occ settings to ensure; the hook reads each back and sets only what differs. */
  occ: {
    apps: string[];
    settings: Array<{ app: string; key: string; value: string }>;
  };
}

export interface DeployPlan {
  apiVersion: typeof planApiVersion;
  kind: "DeployPlan";
  /** How Helm charts are rendered: "helmchart" = k3s HelmChart objects. */
  helmMode: "helmchart";
  /** Every namespace the plan uses, sorted. */
  namespaces: string[];
  groups: PlanGroup[];
  charts: PlanChart[];
  secrets: PlanSecret[];
  hooks: PlanHook[];
  /** sha256 over everything above. */
  hash: string;
}
