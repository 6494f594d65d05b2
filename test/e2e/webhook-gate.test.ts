/**
 * The admission-webhook gate on the testbed (services.md defect 8: ingress-nginx registers
 * its admission webhook before its controller is ready, so objects it validates can be
 * rejected). The engine must hold an object that a `failurePolicy: Fail` webhook validates
 * until the webhook's Service has a ready endpoint, and hold only that object.
 *
 * The webhook is real, so the defect is real too: an HTTPS server in this process (its own
 * CA, certificate for `webhook.<ns>.svc`), reached by the apiserver through an ExternalName
 * Service pointing at 127.0.0.1. (The testbed has no kube-proxy, so a ClusterIP would not
 * route and kwok pods' IPs are fake; with `failurePolicy: Ignore` the engine rightly does not
 * gate at all, see src/deploy/webhooks.ts.) Until "its controller is ready" it answers 503,
 * which the apiserver turns into a rejection of the object. The readiness the engine watches
 * is the Service's EndpointSlice, written here because the endpointslice controller does not
 * manage ExternalName Services: one endpoint, not ready, flipped to ready when the server
 * starts allowing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DeployEvent } from "../../src/deploy/events.ts";
import { ApiError } from "../../src/deploy/client.ts";
import type { HttpKube } from "../../src/deploy/http-kube.ts";
import type { KObject } from "../../src/deploy/objects.ts";
import { configMap, writePlan, deployFiles } from "../deploy/fixture.ts";
import { type CountingProxy, startCountingProxy } from "./counting-proxy.ts";
import { connectKube, kubeconfig, testbedKube } from "./testbed.ts";

interface AdmissionCall {
  at: number;
  name: string;
  operation: string;
  dryRun: boolean;
  allowed: boolean;
}

/** A validating webhook that fails (503) until `serving` is set, then allows everything. */
function startWebhookServer(tls: { key: string; cert: string }) {
  const calls: AdmissionCall[] = [];
  const state = { serving: false };
  const server = https.createServer(tls, (req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const review = JSON.parse(body) as {
        request: { uid: string; name: string; operation: string; dryRun?: boolean };
      };
      const { uid, name, operation, dryRun } = review.request;
      calls.push({ at: Date.now(), name, operation, dryRun: !!dryRun, allowed: state.serving });
      if (!state.serving) {
        res.writeHead(503, { "Content-Type": "text/plain" }).end("controller not ready");
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid, allowed: true },
        }),
      );
    });
  });
  return { server, calls, state };
}

/** A CA and a serving certificate for dnsName, by openssl (as testbed/up.sh makes its own). */
function makeCerts(dir: string, dnsName: string): { ca: string; cert: string; key: string } {
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = ["-subj", "/CN=nixlab-e2e-webhook-ca", "-addext", "basicConstraints=critical,CA:TRUE"];
  ossl("req", "-x509", ...ec, "-days", "1", ...ca, "-keyout", "ca.key", "-out", "ca.crt");
  ossl("req", ...ec, "-subj", `/CN=${dnsName}`, "-keyout", "tls.key", "-out", "tls.csr");
  writeFileSync(join(dir, "tls.ext"), `subjectAltName=DNS:${dnsName}\nextendedKeyUsage=serverAuth\n`);
  const sign = ["-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"];
  ossl("x509", ...sign, "-extfile", "tls.ext", "-out", "tls.crt");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return { ca: read("ca.crt"), cert: read("tls.crt"), key: read("tls.key") };
}

