// Unit tests of the override checks (issue 14): the value guards and their acknowledgement
// in `acceptRisks`, image, chart and Kubernetes name checks of src/config/references.ts,
// and the text predicates of src/config/formats.ts. The corpus (hostile-corpus.test.ts)
// runs the same checks end to end through `nixlab check`.
import { describe, expect, it } from "vitest";
import { chartName, hasControlCharacter, isDnsSubdomain } from "../../src/config/formats.ts";
import { formatPath } from "../../src/config/problems.ts";
import { checkReferences } from "../../src/config/references.ts";
import { valuesGuards } from "../../src/services/guards.ts";

const guard = (id: string) => valuesGuards.find((g) => g.id === id)!;

/** The problems checkReferences reports for `raw`, as "path: message". */
function problems(raw: Record<string, unknown>): string[] {
  const found: string[] = [];
  checkReferences(raw, (path, message) => found.push(`${formatPath(path)}: ${message}`));
  return found;
}

describe("value guards", () => {
  const remoteUser = guard("remote-user-header");
  const snippets = guard("snippet-annotations");

  it("an override that leaves the protected values alone breaches nothing", () => {
    for (const values of [
      {},
      { controller: { replicaCount: 2 } },
      { controller: { proxySetHeaders: { "X-Forwarded-Host": "$host" } } },
      { controller: { proxySetHeaders: { "X-Remote-User": "" } } },
      { controller: { config: { "enable-underscores-in-headers": false, "use-forwarded-headers": "true" } } },
      { controller: { allowSnippetAnnotations: false, config: { "annotations-risk-level": "High" } } },
      { controller: { config: { "allow-snippet-annotations": "false", "annotations-risk-level": "Low" } } },
    ]) {
      expect(remoteUser.breach(values), JSON.stringify(values)).toBeUndefined();
      expect(snippets.breach(values), JSON.stringify(values)).toBeUndefined();
    }
  });

  it("remote-user-header: every way to drop the blank X-Remote-User header, with its path", () => {
    const headers = ["controller", "proxySetHeaders"];
    const config = ["controller", "config"];
    const cases: [Record<string, unknown>, string[]][] = [
      [{ controller: { proxySetHeaders: { "X-Remote-User": "$http_x_remote_user" } } }, [...headers, "X-Remote-User"]],
      [{ controller: { proxySetHeaders: { "x-remote-user": "alice" } } }, [...headers, "x-remote-user"]],
      [{ controller: { proxySetHeaders: { "X-REMOTE-USER": null } } }, [...headers, "X-REMOTE-USER"]],
      [{ controller: { proxySetHeaders: null } }, headers],
      [{ controller: { proxySetHeaders: "custom-headers" } }, headers],
      [{ controller: { config: { "proxy-set-headers": "default/mine" } } }, [...config, "proxy-set-headers"]],
      [
        { controller: { config: { "enable-underscores-in-headers": true } } },
        [...config, "enable-underscores-in-headers"],
      ],
      [
        { controller: { config: { "enable-underscores-in-headers": "true" } } },
        [...config, "enable-underscores-in-headers"],
      ],
    ];
    for (const [values, path] of cases) expect(remoteUser.breach(values), JSON.stringify(values)).toEqual(path);
    // A parent replaced by null or a scalar removes everything below it.
    expect(remoteUser.breach({ controller: null })).toEqual(["controller"]);
    expect(remoteUser.breach({ controller: "off" })).toEqual(["controller"]);
  });

  it("snippet-annotations: enabling snippets or the Critical risk level, with its path", () => {
    expect(snippets.breach({ controller: { allowSnippetAnnotations: true } })).toEqual([
      "controller",
      "allowSnippetAnnotations",
    ]);
    expect(snippets.breach({ controller: { config: { "allow-snippet-annotations": "true" } } })).toEqual([
      "controller",
      "config",
      "allow-snippet-annotations",
    ]);
    expect(snippets.breach({ controller: { config: { "annotations-risk-level": "Critical" } } })).toEqual([
      "controller",
      "config",
      "annotations-risk-level",
    ]);
    expect(snippets.breach({ controller: { config: null } })).toEqual(["controller", "config"]);
  });

  it("a key named like a guarded one but inherited, not own, is not read", () => {
    const values = Object.create({ controller: { allowSnippetAnnotations: true } }) as Record<string, unknown>;
    expect(snippets.breach(values)).toBeUndefined();
  });
});

