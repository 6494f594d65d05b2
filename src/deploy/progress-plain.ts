/**
 * Progress as log lines (systemd/journald, pipes, --log-format plain): one line per
 * change, prefixed with the elapsed time. Every object waited for is logged with its
 * reason when the reason changes (at most every 5 s per object) and again at least every
 * `repeatMs` (30 s) while it waits, so a long wait is never silent. Events carry names
 * and server messages already redacted: no secret value reaches the log.
 */
import type { DeployEvent } from "./events.ts";
import { formatEntry, formatHook, secs } from "./summary.ts";

/** A consumer of deploy events that prints them. */
export interface ProgressSink {
  onEvent(event: DeployEvent): void;
  /** Stops timers; idempotent. */
  stop(): void;
}

interface PendingWait {
  group: string;
  object: string;
  reason: string;
  loggedAt: number;
  dirty: boolean;
}

/** How often a pending wait is logged (tests shorten it). */
export interface PlainOptions {
  /** Longest silence for a pending wait (default 30 s). */
  repeatMs?: number;
  /** Shortest interval between two lines about one object (default 5 s). */
  throttleMs?: number;
  now?: () => number;
}

/** Log-line progress on `out`; see the module comment. */
export function plainProgress(out: NodeJS.WritableStream, options: PlainOptions = {}): ProgressSink {
  const now = options.now ?? Date.now;
  const start = now();
  const repeatMs = options.repeatMs ?? 30_000;
  const throttleMs = Math.min(options.throttleMs ?? 5000, repeatMs);
  const waits = new Map<string, PendingWait>();
  const lastGroupLine = new Map<string, string>();
  const line = (s: string) => out.write(`[${secs(now() - start).padStart(7)}] ${s}\n`);
  const logWait = (w: PendingWait, again: boolean) => {
    line(`group ${w.group} ${again ? "still waiting" : "waiting"} for ${w.object}: ${w.reason}`);
    w.loggedAt = now();
    w.dirty = false;
  };
  const timer = setInterval(
    () => {
      for (const w of waits.values()) {
        const quiet = now() - w.loggedAt;
        if ((w.dirty && quiet >= throttleMs) || quiet >= repeatMs) logWait(w, !w.dirty);
      }
    },
    Math.max(100, Math.min(throttleMs, 1000)),
  );
  timer.unref();
  return {
    onEvent(event) {
      switch (event.type) {
        case "phase":
          return line(event.message);
        case "retry":
          return line(`${event.reason}; retrying in ${secs(event.delayMs)}`);
        case "group": {
          const text = `group ${event.group} ${event.phase}${event.detail ? `: ${event.detail}` : ""}`;
          if (lastGroupLine.get(event.group) === text) return;
          lastGroupLine.set(event.group, text);
          return line(text);
        }
        case "wait": {
          const key = `${event.group}\0${event.object}`;
          const w = waits.get(key);
          if (!w) return logWait(waits.set(key, { ...event, loggedAt: 0, dirty: true }).get(key)!, false);
          w.reason = event.reason;
          w.dirty = true;
          if (now() - w.loggedAt >= throttleMs) logWait(w, false);
          return;
        }
        case "waited":
          waits.delete(`${event.group}\0${event.object}`);
          return line(`group ${event.group}: ${event.object} ${event.ready ? "ready" : event.reason}`);
        case "object":
          if (event.entry.action !== "unchanged") line(formatEntry(event.entry, false));
          return;
        case "hook":
          return line(formatHook(event.result, false));
      }
    },
    stop() {
      clearInterval(timer);
    },
  };
}
