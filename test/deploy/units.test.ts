import { mkdtempSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ApiError } from "../../src/deploy/client.ts";
import { acquireLock } from "../../src/deploy/lock.ts";
import { LiveObjects, namespaceListFrom } from "../../src/deploy/live.ts";
import { readyNow } from "../../src/deploy/wait.ts";
import { type ObjectRef, parseManifest, sortForApply } from "../../src/deploy/objects.ts";
import { readiness } from "../../src/deploy/readiness.ts";
import { isRetriable, type RetryContext, withRetry } from "../../src/deploy/retry.ts";
import { DirSecretSource, Redactor, secretObject, secretsDigest } from "../../src/deploy/secrets.ts";
import { FileStateStore } from "../../src/deploy/state.ts";
import { unifiedDiff } from "../../src/deploy/textdiff.ts";
import { ruleMatches, selectorMatches } from "../../src/deploy/webhooks.ts";
import { ExitCode, UserError } from "../../src/errors.ts";
import { FakeKube } from "./fake-kube.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "nixlab-deploy-unit-"));

describe("apply order", () => {
  test("CRDs, then namespaces, then Helm's kind order; custom resources last; stable within a kind", () => {
    const objs = parseManifest(
      [
        "kind: IPAddressPool\napiVersion: metallb.io/v1beta1\nmetadata: {name: pool}",
        "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: d1}",
        "kind: Service\napiVersion: v1\nmetadata: {name: s}",
        "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: d2}",
        "kind: CustomResourceDefinition\napiVersion: apiextensions.k8s.io/v1\nmetadata: {name: c}",
        "kind: Namespace\napiVersion: v1\nmetadata: {name: n}",
        "kind: Secret\napiVersion: v1\nmetadata: {name: x}",
      ].join("\n---\n"),
      "test.yaml",
    );
    expect(sortForApply(objs.map((obj) => ({ obj }))).map((x) => x.obj.metadata.name)).toEqual([
      "c",
      "n",
      "x",
      "s",
      "d1",
      "d2",
      "pool",
    ]);
  });
});

/** A clock whose sleeps pass at once, advancing virtual time: retry budgets without waiting. */
function virtualClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    sleeps: [] as number[],
  };
}

const ctx = (
  retry: { attempts: number; delaySeconds: number; maxDelaySeconds: number },
  outageMs = 10_000,
): RetryContext => ({
  retry,
  clock: virtualClock(),
  outageMs,
});