describe("checkReferences", () => {
  const breach = { controller: { allowSnippetAnnotations: true } };

  it("a breach is an error at the value's path, naming the id that acknowledges it", () => {
    expect(problems({ charts: { "ingress-nginx": { values: breach } } })).toEqual([
      "charts.ingress-nginx.values.controller.allowSnippetAnnotations: takes away a protection nixlab sets: " +
        guard("snippet-annotations").risk,
    ]);
  });

  it("the acknowledgement lifts only the guard it names", () => {
    expect(problems({ charts: { "ingress-nginx": { values: breach, acceptRisks: ["snippet-annotations"] } } })).toEqual(
      [],
    );
    const both = { controller: { ...breach.controller, proxySetHeaders: {} as Record<string, unknown> } };
    both.controller.proxySetHeaders = { "X-Remote-User": "x" };
    expect(problems({ charts: { "ingress-nginx": { values: both, acceptRisks: ["snippet-annotations"] } } })).toEqual([
      `charts.ingress-nginx.values.controller.proxySetHeaders.X-Remote-User: takes away a protection nixlab sets: ${guard("remote-user-header").risk}`,
    ]);
  });

  it("an acknowledgement of a risk the chart does not have is an error", () => {
    expect(problems({ charts: { "ingress-nginx": { acceptRisks: ["remote-user"] } } })).toEqual([
      'charts.ingress-nginx.acceptRisks[0]: "remote-user" is not a risk of this chart',
    ]);
    expect(problems({ charts: { metallb: { acceptRisks: ["snippet-annotations"] } } })).toEqual([
      'charts.metallb.acceptRisks[0]: "snippet-annotations" is not a risk of this chart',
    ]);
  });

  it("images, chart repositories and versions of overrides and services", () => {
    expect(
      problems({
        images: { caddy: "caddy", pihole: "pihole/pihole:latest", ok: "caddy:2.10.2-alpine" },
        charts: { metallb: { repo: "http://charts.example.com", version: "^0.14" } },
        services: {
          grafana: { helm: { repo: "oci://ghcr.io/x", chart: "../grafana", version: "8.0.0;id" } },
        },
      }),
    ).toEqual([
      'images.caddy: "caddy" has no tag, so it means whatever :latest is today',
      'images.pihole: "pihole/pihole:latest" uses the floating tag latest',
      'charts.metallb.repo: "http://charts.example.com" is not an https:// or oci:// URL',
      'charts.metallb.version: "^0.14" is not a chart version',
      'services.grafana.helm.version: "8.0.0;id" is not a chart version',
      'services.grafana.helm.chart: "../grafana" is not a chart name',
    ]);
  });

  it("Kubernetes names and namespaces of manifests and wait targets", () => {
    const found = problems({
      services: {
        grafana: {
          manifests: [{ metadata: { name: "Grafana", namespace: "monitoring" } }, { metadata: { name: "a.b" } }],
        },
      },
      groups: {
        apps: { waitFor: [{ kind: "Deployment", name: "web", namespace: "my_ns" }] },
      },
    });
    expect(found).toEqual([
      'services.grafana.manifests[0].metadata.name: "Grafana" is not a valid Kubernetes name',
      'groups.apps.waitFor[0].namespace: "my_ns" is not a valid namespace name',
    ]);
  });

  it("a service name that fits a label but not the HelmChart's install Job", () => {
    expect(problems({ services: { [`s${"x".repeat(50)}`]: {} } })).toEqual([
      `services.s${"x".repeat(50)}: service name is longer than 50 characters`,
    ]);
    expect(problems({ services: { [`s${"x".repeat(49)}`]: {} } })).toEqual([]);
  });

  it("wrong types are left to the schema, never thrown on", () => {
    for (const raw of [
      { images: null, charts: [], services: "x", groups: 1 },
      { charts: { "ingress-nginx": { values: null, acceptRisks: "all" } } },
      { charts: { "ingress-nginx": { acceptRisks: [1, null] } } },
      { services: { a: { helm: null, manifests: [null, { metadata: 3 }] } } },
      { groups: { a: { waitFor: [null, "x", { name: 1, namespace: [] }] } } },
    ]) {
      expect(problems(raw as Record<string, unknown>), JSON.stringify(raw)).toEqual([]);
    }
  });
});

describe("text predicates", () => {
  it("control characters: C0, DEL, C1 and the Unicode line separators", () => {
    for (const c of ["\n", "\r", "\t", "\u0000", "\u001b", "\u007f", "\u0085", "\u009b", "\u2028", "\u2029"]) {
      expect(hasControlCharacter(`a${c}b`), JSON.stringify(c)).toBe(true);
    }
    for (const text of ["", "plain", "Émile's phone ☎", "a b", "\u00a0", "😀"]) {
      expect(hasControlCharacter(text), text).toBe(false);
    }
  });

  it("Kubernetes object names and chart names", () => {
    for (const name of ["a", "grafana", "a.b-c", "x".repeat(63), `${"a".repeat(63)}.${"b".repeat(63)}`]) {
      expect(isDnsSubdomain(name), name).toBe(true);
    }
    for (const name of ["", "A", "a_b", "-a", "a-", "a..b", ".a", "x".repeat(64), `${"a.".repeat(127)}a`]) {
      expect(isDnsSubdomain(name), name).toBe(false);
    }
    for (const name of ["grafana", "kube-prometheus-stack", "a.b_c"]) expect(chartName.test(name), name).toBe(true);
    for (const name of ["", "../x", "a/b", "a b", "$(x)", "-x", "x".repeat(101)]) {
      expect(chartName.test(name), name).toBe(false);
    }
  });
});
