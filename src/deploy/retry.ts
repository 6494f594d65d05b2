/**
 * Which API errors are worth another attempt, and the one retry loop every request of
 * the engine goes through. Two budgets:
 *  - the API being unreachable or overloaded (network errors, 429, 502-504) is retried
 *    with backoff until the API has been failing for `outageMs` (--api-timeout), each
 *    retry reported with its reason;
 *  - errors about this request (409 Conflict, 500 from a webhook that is starting) get
 *    the group's retry policy (attempts, exponential backoff, no sleep after the last).
 * TLS, DNS, authentication and invalid objects fail at once.
 */
import type { RetryPolicy } from "../plan/schema.ts";
import { ApiError } from "./client.ts";
import type { Clock } from "./clock.ts";

/** How an error is retried: within the outage budget, by the policy, or not. */
export type ErrorClass = "transient" | "retriable" | "final";

const permanentNetwork =
  /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|EPROTO|ENOTFOUND|ERR_INVALID_URL|ABORT_ERR)/;

/** How an error should be retried: the API (transient), the request (retriable), or not at all. */
export function classifyError(error: unknown): ErrorClass {
  if (!(error instanceof ApiError)) return "final";
  if (error.status === 0) return error.code && permanentNetwork.test(error.code) ? "final" : "transient";
  if (error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504) return "transient";
  if (error.status === 409 && error.reason === "Conflict") return "retriable";
  // A webhook that is not serving yet answers through the apiserver as 500; any other
  // status (400, 401, 403, 404, 422 Invalid) is about the object or our credentials and final.
  if (error.status === 500) return "retriable";
  return "final";
}

/** True for errors worth another attempt (see classifyError). */
export function isRetriable(error: unknown): boolean {
  return classifyError(error) !== "final";
}

/** The message of an error, with the server's field causes; never a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const causes = error.causes
      .map((c) => [c.field, c.message].filter(Boolean).join(": "))
      .filter((c) => c && !error.message.includes(c));
    return [error.message, ...causes].join("; ");
  }
  return error instanceof Error ? error.message : String(error);
}

/** The budgets of a retried request and where retries are reported. */
export interface RetryContext {
  retry: RetryPolicy;
  clock: Clock;
  /** How long the API may be unreachable or overloaded before a request gives up. */
  outageMs: number;
  signal?: AbortSignal;
  /** Called before each wait with the reason and the delay: a retry is never silent. */
  onRetry?: (reason: string, delayMs: number) => void;
}

/** Runs fn, retrying as classifyError says; rethrows the last error (with the time spent, for outages). */
export async function withRetry<T>(ctx: RetryContext, fn: () => Promise<T>): Promise<T> {
  let attempts = 1;
  let delayMs = ctx.retry.delaySeconds * 1000;
  let outageStart: number | undefined;
  let outageDelayMs = 250;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      const kind = classifyError(error);
      if (kind === "final" || ctx.signal?.aborted) throw error;
      const retryAfterMs = error instanceof ApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
      let waitMs: number;
      if (kind === "transient") {
        outageStart ??= ctx.clock.now();
        const leftMs = outageStart + ctx.outageMs - ctx.clock.now();
        if (leftMs <= 0) throw gaveUp(error as ApiError, ctx.outageMs);
        waitMs = Math.min(Math.max(outageDelayMs, retryAfterMs), leftMs);
        outageDelayMs = Math.min(outageDelayMs * 2, 5000);
      } else {
        if (attempts >= Math.max(1, ctx.retry.attempts)) throw error;
        attempts++;
        waitMs = Math.max(delayMs, retryAfterMs);
        delayMs = Math.min(delayMs * 2, Math.max(ctx.retry.maxDelaySeconds, ctx.retry.delaySeconds) * 1000);
      }
      ctx.onRetry?.(errorMessage(error), waitMs);
      await ctx.clock.sleep(waitMs, ctx.signal);
    }
  }
}

function gaveUp(error: ApiError, outageMs: number): ApiError {
  return new ApiError(
    `${error.message}; gave up after ${Math.round(outageMs / 1000)} s (--api-timeout)`,
    error.status,
    error.reason,
    {
      ...(error.code ? { code: error.code } : {}),
      causes: error.causes,
      ...(error.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    },
  );
}
