/** Reading HTTP answers and watch streams; socket failures become ApiErrors with messages a person can act on. */
import type http from "node:http";
import { isRecord } from "../guards.ts";
import { ApiError, type WatchEvent } from "./client.ts";

const networkWords: Record<string, string> = {
  ECONNREFUSED: "connection refused (is the API server running?)",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed",
  ETIMEDOUT: "no answer in time",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EAI_AGAIN: "host name lookup failed (temporarily)",
  ENOTFOUND: "host name not found",
};

/** "cannot reach https://…: connection refused (ECONNREFUSED)"; TLS problems say so. */
export function describeNetworkError(err: Error & { code?: string }, server: string): string {
  const code = err.code;
  const tls = code && /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|EPROTO)/.test(code);
  const what = tls ? `TLS failed: ${err.message}` : (code && networkWords[code]) || err.message;
  return `cannot reach ${server}: ${what}${code ? ` (${code})` : ""}`;
}

/**
 * Reads an answer's body: the parsed JSON (or text) for 2xx; an ApiError carrying the
 * server's Status message and reason otherwise. A body that stalls for `idleMs` is
 * abandoned with a network error (ETIMEDOUT).
 */
export async function readStatus(res: http.IncomingMessage, server: string, idleMs: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const error = new Error("the answer stalled") as Error & { code: string };
      error.code = "ETIMEDOUT";
      res.destroy(error);
    }, idleMs);
  };
  try {
    arm();
    for await (const chunk of res) {
      chunks.push(chunk as Buffer);
      arm();
    }
  } catch (error) {
    const err = error as Error & { code?: string };
    throw new ApiError(describeNetworkError(err, server), 0, "Network", err.code ? { code: err.code } : {});
  } finally {
    clearTimeout(timer);
  }
  if (!res.complete) {
    throw new ApiError(
      describeNetworkError(Object.assign(new Error("answer cut off"), { code: "ECONNRESET" }), server),
      0,
      "Network",
      {
        code: "ECONNRESET",
      },
    );
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const status = res.statusCode ?? 0;
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    if (status >= 200 && status < 300) {
      throw new ApiError(`${server} answered with something that is not JSON`, 0, "Network", { code: "EBADANSWER" });
    }
  }
  if (status >= 200 && status < 300) return body;
  const st = (isRecord(body) ? body : {}) as {
    message?: string;
    reason?: string;
    details?: { causes?: Array<{ field?: string; message?: string }>; retryAfterSeconds?: number };
  };
  const retryAfter = Number(res.headers["retry-after"]) || st.details?.retryAfterSeconds;
  const message = st.message ?? (typeof body === "string" && body ? body.slice(0, 300) : `HTTP ${status}`);
  throw new ApiError(message, status, st.reason ?? `HTTP${status}`, {
    causes: st.details?.causes ?? [],
    ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}),
  });
}

/** Reads a watch stream line by line until the end, an abort, or onEvent asks to stop. */
export function streamEvents(
  res: http.IncomingMessage,
  onEvent: (event: WatchEvent) => boolean,
  signal: AbortSignal,
  server: string,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
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
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          return finish(false); // a cut-off line: the caller lists again
        }
        if (event.type === "ERROR") return finish(false);
        if (event.type !== "BOOKMARK" && onEvent(event)) finish(true);
      }
    });
    res.on("end", () => finish(false));
    res.on("error", (err: Error & { code?: string }) => {
      if (done || signal.aborted) return finish(false);
      done = true;
      reject(
        new ApiError(describeNetworkError(err, server), 0, "Network", { ...(err.code ? { code: err.code } : {}) }),
      );
    });
    res.on("close", () => finish(false));
  });
}
