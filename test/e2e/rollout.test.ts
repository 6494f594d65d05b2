/**
 * The health-gated rolling `nodes apply` against the testbed's real apiserver, with kwok
 * nodes named like the example's (node1 master, node2, node3; tainted so no other test's
 * pods land on them) and stand-ins on PATH for the machines: `nixos-rebuild` records each
 * switch (and whether the node was cordoned and drained at that moment) and gives the node
 * a new system; `ssh` answers `readlink -f /run/current-system` and records the switch
 * back to the previous system. Breaking a node after its switch takes it away from kwok
 * and marks it NotReady through the API, as a k3s that does not come back would.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import { KubeNodeHealth } from "../../src/nodes/node-health.ts";
import { rollNodes, sshMachine } from "../../src/nodes/rollout.ts";
import { readBuildSpecs } from "../../src/nodes/build-dir.ts";
import { exampleCluster, renderExample, writeBuild } from "../nodes/support.ts";
import { runCli } from "../support/cli.ts";
import { connectKube, kubeconfig } from "./testbed.ts";

const hosts = ["node1", "node2", "node3"];
const taint = { key: "nixlab.dev/rollout-test", value: "true", effect: "NoSchedule" };

const standInRebuild = `#!/usr/bin/env bash
set -eu
flake="$3"; host="\${flake##*#}"
state="$NIXLAB_FAKE_STATE/$host"
api() { curl -sS --fail --max-time 10 --cacert "$NIXLAB_FAKE_CA" --cert "$NIXLAB_FAKE_CERT" --key "$NIXLAB_FAKE_KEY" "$@"; }
node="$(api "$NIXLAB_FAKE_API/api/v1/nodes/$host")"
pods="$(api "$NIXLAB_FAKE_API/api/v1/pods?fieldSelector=spec.nodeName=$host" | jq '[.items[] | select(.metadata.ownerReferences // [] | all(.kind != "DaemonSet"))] | length')"
echo "$1 $host unschedulable=$(echo "$node" | jq -r '.spec.unschedulable // false') pods=$pods" >> "$NIXLAB_FAKE_CALLS"
n=$(( $(cat "$NIXLAB_FAKE_STATE/$host.n" 2>/dev/null || echo 0) + 1 )); echo $n > "$NIXLAB_FAKE_STATE/$host.n"
printf '/nix/store/%032d-nixos-system-%s' "$n" "$host" > "$state"
echo "activating the configuration of $host"
if [ "$host" = "\${NIXLAB_FAKE_BREAK:-}" ]; then
  api -X PATCH -H 'Content-Type: application/merge-patch+json' "$NIXLAB_FAKE_API/api/v1/nodes/$host" \\
    -d '{"metadata":{"annotations":{"kwok.x-k8s.io/node":null}}}' >/dev/null
  api -X PATCH -H 'Content-Type: application/merge-patch+json' "$NIXLAB_FAKE_API/api/v1/nodes/$host/status" \\
    -d '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady","message":"k3s did not start"}]}}' >/dev/null
fi
`;

const standInSsh = `#!/usr/bin/env bash
set -eu
target="\${@: -2:1}"; command="\${@: -1}"
host="\${target#*@}"; host="\${host%.local}"
state="$NIXLAB_FAKE_STATE/$host"
api() { curl -sS --fail --max-time 10 --cacert "$NIXLAB_FAKE_CA" --cert "$NIXLAB_FAKE_CERT" --key "$NIXLAB_FAKE_KEY" "$@"; }
case "$command" in
  "readlink -f /run/current-system")
    cat "$state" 2>/dev/null || printf '/nix/store/%032d-nixos-system-%s' 0 "$host" ;;
  *switch-to-configuration*)
    system="$(echo "$command" | sed -n 's/.*--set \\([^ ]*\\) .*/\\1/p')"
    echo "back $host $system" >> "$NIXLAB_FAKE_CALLS"
    printf '%s' "$system" > "$state"
    # The old system starts k3s again: kwok manages the node and makes it Ready.
    api -X PATCH -H 'Content-Type: application/merge-patch+json' "$NIXLAB_FAKE_API/api/v1/nodes/$host" \\
      -d '{"metadata":{"annotations":{"kwok.x-k8s.io/node":"fake"}}}' >/dev/null ;;
  *) echo "stand-in ssh: unexpected command: $command" >&2; exit 2 ;;