describe("retries", () => {
  test("the API being away is retried, the object and our credentials are not", () => {
    expect(isRetriable(new ApiError("x", 0, "Network", { code: "ECONNREFUSED" }))).toBe(true);
    expect(isRetriable(new ApiError("x", 0, "Network", { code: "ECONNRESET" }))).toBe(true);
    expect(isRetriable(new ApiError("x", 503, "ServiceUnavailable"))).toBe(true);
    expect(isRetriable(new ApiError("failed calling webhook", 500, "InternalError"))).toBe(true);
    expect(isRetriable(new ApiError("x", 429, "TooManyRequests"))).toBe(true);
    expect(
      isRetriable(new ApiError("self-signed certificate", 0, "Network", { code: "DEPTH_ZERO_SELF_SIGNED_CERT" })),
    ).toBe(false);
    expect(isRetriable(new ApiError("x", 0, "Network", { code: "ENOTFOUND" }))).toBe(false);
    expect(isRetriable(new ApiError("Unauthorized", 401, "Unauthorized"))).toBe(false);
    expect(isRetriable(new ApiError("spec.replicas: Invalid value", 422, "Invalid"))).toBe(false);
    expect(isRetriable(new ApiError("forbidden", 403, "Forbidden"))).toBe(false);
    expect(isRetriable(new Error("bug"))).toBe(false);
  });

  test("errors about the request: backoff doubles, and nothing sleeps after the last attempt (defect 15)", async () => {
    const c = ctx({ attempts: 3, delaySeconds: 1, maxDelaySeconds: 10 });
    const times: number[] = [];
    await expect(
      withRetry(c, async () => {
        times.push(c.clock.now());
        throw new ApiError("webhook not ready", 500, "InternalError");
      }),
    ).rejects.toThrow("webhook not ready");
    expect(times).toEqual([0, 1000, 3000]);
  });

  test("an unreachable API is retried until the outage budget is spent, every retry reported with its reason", async () => {
    const reasons: string[] = [];
    const c = {
      ...ctx({ attempts: 1, delaySeconds: 1, maxDelaySeconds: 1 }, 5000),
      onRetry: (r: string) => reasons.push(r),
    };
    let calls = 0;
    const error = await withRetry(c, async () => {
      calls++;
      throw new ApiError("cannot reach https://x: connection refused (ECONNREFUSED)", 0, "Network", {
        code: "ECONNREFUSED",
      });
    }).catch((e: unknown) => e as ApiError);
    expect(error.message).toMatch(/connection refused .*gave up after 5 s \(--api-timeout\)/);
    expect(calls).toBeGreaterThan(3);
    expect(reasons).toHaveLength(calls - 1);
    expect(reasons.every((r) => r.includes("ECONNREFUSED"))).toBe(true);
    expect(c.clock.now()).toBe(5000);
    // An outage that ends in time is ridden out.
    let n = 0;
    const ok = await withRetry(ctx({ attempts: 1, delaySeconds: 1, maxDelaySeconds: 1 }), async () => {
      if (n++ < 3) throw new ApiError("reset", 0, "Network", { code: "ECONNRESET" });
      return "done";
    });
    expect(ok).toBe("done");
  });

  test("an invalid object and a TLS failure fail on the first attempt", async () => {
    for (const e of [
      new ApiError("bad", 422, "Invalid"),
      new ApiError("tls", 0, "Network", { code: "CERT_HAS_EXPIRED" }),
    ]) {
      let calls = 0;
      await expect(
        withRetry(ctx({ attempts: 5, delaySeconds: 1, maxDelaySeconds: 1 }), async () => {
          calls++;
          throw e;
        }),
      ).rejects.toThrow(e.message);
      expect(calls).toBe(1);
    }
  });
});

describe("readiness", () => {
  const dep = (status: object, gen = 2) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", generation: gen },
    spec: { replicas: 2 },
    status,
  });
  test("Deployment: observed generation, updated, no old replicas, available", () => {
    expect(readiness(dep({ observedGeneration: 1 })).ready).toBe(false);
    expect(readiness(dep({ observedGeneration: 2, updatedReplicas: 2, replicas: 3, availableReplicas: 2 }))).toEqual({
      ready: false,
      reason: "1 old replicas terminating",
    });
    expect(readiness(dep({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 })).ready).toBe(
      true,
    );
    expect(
      readiness(
        dep({
          observedGeneration: 2,
          conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
        }),
      ),
    ).toMatchObject({ ready: false, failed: true });
  });
  test("Job, CRD, PVC and condition-based kinds", () => {
    const job = (c: object[]) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "j" },
      status: { conditions: c },
    });
    expect(readiness(job([{ type: "Complete", status: "True" }])).ready).toBe(true);
    expect(readiness(job([{ type: "Failed", status: "True", message: "BackoffLimitExceeded" }]))).toMatchObject({
      failed: true,
    });
    const crd = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "c" } };
    expect(readiness({ ...crd, status: { conditions: [{ type: "Established", status: "True" }] } }).ready).toBe(true);
    expect(readiness({ ...crd, status: {} }).ready).toBe(false);
    expect(
      readiness({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "p" },
        status: { phase: "Bound" },
      }).ready,
    ).toBe(true);
    const cert = { apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: "c" } };
    expect(
      readiness({ ...cert, status: { conditions: [{ type: "Ready", status: "False", reason: "Pending" }] } }).ready,
    ).toBe(false);
  });
});

