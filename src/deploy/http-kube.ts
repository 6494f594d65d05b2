/**
 * The KubeClient over HTTPS: plain node:http requests through one keep-alive agent, so
 * a no-op deploy costs a handful of round trips and no heavy client library is loaded.
 * Every request has a time limit (a stalled connection is a network error, retried
 * like one); watches end after their window and are re-listed by the caller.
 * @kubernetes/client-node is loaded only for exec (hooks) and exec/auth-provider
 * credential plugins.
 */
import http from "node:http";
import https from "node:https";
import { readFile } from "node:fs/promises";
import {
  ApiError,
  type ExecResult,
  type KubeClient,
  type ListOptions,
  type RequestCounts,
  type ResourceInfo,
  type WatchEvent,
  type WatchQuery,
} from "./client.ts";
import type { KubeConnection } from "./kubeconfig.ts";
import { fieldManager, groupOf, type KObject, type ObjectRef, refOf } from "./objects.ts";
import { describeNetworkError, readStatus, streamEvents } from "./http-io.ts";
import { execInPod, pluginHeaders } from "./plugins.ts";

/** One request's query, body and limits. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Overrides the client's request timeout (ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Time limits of the client. */
export interface HttpKubeOptions {
  /** Longest a request may go without an answer (default 30 s). */
  requestTimeoutMs?: number;
  /** Longest single watch (default 60 s); the caller lists and watches again after it. */
  watchWindowSeconds?: number;
}

/** The KubeClient over HTTPS (see the module comment); also `request` and `pathOf` for raw calls. */
export class HttpKube implements KubeClient {
  readonly server: string;
  readonly counts: RequestCounts = { reads: 0, writes: 0, dryRuns: 0 };
  private readonly connection: KubeConnection;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;
  private readonly watchWindowSeconds: number;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo> | null>>();

  constructor(connection: KubeConnection, options: HttpKubeOptions = {}) {
    this.connection = connection;
    this.server = connection.server;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.watchWindowSeconds = options.watchWindowSeconds ?? 60;
    const agentOptions = { keepAlive: true, maxSockets: 32 };
    this.agent = this.server.startsWith("https:")
      ? new https.Agent({ ...agentOptions, ...connection.tls })
      : new http.Agent(agentOptions);
  }

  close(): void {
    this.agent.destroy();
  }

  /** One API request; a non-2xx answer becomes ApiError with the server's message. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    return (await readStatus(res, this.server, options.timeoutMs ?? this.requestTimeoutMs)) as T;
  }

  private async headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const { auth } = this.connection;
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    // A token file is re-read on every request: it is rotated underneath us (service accounts).
    if (auth.tokenFile) headers.Authorization = `Bearer ${(await readFile(auth.tokenFile, "utf8")).trim()}`;
    if (auth.basic) headers.Authorization = `Basic ${auth.basic}`;
    if (auth.plugin) Object.assign(headers, await pluginHeaders(this.connection));
    return headers;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    if (method === "GET") this.counts.reads++;
    else if (options.query?.dryRun) this.counts.dryRuns++;
    else this.counts.writes++;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers = await this.headers();
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const mod = url.protocol === "https:" ? https : http;
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    return await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, ...this.connection.tls }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      // Until the answer's headers arrive; a body or watch stream that stalls later is the reader's concern.
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`) as Error & { code: string };
        error.code = "ETIMEDOUT";
        req.destroy(error);
      }, timeoutMs);
      req.on("error", (err: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(
          new ApiError(describeNetworkError(err, this.server), 0, "Network", {
            ...(err.code ? { code: err.code } : {}),
          }),
        );
      });
      if (options.signal) {
        if (options.signal.aborted) req.destroy(abortError());
        options.signal.addEventListener("abort", () => req.destroy(abortError()), { once: true });
      }
      req.end(payload);
    });
  }

  async version(options: { timeoutMs?: number } = {}): Promise<{ gitVersion?: string }> {
    return await this.request("GET", "/version", options.timeoutMs ? { timeoutMs: options.timeoutMs } : {});
  }

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

  /** The REST path of a kind (collection) or of one object; ApiError NoKindMatch when not served. */
  async pathOf(ref: { apiVersion: string; kind: string; name?: string; namespace?: string }): Promise<string> {
    const info = await this.resource(ref.apiVersion, ref.kind);
    if (!info) throw new ApiError(`the server does not serve ${ref.kind} in ${ref.apiVersion}`, 404, "NoKindMatch");
    const base = groupOf(ref.apiVersion) === "" ? `/api/${ref.apiVersion}` : `/apis/${ref.apiVersion}`;
    const ns = info.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : "";
    const name = ref.name ? `/${encodeURIComponent(ref.name)}` : "";
    return `${base}${ns}/${info.plural}${name}`;
  }

  async get(ref: ObjectRef): Promise<KObject | null> {
    try {
      return await this.request<KObject>("GET", await this.pathOf(ref));
    } catch (error) {
      // NoKindMatch too: an object of a kind the server does not serve does not exist.
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  async apply(obj: KObject, options: { dryRun?: boolean; manager?: string } = {}): Promise<KObject> {
    return await this.request<KObject>("PATCH", await this.pathOf(refOf(obj)), {
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

  async create(obj: KObject, options: { manager?: string } = {}): Promise<KObject> {
    const { namespace } = obj.metadata;
    const path = await this.pathOf({ apiVersion: obj.apiVersion, kind: obj.kind, ...(namespace ? { namespace } : {}) });
    return await this.request<KObject>("POST", path, {
      query: { fieldManager: options.manager ?? fieldManager },
      body: obj,
    });
  }

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
    options: ListOptions = {},
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

  async watch(
    target: { apiVersion: string; kind: string; namespace?: string },
    query: WatchQuery,
    onEvent: (event: WatchEvent) => boolean,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const { namespace } = target;
    const path = await this.pathOf({
      apiVersion: target.apiVersion,
      kind: target.kind,
      ...(namespace ? { namespace } : {}),
    });
    const window = Math.max(1, Math.min(query.timeoutSeconds ?? this.watchWindowSeconds, this.watchWindowSeconds));
    // The server ends the watch after `window`; a connection that went silent is cut a little later.
    const abort = new AbortController();
    const cut = setTimeout(() => abort.abort(), (window + 5) * 1000);
    const onOuter = () => abort.abort();
    signal?.addEventListener("abort", onOuter, { once: true });
    try {
      const res = await this.send("GET", path, {
        query: { watch: 1, allowWatchBookmarks: true, ...query, timeoutSeconds: window },
        signal: abort.signal,
      });
      if ((res.statusCode ?? 0) >= 300) {
        await readStatus(res, this.server, this.requestTimeoutMs).catch(() => undefined);
        return false;
      }
      return await streamEvents(res, onEvent, abort.signal, this.server);
    } catch (error) {
      // Our own cut or the caller's abort ends the watch quietly; the caller lists again.
      if (abort.signal.aborted) return false;
      throw error;
    } finally {
      clearTimeout(cut);
      signal?.removeEventListener("abort", onOuter);
    }
  }

  async exec(
    namespace: string,
    pod: string,
    container: string,
    argv: string[],
    timeoutMs = 120_000,
  ): Promise<ExecResult> {
    this.counts.writes++;
    return await execInPod(this.connection, { namespace, pod, container, argv, timeoutMs });
  }
}

function abortError(): Error {
  const error = new Error("aborted") as Error & { code: string };
  error.code = "ABORT_ERR";
  return error;
}