esac
`;

describe.skipIf(!kubeconfig)("health-gated rolling nodes apply on the testbed", () => {
  const work = mkdtempSync(join(tmpdir(), "nixlab-rollout-"));
  const bin = join(work, "bin");
  const state = join(work, "state");
  const ns = `rollout-${process.pid}`;
  let kube: HttpKube;
  let build: string;
  let run = 0;
  let calls = "";
  const savedEnv = { ...process.env };

  const fresh = (env: Record<string, string> = {}) => {
    calls = join(work, `calls-${++run}.log`);
    writeFileSync(calls, "");
    rmSync(state, { recursive: true, force: true });
    mkdirSync(state);
    const kc = parse(readFileSync(kubeconfig!, "utf8"));
    Object.assign(process.env, {
      PATH: `${bin}:${savedEnv.PATH}`,
      NIXLAB_FAKE_CALLS: calls,
      NIXLAB_FAKE_STATE: state,
      NIXLAB_FAKE_API: kc.clusters[0].cluster.server,
      NIXLAB_FAKE_CA: kc.clusters[0].cluster["certificate-authority"],
      NIXLAB_FAKE_CERT: kc.users[0].user["client-certificate"],
      NIXLAB_FAKE_KEY: kc.users[0].user["client-key"],
      ...env,
    });
    if (!env.NIXLAB_FAKE_BREAK) delete process.env.NIXLAB_FAKE_BREAK;
  };
  const recorded = () => readFileSync(calls, "utf8").trim().split("\n").filter(Boolean);
  const post = (path: string, body: unknown) => kube.request("POST", path, { body });
  const nodeObj = (name: string) => kube.request<{ spec: { unschedulable?: boolean } }>("GET", `/api/v1/nodes/${name}`);
  const readyPods = async (selector: string) => {
    const list = await kube.request<{
      items: Array<{ spec: { nodeName?: string }; status: { conditions?: Array<{ type: string; status: string }> } }>;
    }>("GET", `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: selector } });
    return list.items.filter((p) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const podTemplate = (app: string, nodeSelector: Record<string, string>) => ({
    metadata: { labels: { app } },
    spec: {
      nodeSelector,
      tolerations: [{ key: taint.key, operator: "Exists", effect: "NoSchedule" }],
      containers: [{ name: "app", image: "registry.invalid/app:1" }],
    },
  });

  beforeAll(async () => {
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "nixos-rebuild"), standInRebuild);
    writeFileSync(join(bin, "ssh"), standInSsh);
    chmodSync(join(bin, "nixos-rebuild"), 0o755);
    chmodSync(join(bin, "ssh"), 0o755);
    build = writeBuild(renderExample(await exampleCluster()));
    kube = connectKube(kubeconfig!);
    for (const name of hosts) {
      await kube.request("DELETE", `/api/v1/nodes/${name}`).catch(() => {});
      await post("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "nixlab.dev/rollout-test": "true" },
        },
        spec: { taints: [taint] },
      });
    }
    await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await waitFor("the default ServiceAccount", async () =>
      kube.get({ apiVersion: "v1", kind: "ServiceAccount", name: "default", namespace: ns }).then((sa) => sa !== null),
    );
    // Three replicas spread over the test nodes: a drain moves them, they become Ready elsewhere.
    await post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: podTemplate("web", { "nixlab.dev/rollout-test": "true" }),
      },
    });
    await waitFor("web Ready", async () => (await readyPods("app=web")).length === 3, 60_000);
  }, 120_000);

  afterAll(async () => {
    process.env = { ...savedEnv };
    if (kube) {
      await kube.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => {});
      for (const name of hosts) await kube.request("DELETE", `/api/v1/nodes/${name}`).catch(() => {});
      kube.close();
    }
    rmSync(work, { recursive: true, force: true });
    if (build) rmSync(build, { recursive: true, force: true });
  });

  test("a healthy rollout cordons, drains, switches and uncordons node by node, the master last", async () => {
    fresh();
    const lines: string[] = [];
    const outcomes = await rollNodes({
      nodes: readBuildSpecs(build),
      goal: "switch",
      limit: 1,
      print: (l) => lines.push(l),
      cluster: new KubeNodeHealth(kube, { pollMs: 200 }),
      machine: sshMachine({ buildDir: build, logDir: join(work, "logs-healthy") }),
      healthTimeoutMs: 20_000,
      drainTimeoutMs: 30_000,
      pollMs: 200,
    });
    expect(outcomes.map((o) => [o.hostname, o.ok])).toEqual([
      ["node2", true],
      ["node3", true],
      ["node1", true],
    ]);
    // At each switch the node was cordoned and held no pods but DaemonSet ones.
    expect(recorded()).toEqual([
      "switch node2 unschedulable=true pods=0",
      "switch node3 unschedulable=true pods=0",
      "switch node1 unschedulable=true pods=0",
    ]);
    for (const name of hosts) expect((await nodeObj(name)).spec.unschedulable ?? false).toBe(false);
    expect(lines.at(-1)).toBe("summary: 3 of 3 ok");
    await waitFor("web Ready again", async () => (await readyPods("app=web")).length === 3);
  });

  test("a node NotReady after its switch is switched back, the rollout stops, exit code and summary name it", async () => {
    fresh({ NIXLAB_FAKE_BREAK: "node2" });
    const result = await runCli([
      "nodes",
      "apply",
      "--kubeconfig",
      kubeconfig!,
      "--build",
      build,
      "--limit",
      "1",
      "--health-timeout",
      "4",
      "--drain-timeout",
      "30",
      "--log-dir",
      join(work, "logs-broken"),
    ]);
    const text = result.stdout;
    expect(result.code).toBe(1);
    expect(recorded()).toEqual([
      "switch node2 unschedulable=true pods=0",
      `back node2 /nix/store/${"0".repeat(32)}-nixos-system-node2`,
    ]);
    expect(text).toMatch(
      /node2\s+FAILED .* health: not healthy within 4s after switch: node node2 is not Ready \(KubeletNotReady: k3s did not start\); switched back to \/nix\/store\/0{32}-nixos-system-node2/,
    );
    expect(text).toContain("summary: rollout stopped at node2 (health, rolled back): 0 ok, 2 not started");
    // Back on its old system the node is Ready again and schedulable; nothing else was touched.
    expect((await nodeObj("node2")).spec.unschedulable ?? false).toBe(false);
  });

  test("a PodDisruptionBudget that forbids eviction stops the drain with a clear message", async () => {
    fresh();
    await post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "guarded" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "guarded" } },
        template: podTemplate("guarded", { "kubernetes.io/hostname": "node3" }),
      },
    });
    await post(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "keep-guarded" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "guarded" } } },
    });
    await waitFor("guarded Ready", async () => (await readyPods("app=guarded")).length === 1);
    const lines: string[] = [];
    const node3 = readBuildSpecs(build).filter((s) => s.hostname === "node3");
    const outcomes = await rollNodes({
      nodes: node3,
      goal: "switch",
      limit: 1,
      print: (l) => lines.push(l),
      cluster: new KubeNodeHealth(kube, { pollMs: 200 }),
      machine: sshMachine({ buildDir: build, logDir: join(work, "logs-pdb") }),
      healthTimeoutMs: 10_000,
      drainTimeoutMs: 3_000,
      pollMs: 200,
    });
    expect(outcomes).toHaveLength(1);
    const [o] = outcomes;
    expect(o).toMatchObject({ hostname: "node3", ok: false, stage: "drain", rolledBack: false });
    expect(o!.reason).toMatch(
      new RegExp(
        `drain of node3 did not finish within 3s: ${ns}/guarded-\\S+: .*disruption budget.* \\(PodDisruptionBudget ${ns}/keep-guarded\\); nothing was switched, node3 is schedulable again`,
      ),
    );
    expect(recorded()).toEqual([]);
    expect((await nodeObj("node3")).spec.unschedulable ?? false).toBe(false);
    expect(lines.at(-1)).toBe("summary: rollout stopped at node3 (drain): 0 ok, 0 not started");
  });
});