async function until(
  what: string | (() => string),
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!kubeconfig)("admission-webhook gate on the testbed", () => {
  const run = Date.now().toString(36);
  const ns = `e2e-webhook-${run}`;
  const webhookName = "validate.e2e.nixlab.dev";
  const vwcName = `nixlab-e2e-webhook-gate-${run}`;
  const validatedLabel = { "e2e.nixlab.dev/validated": "true" };
  let dir: string;
  let kube: HttpKube;
  let proxy: CountingProxy | undefined;
  let webhook: ReturnType<typeof startWebhookServer> | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nixlab-e2e-webhook-"));
    kube = await testbedKube();
  });
  afterAll(async () => {
    if (kube) {
      const admission = "admissionregistration.k8s.io/v1";
      await kube
        .delete({ apiVersion: admission, kind: "ValidatingWebhookConfiguration", name: vwcName })
        .catch(() => {});
      await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => {});
      kube.close();
    }
    await proxy?.close();
    if (webhook) {
      webhook.server.closeAllConnections();
      await new Promise((r) => webhook!.server.close(r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("an object the webhook validates waits for its ready endpoint; others do not", async () => {
    // The webhook server, not serving yet.
    const certs = makeCerts(dir, `webhook.${ns}.svc`);
    webhook = startWebhookServer({ key: certs.key, cert: certs.cert });
    const wh = webhook;
    await new Promise<void>((resolve) => wh.server.listen(0, "127.0.0.1", resolve));
    const port = (wh.server.address() as AddressInfo).port;

    // Namespace, Service, its EndpointSlice (endpoint not ready) and the webhook, straight through the API.
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }, { manager: "e2e" });
    await kube.create(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "webhook", namespace: ns },
        spec: { type: "ExternalName", externalName: "127.0.0.1" },
      },
      { manager: "e2e" },
    );
    const slice: KObject = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "webhook-1",
        namespace: ns,
        labels: { "kubernetes.io/service-name": "webhook", "endpointslice.kubernetes.io/managed-by": "e2e" },
      },
      addressType: "IPv4",
      // A pod-like address: the apiserver reaches the webhook through the ExternalName, never here.
      endpoints: [{ addresses: ["10.244.7.7"], conditions: { ready: false } }],
      ports: [{ name: "https", port, protocol: "TCP" }],
    };
    await kube.create(slice, { manager: "e2e" });
    await kube.create(
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: vwcName },
        webhooks: [
          {
            name: webhookName,
            clientConfig: {
              service: { namespace: ns, name: "webhook", port, path: "/validate" },
              caBundle: Buffer.from(certs.ca).toString("base64"),
            },
            rules: [
              {
                apiGroups: [""],
                apiVersions: ["v1"],
                operations: ["CREATE", "UPDATE"],
                resources: ["configmaps"],
                scope: "Namespaced",
              },
            ],
            // Only this test's namespace and labelled objects: other e2e files run alongside.
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
            objectSelector: { matchLabels: validatedLabel },
            failurePolicy: "Fail",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            timeoutSeconds: 5,
          },
        ],
      },
      { manager: "e2e" },
    );

    const gated = configMap(ns, "gated", { validated: "yes" });
    gated.metadata.labels = { ...validatedLabel };
    const free = configMap(ns, "free", { validated: "no" });

    // The defect is real here: while the webhook does not serve, the apiserver rejects what it
    // validates (a dry run, so nothing is stored). Polls until the apiserver knows the webhook.
    const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
    let rejection = "";
    await until("the apiserver to call the new webhook", 20_000, async () => {
      try {
        await kube.request("POST", cmPath, {
          query: { dryRun: "All", fieldManager: "e2e" },
          body: { ...gated, metadata: { ...gated.metadata, name: "probe" } },
        });
        return false;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        rejection = error.message;
        // Rejected by our server's 503 (not by, say, a Service the apiserver does not know yet).
        return wh.calls.some((c) => c.name === "probe");
      }
    });
    expect(rejection).toMatch(new RegExp(`failed calling webhook "${webhookName.replaceAll(".", "\\.")}"`));
    expect(wh.calls.some((c) => c.name === "probe" && c.dryRun && !c.allowed)).toBe(true);

    // The engine, through a proxy that records every write it sends.
    const planPath = writePlan(join(dir, "plan"), [{ name: "app", charts: { cfg: [gated, free] } }]);
    proxy = await startCountingProxy(kubeconfig!, join(dir, "proxy.kubeconfig"));
    const ekube = connectKube(proxy.kubeconfig);
    const events: Array<{ at: number; event: DeployEvent }> = [];
    const abort = new AbortController();
    const t0 = Date.now();
    const deploying = deployFiles({
      kube: ekube,
      planPath,
      stateDir: join(dir, "state"),
      signal: abort.signal,
      sink: (event) => events.push({ at: Date.now(), event }),
    });
    let settled: string | undefined;
    deploying.then(
      (r) => {
        const changes = r.changes.map((c) => `${c.object} ${c.action}${c.message ? ` (${c.message})` : ""}`);
        settled = `${r.result}: ${changes.join("; ")}`;
      },
      (error: unknown) => {
        settled = `threw ${error instanceof Error ? error.message : String(error)}`;
      },
    );
    try {
      const waitDetail = `waiting for admission webhook ${webhookName} (service ${ns}/webhook) to serve`;
      const waitEvent = () =>
        events.find((e) => e.event.type === "group" && e.event.group === "app" && e.event.detail === waitDetail);
      const writes = () => proxy!.counts.writePaths;
      const patchesOf = (name: string, list: string[]) =>
        list.filter((w) => w.startsWith(`PATCH ${cmPath}/${name}?`) && !w.includes("dryRun"));
      const getCm = (name: string) => kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });

      // The engine says what it waits for, and applies the unmatched object meanwhile.
      let freeLive = false;
      await until(
        () =>
          `the engine to wait for the webhook (seen: ${!!waitEvent()}) and apply the free ConfigMap meanwhile ` +
          `(sent: ${patchesOf("free", writes()).length > 0}, stored: ${freeLive}); writes: ${writes().join(", ")}`,
        15_000,
        async () => {
          if (settled) throw new Error(`the deploy ended before the webhook's endpoint was ready: ${settled}`);
          freeLive = !!(await getCm("free"));
          return !!waitEvent() && patchesOf("free", writes()).length > 0 && freeLive;
        },
      );
      // Hold the endpoint not ready a while longer: nothing may reach the gated object.
      await new Promise((r) => setTimeout(r, 2000));

      const writesBeforeReady = [...writes()];
      expect(patchesOf("free", writesBeforeReady)).toHaveLength(1);
      expect(patchesOf("gated", writesBeforeReady)).toEqual([]);
      expect(await getCm("gated")).toBeNull();
      expect(wh.calls.filter((c) => c.name === "gated")).toEqual([]);
      expect(events.some((e) => e.event.type === "group" && e.event.phase === "ready")).toBe(false);

      // The controller is ready: the server allows, then its endpoint turns ready.
      wh.state.serving = true;
      const readyAt = Date.now();
      await kube.request("PATCH", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/webhook-1`, {
        body: { endpoints: [{ addresses: ["10.244.7.7"], conditions: { ready: true } }] },
        contentType: "application/merge-patch+json",
      });

      const report = await deploying;
      const elapsed = Date.now() - t0;
      expect(report.result).toBe("ok");
      expect(report.exitCode).toBe(0);
      const actions = Object.fromEntries(report.changes.map((c) => [c.object, c.action]));
      expect(actions[`ConfigMap/${ns}/gated`]).toBe("created");
      expect(actions[`ConfigMap/${ns}/free`]).toBe("created");

      // The gated object was applied once, after the endpoint was ready, and the webhook allowed it.
      expect(patchesOf("gated", writes())).toHaveLength(1);
      expect(writes().indexOf(patchesOf("gated", writes())[0]!)).toBeGreaterThanOrEqual(writesBeforeReady.length);
      const gatedCalls = wh.calls.filter((c) => c.name === "gated");
      expect(gatedCalls).toHaveLength(1);
      expect(gatedCalls[0]).toMatchObject({ operation: "CREATE", dryRun: false, allowed: true });
      expect(gatedCalls[0]!.at).toBeGreaterThanOrEqual(readyAt);
      // creationTimestamp has whole seconds.
      const liveGated = await getCm("gated");
      expect(Date.parse(liveGated!.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(
        Math.floor(readyAt / 1000) * 1000,
      );
      expect(liveGated!.data).toEqual({ validated: "yes" });
      // Timeline: waited before the endpoint was ready, ready only after it.
      expect(waitEvent()!.at).toBeLessThan(readyAt);
      const readyEvent = events.find(
        (e) => e.event.type === "group" && e.event.group === "app" && e.event.phase === "ready",
      );
      expect(readyEvent!.at).toBeGreaterThanOrEqual(readyAt);
      expect(elapsed).toBeLessThan(30_000);
    } finally {
      if (!settled) abort.abort();
      await deploying.catch(() => {});
      ekube.close();
    }
  }, 60_000);
});
