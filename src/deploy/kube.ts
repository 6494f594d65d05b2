/**
 * The engine's connection to the apiserver. @kubernetes/client-node loads the kubeconfig
 * and supplies credentials (certificates, tokens, exec plugins) and the exec protocol;
 * requests go through one keep-alive agent so a no-op deploy costs a handful of
 * round trips. Apply is server-side apply (field manager `nixlab`), never kubectl.
 */
import http from "node:http";
import https from "node:https";
import { PassThrough } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeClient } from "./kube-client.ts";
import { fieldManager, groupOf, type KObject, type ObjectRef, refKey } from "./objects.ts";

export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer (connection refused, reset, timeout). */
  readonly status: number;
  /** The Status reason (NotFound, Conflict, Invalid, …) or "Network". */
  readonly reason: string;
  readonly causes: ReadonlyArray<{ field?: string; message?: string }>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    status: number,
    reason: string,
    causes: ReadonlyArray<{ field?: string; message?: string }> = [],
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.causes = causes;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KObject;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface KubeConnectOptions {
  kubeconfig?: string;
  context?: string;
}

/** Counts of requests sent, by kind; writes are every non-read verb, dry runs included. */
export interface RequestCounts {
  reads: number;
  writes: number;
}

export class Kube {
  readonly server: string;
  readonly counts: RequestCounts = { reads: 0, writes: 0 };
  private readonly kc: KubeConfig;
  private readonly agent: http.Agent;
  private readonly tls: Pick<https.RequestOptions, "ca" | "cert" | "key" | "rejectUnauthorized" | "servername">;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo> | null>>();

  private constructor(kc: KubeConfig, server: string, agent: http.Agent, tls: Kube["tls"]) {
    this.kc = kc;
    this.server = server.replace(/\/+$/, "");
    this.agent = agent;
    this.tls = tls;
  }

  static async connect(options: KubeConnectOptions = {}): Promise<Kube> {
    const { KubeConfig } = await loadKubeClient();
    const kc = new KubeConfig();
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    if (options.context) kc.setCurrentContext(options.context);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls: Kube["tls"] = {};
    if (opts.ca) tls.ca = opts.ca;
    if (opts.cert) tls.cert = opts.cert;
    if (opts.key) tls.key = opts.key;
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    if (cluster.tlsServerName) tls.servername = cluster.tlsServerName;
    const agentOptions = { keepAlive: true, maxSockets: 32 };
    const agent = cluster.server.startsWith("https:")
      ? new https.Agent({ ...agentOptions, ...tls })
      : new http.Agent(agentOptions);
    return new Kube(kc, cluster.server, agent, tls);
  }

  close(): void {
    this.agent.destroy();
  }

  /** One API request; non-2xx answers become ApiError with the server's message. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    return (await readBody(res)) as T;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    if (method === "GET") this.counts.reads++;
    else this.counts.writes++;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: "application/json" };
    // Tokens from exec plugins expire; ask client-node for the current headers each time.
    const auth: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(auth);
    for (const [k, v] of Object.entries(auth.headers ?? {})) if (typeof v === "string") headers[k] = v;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const mod = url.protocol === "https:" ? https : http;
    return await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(
        url,
        { method, headers, agent: this.agent, ...this.tls, ...(auth.auth ? { auth: auth.auth } : {}) },
        resolve,
      );
      const fail = (err: Error) => reject(networkError(err, method, path));
      req.on("error", fail);
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error("request timed out")));
      if (options.signal) {
        if (options.signal.aborted) req.destroy(new Error("aborted"));
        options.signal.addEventListener("abort", () => req.destroy(new Error("aborted")), { once: true });
      }
      req.end(payload);
    });
  }

  /** Discovery of one kind: plural name and scope; null when the server does not serve it (yet). */
  async resource(apiVersion: string, kind: string, refresh = false): Promise<ResourceInfo | null> {
    if (refresh) this.discovery.delete(apiVersion);
    let entry = this.discovery.get(apiVersion);
    if (!entry) {
      entry = this.discover(apiVersion);
      this.discovery.set(apiVersion, entry);
    }
    let found = (await entry)?.get(kind) ?? null;
    if (!found && !refresh) found = await this.resource(apiVersion, kind, true);
    return found;
  }

