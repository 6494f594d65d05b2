/** Time for the engine, injected so group logic can be tested without waiting. */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Resolves after `ms` of real time, or as soon as `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now(), sleep };

/** An AbortSignal that aborts after `ms` or when `outer` aborts; call `clear` when done with it. */
export function deadlineSignal(ms: number, outer?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, ms));
  const onOuter = () => abort.abort();
  if (outer?.aborted) abort.abort();
  outer?.addEventListener("abort", onOuter, { once: true });
  return {
    signal: abort.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    },
  };
}