describe("admission webhook matching (defect 8)", () => {
  const rule = {
    apiGroups: ["networking.k8s.io"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["ingresses"],
  };
  test("rules match group, version, operation, resource and scope", () => {
    expect(ruleMatches(rule, "networking.k8s.io", "v1", "ingresses", true)).toBe(true);
    expect(ruleMatches(rule, "networking.k8s.io", "v1", "ingressclasses", false)).toBe(false);
    expect(ruleMatches({ ...rule, operations: ["DELETE"] }, "networking.k8s.io", "v1", "ingresses", true)).toBe(false);
    expect(ruleMatches({ ...rule, scope: "Cluster" }, "networking.k8s.io", "v1", "ingresses", true)).toBe(false);
    expect(ruleMatches({ ...rule, apiGroups: ["*"], resources: ["*"] }, "apps", "v1", "deployments", true)).toBe(true);
  });
  test("label selectors", () => {
    expect(selectorMatches(undefined, {})).toBe(true);
    expect(selectorMatches({ matchLabels: { a: "1" } }, { a: "1", b: "2" })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, { a: "1" })).toBe(
      false,
    );
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, { a: "1" })).toBe(true);
  });
});

describe("secrets", () => {
  test("a secrets directory returns exact bytes and refuses names that leave it", async () => {
    const dir = tmp();
    const bytes = Buffer.from([0, 10, 255, 34, 92]);
    writeFileSync(join(dir, "v"), bytes);
    const src = new DirSecretSource(dir);
    expect(Buffer.from(await src.get("v")).equals(bytes)).toBe(true);
    await expect(src.get("../etc/passwd")).rejects.toThrow(UserError);
    await expect(src.get("/etc/passwd")).rejects.toThrow(UserError);
    await expect(src.get("missing")).rejects.toThrow(/secret missing is missing/);
  });

  test("one Secret per plan Secret, all keys, base64 of the exact bytes; digests are keyed", () => {
    const plan = { name: "s", namespace: "n", group: "g", keys: [], restart: [] };
    const values = new Map([
      ["b", Buffer.from("two\n")],
      ["a", Buffer.from('"q"')],
    ]);
    const obj = secretObject({ plan, values });
    expect(obj.data).toEqual({ a: Buffer.from('"q"').toString("base64"), b: Buffer.from("two\n").toString("base64") });
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    expect(secretsDigest(k1, [{ plan, values }])).not.toBe(secretsDigest(k2, [{ plan, values }]));
    const changed = new Map(values).set("b", Buffer.from("two"));
    expect(secretsDigest(k1, [{ plan, values }])).not.toBe(secretsDigest(k1, [{ plan, values: changed }]));
  });

  test("redaction removes values, raw and base64, from messages", () => {
    const r = new Redactor();
    r.add(Buffer.from('p@ss "word"'));
    const msg = `Secret "x" is invalid: data[k]: ${Buffer.from('p@ss "word"').toString("base64")} and p@ss "word" and p@ss \\"word\\"`;
    expect(r.redact(msg)).toBe('Secret "x" is invalid: data[k]: <redacted> and <redacted> and <redacted>');
  });
});

describe("state and lock", () => {
  test("state is written atomically and read back; concurrent saves keep the last", async () => {
    const store = new FileStateStore(tmp());
    const state = await store.load();
    expect(state.groups).toEqual({});
    await Promise.all(
      [1, 2, 3].map((i) => {
        state.groups[`g${i}`] = { hash: String(i), status: "ready" };
        return store.save(structuredClone(state));
      }),
    );
    expect(Object.keys((await store.load()).groups)).toEqual(["g1", "g2", "g3"]);
    writeFileSync(join(store.where, "state.json"), "{broken");
    await expect(store.load()).rejects.toThrow(/unreadable/);
  });

  test("a second holder gets ExitCode.busy at once; a dead holder's lock is broken", async () => {
    const dir = tmp();
    const lock = await acquireLock(dir);
    const err = await acquireLock(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(ExitCode.busy);
    await lock.release();
    // A lock left by a process that no longer exists (kill -9) does not block.
    writeFileSync(
      join(dir, "deploy.lock"),
      JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), startedAt: "x", token: "t" }),
    );
    const again = await acquireLock(dir);
    await again.release();
  });
});

