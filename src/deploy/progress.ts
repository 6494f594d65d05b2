/**
 * Live progress of a deploy. On a terminal: one line per group with a spinner, the
 * elapsed time and what it waits for, redrawn in place. Otherwise (systemd, pipes,
 * --log-format plain): one plain line per change, throttled for waits. Neither ever
 * sees a secret value: events carry names and server messages already redacted.
 */
import pc from "picocolors";
import type { ChangeEntry } from "./changeset.ts";
import type { DeployEvent, DeployReport, GroupPhase } from "./engine.ts";
import type { HookResult } from "./hooks.ts";

export interface ProgressSink {
  onEvent(event: DeployEvent): void;
  stop(): void;
}

interface Row {
  phase: GroupPhase;
  detail: string;
  started: number;
  ended?: number;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const activePhases = new Set<GroupPhase>(["checking", "applying", "waiting"]);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function phaseLabel(phase: GroupPhase): string {
  switch (phase) {
    case "ready":
      return pc.green("ready");
    case "unchanged":
      return pc.dim("unchanged");
    case "not-ready":
      return pc.yellow("not ready");
    case "failed":
      return pc.red("failed");
    case "blocked":
      return pc.yellow("blocked");
    default:
      return pc.cyan(phase);
  }
}

/** In-place redrawing table for terminals. */
export function ttyProgress(groups: readonly string[], out: NodeJS.WriteStream): ProgressSink {
  const rows = new Map<string, Row>(groups.map((g) => [g, { phase: "pending", detail: "", started: 0 }]));
  const width = Math.max(...groups.map((g) => g.length), 5);
  let drawn = 0;
  let tick = 0;
  let phase = "";
  const draw = () => {
    const cols = out.columns || 100;
    const lines: string[] = [];
    if (phase) lines.push(pc.dim(phase));
    for (const [name, row] of rows) {
      const active = activePhases.has(row.phase);
      const icon = active
        ? pc.cyan(frames[tick % frames.length]!)
        : row.phase === "ready" || row.phase === "unchanged"
          ? pc.green("✓")
          : row.phase === "failed"
            ? pc.red("✗")
            : row.phase === "pending"
              ? pc.dim("·")
              : pc.yellow("!");
      const elapsed = row.started ? secs((row.ended ?? Date.now()) - row.started) : "";
      const text = `${icon} ${name.padEnd(width)} ${phaseLabel(row.phase)} ${pc.dim(elapsed)} ${row.detail}`;
      // Keep one physical line per row so the redraw can move back over it.
      lines.push(text.length > cols + 20 ? `${text.slice(0, cols + 17)}...` : text);
    }
    let s = drawn > 0 ? `\x1b[${drawn}F` : "";
    for (const l of lines) s += `\x1b[2K${l}\n`;
    out.write(s);
    drawn = lines.length;
    tick++;
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    onEvent(event) {
      if (event.type === "phase") phase = event.message;
      if (event.type !== "group") return;
      phase = "";
      const row = rows.get(event.group);
      if (!row) return;
      if (!row.started && event.phase !== "blocked") row.started = Date.now();
      row.phase = event.phase;
      row.detail = event.detail ?? "";
      if (!activePhases.has(event.phase)) row.ended = Date.now();
    },
    stop() {
      clearInterval(timer);
      phase = "";
      draw();
    },
  };
}

/** One line per event for logs (journald adds timestamps; we add the elapsed time). */
export function plainProgress(out: NodeJS.WritableStream, start = Date.now()): ProgressSink {
  const lastWait = new Map<string, { detail: string; at: number }>();
  const line = (s: string) => out.write(`[${secs(Date.now() - start).padStart(7)}] ${s}\n`);
  return {
    onEvent(event) {
      switch (event.type) {
        case "phase":
          line(event.message);
          break;
        case "group": {
          const detail = event.detail ? `: ${event.detail}` : "";
          if (event.phase === "waiting" || (event.phase === "applying" && event.detail)) {
            // Waits report often; log a changed reason at most every 5 s per group.
            const prev = lastWait.get(event.group);
            const now = Date.now();
            if (prev && (prev.detail === detail || now - prev.at < 5000)) return;
            lastWait.set(event.group, { detail, at: now });
          }
          line(`group ${event.group} ${event.phase}${detail}`);
          break;
        }
        case "object":
          if (event.entry.action !== "unchanged") line(formatEntry(event.entry, false));
          break;
        case "hook":
          line(formatHook(event.result, false));
          break;
      }
    },
    stop() {},
  };
}

export function formatEntry(e: ChangeEntry, color: boolean): string {
  const paint: Record<ChangeEntry["action"], (s: string) => string> = {
    created: pc.green,
    configured: pc.yellow,
    unchanged: pc.dim,
    deleted: pc.magenta,
    failed: pc.red,
    skipped: pc.dim,
  };
  const action = color ? paint[e.action](e.action.padEnd(10)) : e.action.padEnd(10);
  return `${action} ${e.object}${e.message ? ` (${e.message})` : ""}`;
}

export function formatHook(h: HookResult, color: boolean): string {
  const status = color ? (h.status === "failed" ? pc.red(h.status) : pc.green(h.status)) : h.status;
  const what = h.changed.length > 0 ? ` set ${h.changed.join(", ")}` : "";
  return `hook ${h.name} ${status}${what}${h.message ? `: ${h.message}` : ""}`;
}

/** The end-of-run summary: every object that is not unchanged, counts, groups not ready, result. */
export function formatSummary(report: DeployReport, color: boolean): string {
  const lines: string[] = [];
  for (const e of report.changes) if (e.action !== "unchanged") lines.push(formatEntry(e, color));
  for (const h of report.hooks) lines.push(formatHook(h, color));
  const c = report.counts;
  lines.push(
    `objects: ${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.failed} failed` +
      (c.skipped ? `, ${c.skipped} skipped` : "") +
      (c.deleted ? `, ${c.deleted} deleted` : ""),
  );
  for (const g of report.groups) {
    if (g.phase === "not-ready" || g.phase === "failed" || g.phase === "blocked") {
      lines.push(`group ${g.name} ${g.phase}${g.message ? `: ${g.message}` : ""}`);
    }
  }
  const result =
    report.result === "ok"
      ? "deploy complete"
      : report.result === "not-ready"
        ? "deploy applied, but some groups are not ready (re-run to re-check)"
        : "deploy failed";
  const paint = report.result === "ok" ? pc.green : report.result === "not-ready" ? pc.yellow : pc.red;
  lines.push(
    `${color ? paint(result) : result} in ${secs(report.durationMs)} (${report.requests.writes} writes, ${report.requests.reads} reads)`,
  );
  return `${lines.join("\n")}\n`;
}
