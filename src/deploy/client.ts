/**
 * What the engine needs of the Kubernetes API, as an interface: the engine, diff and
 * status take a KubeClient, so their logic runs against the real apiserver (HttpKube)
 * or a test double alike. Every method throws ApiError for an answer it cannot use.
 */
import type { KObject, ObjectRef } from "./objects.ts";

/** An API request that failed: the server's Status, or a network failure (status 0). */
export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer (refused, reset, timed out, TLS). */
  readonly status: number;
  /** The Status reason (NotFound, Conflict, Invalid, …), "Network", or "NoKindMatch". */
  readonly reason: string;
  /** The network error code (ECONNREFUSED, ECONNRESET, ETIMEDOUT, CERT_…), when status is 0. */
  readonly code: string | undefined;
  readonly causes: ReadonlyArray<{ field?: string; message?: string }>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    status: number,
    reason: string,
    extra: {
      code?: string;
      causes?: ReadonlyArray<{ field?: string; message?: string }>;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
    this.code = extra.code;
    this.causes = extra.causes ?? [];
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** A kind as discovery reports it. */
export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/** One line of a watch stream. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KObject;
}

/** What a command run in a container printed, and its exit code (1 when unknown). */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Requests sent so far: reads (GET), writes (everything else that changes state) and dry runs. */
export interface RequestCounts {
  reads: number;
  writes: number;
  /** Server-side dry-run applies: they change nothing and are not counted as writes. */
  dryRuns: number;
}

/** Narrowing a list: a namespace (else all), label and field selectors. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Where a watch starts and what it selects; the client may shorten timeoutSeconds. */
export interface WatchQuery {
  resourceVersion?: string;
  fieldSelector?: string;
  labelSelector?: string;
  timeoutSeconds?: number;
}

/** The API operations the engine, diff and status use. */
export interface KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly counts: RequestCounts;
  /** GET /version: the cheapest proof the API answers. */
  version(options?: { timeoutMs?: number }): Promise<{ gitVersion?: string }>;
  /** Discovery of one kind; null when the server does not serve it (yet). */
  resource(apiVersion: string, kind: string, refresh?: boolean): Promise<ResourceInfo | null>;
  /** One object; null when it does not exist. */
  get(ref: ObjectRef): Promise<KObject | null>;
  /** Every object of a kind (all namespaces unless `namespace`); items carry apiVersion and kind. */
  list(apiVersion: string, kind: string, options?: ListOptions): Promise<{ items: KObject[]; resourceVersion: string }>;
  /** Server-side apply (field manager nixlab unless `manager`, conflicts forced). */
  apply(obj: KObject, options?: { dryRun?: boolean; manager?: string }): Promise<KObject>;
  /** POST; fails with 409 AlreadyExists when the object exists. */
  create(obj: KObject, options?: { manager?: string }): Promise<KObject>;
  /** DELETE; false when it was already gone. */
  delete(ref: ObjectRef, options?: { propagationPolicy?: string; uid?: string }): Promise<boolean>;
  /**
   * Streams events until the server ends the watch, the signal aborts, or onEvent returns
   * true; resolves true only in the last case. A network failure rejects with ApiError.
   */
  watch(
    target: { apiVersion: string; kind: string; namespace?: string },
    query: WatchQuery,
    onEvent: (event: WatchEvent) => boolean,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Runs argv in a container through the API's exec (no shell), with a time limit. */
  exec(namespace: string, pod: string, container: string, argv: string[], timeoutMs?: number): Promise<ExecResult>;
  close(): void;
}
