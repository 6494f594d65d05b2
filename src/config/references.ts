/**
 * Validation of what the overrides name and reference: container images, chart
 * repositories and versions, accepted risks (services/guards.ts), and the Kubernetes
 * names and namespaces of the user's own services and wait targets. Reads the raw input
 * defensively like validate.ts; every check is linear in the size of the file.
 */
import { valuesGuards } from "../services/guards.ts";
import { helmCharts } from "../services/versions.ts";
import {
  chartName,
  chartRepoProblem,
  chartVersion,
  dnsLabel,
  imageReferenceProblem,
  isDnsSubdomain,
} from "./formats.ts";
import { type FieldPath, showValue } from "./problems.ts";

type Add = (path: FieldPath, message: string, fix: string) => void;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Service names become HelmChart names in kube-system, whose install Job is named
 * `helm-install-<name>` and must fit the 63 characters of a label value.
 */
const serviceName = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;

/** Problems in `images`, `charts`, `services` and `groups` beyond their types. */
export function checkReferences(raw: Record<string, unknown>, add: Add): void {
  if (isRecord(raw.images)) {
    for (const [key, ref] of Object.entries(raw.images)) {
      const problem = typeof ref === "string" ? imageReferenceProblem(ref) : undefined;
      if (problem) {
        add(
          ["images", key],
          `${showValue(ref)} ${problem}`,
          'pin a tag or a digest, e.g. "caddy:2.10.2-alpine" or "caddy@sha256:…"',
        );
      }
    }
  }
  if (isRecord(raw.charts)) {
    for (const [key, chart] of Object.entries(raw.charts)) if (isRecord(chart)) checkChart(key, chart, add);
  }
  if (isRecord(raw.services)) {
    for (const [name, svc] of Object.entries(raw.services)) checkService(name, svc, add);
  }
  if (isRecord(raw.groups)) {
    for (const [name, group] of Object.entries(raw.groups)) {
      if (isRecord(group) && Array.isArray(group.waitFor)) checkWaits(["groups", name, "waitFor"], group.waitFor, add);
    }
  }
}

function checkRepo(path: FieldPath, repo: unknown, add: Add): void {
  const problem = typeof repo === "string" ? chartRepoProblem(repo) : undefined;
  if (problem)
    add(
      path,
      `${showValue(repo)} ${problem}`,
      'use the https:// or oci:// URL of the chart repository, e.g. "https://charts.example.com/"',
    );
}

function checkVersion(path: FieldPath, version: unknown, add: Add): void {
  if (typeof version === "string" && !chartVersion.test(version)) {
    add(
      path,
      `${showValue(version)} is not a chart version`,
      'pin one exact SemVer version, e.g. "1.11.3" or "v1.20.2"',
    );
  }
}

function checkChart(key: string, chart: Record<string, unknown>, add: Add): void {
  checkRepo(["charts", key, "repo"], chart.repo, add);
  checkVersion(["charts", key, "version"], chart.version, add);
  const guards = valuesGuards.filter((g) => g.chart === key);
  const accepted = Array.isArray(chart.acceptRisks) ? chart.acceptRisks : [];
  accepted.forEach((id, i) => {
    if (typeof id === "string" && !guards.some((g) => g.id === id)) {
      add(
        ["charts", key, "acceptRisks", i],
        `${showValue(id)} is not a risk of this chart`,
        guards.length > 0 ? `use one of ${guards.map((g) => `"${g.id}"`).join(", ")}, or remove it` : "remove it",
      );
    }
  });
  if (!isRecord(chart.values) || !(key in helmCharts)) return;
  for (const guard of guards) {
    const breach = guard.breach(chart.values);
    if (breach && !accepted.includes(guard.id)) {
      add(
        ["charts", key, "values", ...breach],
        `takes away a protection nixlab sets: ${guard.risk}`,
        `keep nixlab's value, or, if you accept the risk, add "${guard.id}" to charts.${key}.acceptRisks`,
      );
    }
  }
}

function checkService(name: string, svc: unknown, add: Add): void {
  if (dnsLabel.test(name) && !serviceName.test(name)) {
    add(
      ["services", name],
      "service name is longer than 50 characters",
      "shorten it (it names a HelmChart and its install Job)",
    );
  }
  if (!isRecord(svc)) return;
  if (isRecord(svc.helm)) {
    checkRepo(["services", name, "helm", "repo"], svc.helm.repo, add);
    checkVersion(["services", name, "helm", "version"], svc.helm.version, add);
    const chart = str(svc.helm.chart);
    if (chart !== undefined && !chartName.test(chart)) {
      add(
        ["services", name, "helm", "chart"],
        `${showValue(chart)} is not a chart name`,
        'write the chart\'s name in its repository, e.g. "grafana"',
      );
    }
  }
  if (Array.isArray(svc.manifests)) {
    svc.manifests.forEach((obj, i) => {
      const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
      if (meta) checkObjectName(["services", name, "manifests", i, "metadata"], meta.name, meta.namespace, add);
    });
  }
}

function checkWaits(path: FieldPath, waits: unknown[], add: Add): void {
  waits.forEach((w, i) => {
    if (isRecord(w)) checkObjectName([...path, i], w.name, w.namespace, add);
  });
}

/** A Kubernetes object's name (an RFC 1123 subdomain) and namespace (an RFC 1123 label). */
function checkObjectName(path: FieldPath, name: unknown, namespace: unknown, add: Add): void {
  if (typeof name === "string" && !isDnsSubdomain(name)) {
    add(
      [...path, "name"],
      `${showValue(name)} is not a valid Kubernetes name`,
      'use lowercase letters, digits, "-" and ".", e.g. "grafana"',
    );
  }
  if (typeof namespace === "string" && !dnsLabel.test(namespace)) {
    add(
      [...path, "namespace"],
      `${showValue(namespace)} is not a valid namespace name`,
      'use 1–63 lowercase letters, digits and "-", e.g. "monitoring"',
    );
  }
}