describe("unified diff", () => {
  test("shows changed lines with context and nothing when equal", () => {
    const a = "a: 1\nb: 2\nc: 3\n";
    const b = "a: 1\nb: 20\nc: 3\n";
    expect(unifiedDiff(a, a, { from: "x", to: "y" })).toBe("");
    expect(unifiedDiff(a, b, { from: "live", to: "planned" })).toBe(
      "--- live\n+++ planned\n@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 20\n c: 3\n",
    );
    expect(unifiedDiff("", "x: 1\n", { from: "/dev/null", to: "new" })).toContain("+x: 1");
  });
});

describe("reading live objects", () => {
  const configMap = (i: number, namespace = "apps"): ObjectRef => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace,
    name: `cm-${i}`,
  });
  const live = (kube: FakeKube) =>
    new LiveObjects({ ...ctx({ attempts: 1, delaySeconds: 0, maxDelaySeconds: 0 }), kube });

  test("many objects of a kind in a namespace: one list instead of a GET each, unlabelled ones found", async () => {
    const kube = new FakeKube();
    // Present without our label (made by hand): it must be seen, never reported missing.
    await kube.apply(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm-3", namespace: "apps" } },
      {
        manager: "kubectl",
      },
    );
    const refs = Array.from({ length: namespaceListFrom }, (_, i) => configMap(i));
    const objects = live(kube);
    objects.prefetch(refs);
    const before = kube.counts.reads;
    const found = await Promise.all(refs.map((r) => objects.get(r)));
    // The labelled list of the kind and one list of the namespace's ConfigMaps.
    expect(kube.counts.reads - before).toBe(2);
    expect(found.map((o) => o?.metadata.name ?? null)).toEqual(refs.map((r) => (r.name === "cm-3" ? "cm-3" : null)));
    // Asked again (after our apply), an object is read anew: a list never answers twice.
    await kube.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm-0", namespace: "apps" } });
    expect((await objects.get(configMap(0)))?.metadata.name).toBe("cm-0");
    expect(kube.counts.reads - before).toBe(3);
  });

  test("a few objects of a kind in a namespace: a GET each", async () => {
    const kube = new FakeKube();
    const refs = Array.from({ length: namespaceListFrom - 1 }, (_, i) => configMap(i));
    const objects = live(kube);
    objects.prefetch([...refs, configMap(99, "other")]);
    const before = kube.counts.reads;
    await Promise.all(refs.map((r) => objects.get(r)));
    expect(kube.counts.reads - before).toBe(1 + refs.length);
  });
});

describe("waiting for many objects", () => {
  const deployment = (i: number): ObjectRef => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "apps",
    name: `d-${i}`,
  });

  test("the ready ones of many in a namespace are read with one list, the missing ones left to their waits", async () => {
    const kube = new FakeKube();
    const refs = Array.from({ length: namespaceListFrom + 1 }, (_, i) => deployment(i));
    for (const ref of refs.slice(1)) {
      await kube.apply({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: "apps" } });
    }
    const before = kube.counts.reads;
    const ready = await readyNow(kube, refs);
    expect(kube.counts.reads - before).toBe(1);
    expect([...ready].sort()).toEqual(
      refs
        .slice(1)
        .map((r) => `Deployment/apps/${r.name}`)
        .sort(),
    );
    // A few: no list, each is waited for on its own.
    expect(await readyNow(kube, refs.slice(0, namespaceListFrom - 1))).toEqual(new Set());
    expect(kube.counts.reads - before).toBe(1);
  });
});
