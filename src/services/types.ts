/** The catalog: what each service renders to, before it is written to files. */
import type { Cluster } from "../cluster/model.ts";
import type { RetryPolicy, WaitTarget } from "../plan/schema.ts";
import type { HelmChartPin } from "./versions.ts";

/** A Kubernetes object as plain data. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
} & Record<string, unknown>;

interface ReleaseBase {
  /** Chart key (services.md §2.3): also the manifest file name. */
  key: string;
  namespace: string;
  /** Kubernetes Secrets (in `namespace`) the release reads. */
  secrets: string[];
}

/** A Helm chart, installed by k3s's helm controller from a HelmChart object. */
export interface HelmRelease extends ReleaseBase {
  kind: "helm";
  chart: HelmChartPin;
  values: Record<string, unknown>;
}

/** Plain manifests nixlab renders itself. */
export interface ManifestRelease extends ReleaseBase {
  kind: "manifests";
  objects: K8sObject[];
}

export type Release = HelmRelease | ManifestRelease;

/** One key of a Kubernetes Secret, filled from a SOPS secret at deploy time (services.md §3). */
export interface SecretRef {
  /** The ref's name (the original's chart key), e.g. `nextcloud-db-secret`. */
  name: string;
  secretName: string;
  secretKey: string;
  namespace: string;
  sopsSecret: string;
}

export interface GroupDefinition {
  name: string;
  charts: string[];
  dependsOn: string[];
  waitFor: WaitTarget[];
  retry: RetryPolicy;
}

/** What one service file contributes. */
export interface ServiceOutput {
  releases: Release[];
  secretRefs: SecretRef[];
}

export type Service = (cluster: Cluster) => ServiceOutput;