  private async discover(apiVersion: string): Promise<Map<string, ResourceInfo> | null> {
    const path = groupOf(apiVersion) === "" ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
    try {
      const list = await this.request<{ resources: Array<{ name: string; kind: string; namespaced: boolean }> }>(
        "GET",
        path,
      );
      const out = new Map<string, ResourceInfo>();
      for (const r of list.resources)
        if (!r.name.includes("/")) out.set(r.kind, { plural: r.name, namespaced: r.namespaced });
      return out;
    } catch (error) {
      this.discovery.delete(apiVersion);
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** The REST path of a kind (collection) or of one object. */
  async pathOf(ref: { apiVersion: string; kind: string; name?: string; namespace?: string }): Promise<string> {
    const info = await this.resource(ref.apiVersion, ref.kind);
    if (!info) {
      throw new ApiError(`the server does not serve ${ref.kind} in ${ref.apiVersion}`, 404, "NoKindMatch");
    }
    const base = groupOf(ref.apiVersion) === "" ? `/api/${ref.apiVersion}` : `/apis/${ref.apiVersion}`;
    const ns = info.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : "";
    const name = ref.name ? `/${encodeURIComponent(ref.name)}` : "";
    return `${base}${ns}/${info.plural}${name}`;
  }

  async get(ref: ObjectRef): Promise<KObject | null> {
    try {
      return await this.request<KObject>("GET", await this.pathOf(ref));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** Server-side apply of one object (field manager nixlab, conflicts forced: we own what we render). */
  async apply(obj: KObject, options: { dryRun?: boolean; manager?: string } = {}): Promise<KObject> {
    return await this.request<KObject>("PATCH", await this.pathOf(refOfObject(obj)), {
      query: {
        fieldManager: options.manager ?? fieldManager,
        force: true,
        fieldValidation: "Strict",
        dryRun: options.dryRun ? "All" : undefined,
      },
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
  }

  /** Creates one object (POST); fails with 409 AlreadyExists when it exists. */
  async create(obj: KObject, options: { manager?: string } = {}): Promise<KObject> {
    const path = await this.pathOf({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    });
    return await this.request<KObject>("POST", path, {
      query: { fieldManager: options.manager ?? fieldManager },
      body: obj,
    });
  }

  /** Deletes one object; false when it was already gone. */
  async delete(ref: ObjectRef, options: { propagationPolicy?: string; uid?: string } = {}): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.uid) body.preconditions = { uid: options.uid };
    try {
      await this.request("DELETE", await this.pathOf(ref), { body });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return false;
      throw error;
    }
  }

  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<{ items: KObject[]; resourceVersion: string }> {
    const path = await this.pathOf({
      apiVersion,
      kind,
      ...(options.namespace ? { namespace: options.namespace } : {}),
    });
    const list = await this.request<{ items: KObject[]; metadata: { resourceVersion: string } }>("GET", path, {
      query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
    });
    for (const item of list.items) {
      item.apiVersion = apiVersion;
      item.kind = kind;
    }
    return { items: list.items, resourceVersion: list.metadata.resourceVersion };
  }

  /**
   * Streams watch events until the server ends the watch, the signal aborts, or onEvent
   * returns true. Resolves true when onEvent asked to stop.
   */
  async watch(
    target: { apiVersion: string; kind: string; namespace?: string },
    query: { resourceVersion?: string; fieldSelector?: string; labelSelector?: string; timeoutSeconds?: number },
    onEvent: (event: WatchEvent) => boolean,
    signal?: AbortSignal,
  ): Promise<boolean> {
    // Always the collection: the name is narrowed by fieldSelector (a named path is a plain GET).
    const path = await this.pathOf({
      apiVersion: target.apiVersion,
      kind: target.kind,
      ...(target.namespace ? { namespace: target.namespace } : {}),
    });
    const res = await this.send("GET", path, {
      query: { watch: 1, allowWatchBookmarks: true, ...query },
      ...(signal ? { signal } : {}),
    });
    if ((res.statusCode ?? 0) >= 300) {
      await readBody(res);
      return false;
    }
    return await new Promise<boolean>((resolve, reject) => {
      let buffer = "";
      let done = false;
      const finish = (value: boolean) => {
        if (done) return;
        done = true;
        res.destroy();
        resolve(value);
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0 && !done; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === "ERROR") {
            finish(false);
            return;
          }
          if (event.type !== "BOOKMARK" && onEvent(event)) finish(true);
        }
      });
      res.on("end", () => finish(false));
      res.on("error", (err) => (signal?.aborted ? finish(false) : done || reject(networkError(err, "GET", path))));
      res.on("close", () => finish(false));
    });
  }

  /** Runs a command in a container through the API's exec (no shell, argv only). */
  async exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    timeoutMs = 120_000,
  ): Promise<ExecResult> {
    const { Exec } = await loadKubeClient();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on("data", (c: Buffer) => out.push(c));
    stderr.on("data", (c: Buffer) => err.push(c));
    this.counts.writes++;
    return await new Promise<ExecResult>((resolve, reject) => {
      let exitCode: number | undefined;
      new Exec(this.kc)
        .exec(namespace, pod, container, command, stdout, stderr, null, false, (status) => {
          if (status.status === "Success") exitCode = 0;
          else {
            const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
            exitCode = cause?.message ? Number(cause.message) : 1;
            if (!cause) err.push(Buffer.from(status.message ?? "exec failed"));
          }
        })
        .then((ws) => {
          // A hung command must not hang the deploy (the original's exec had no limit).
          const timer = setTimeout(() => {
            err.push(Buffer.from(`timed out after ${Math.round(timeoutMs / 1000)} s`));
            ws.close();
          }, timeoutMs);
          ws.on("close", () => clearTimeout(timer));
          ws.on("close", () =>
            resolve({
              stdout: Buffer.concat(out).toString("utf8"),
              stderr: Buffer.concat(err).toString("utf8"),
              exitCode: exitCode ?? 1,
            }),
          );
          ws.on("error", (e: Error) => reject(e));
        }, reject);
    });
  }
}

function refOfObject(obj: KObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

function networkError(err: Error & { code?: string }, method: string, path: string): ApiError {
  return new ApiError(`${method} ${path}: ${err.code ?? err.message}`, 0, "Network");
}

async function readBody(res: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const status = res.statusCode ?? 0;
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON bodies (proxies, plain-text errors) are kept as text.
  }
  if (status >= 200 && status < 300) return body;
  const st = (typeof body === "object" && body !== null ? body : {}) as {
    message?: string;
    reason?: string;
    details?: { causes?: Array<{ field?: string; message?: string }>; retryAfterSeconds?: number };
  };
  const retryAfter = Number(res.headers["retry-after"]) || st.details?.retryAfterSeconds;
  const message = st.message ?? (typeof body === "string" && body ? body.slice(0, 300) : `HTTP ${status}`);
  return Promise.reject(
    new ApiError(message, status, st.reason ?? `HTTP${status}`, st.details?.causes ?? [], retryAfter || undefined),
  );
}

export function describeRef(ref: ObjectRef): string {
  return refKey(ref);
}
