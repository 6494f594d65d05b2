/** The end-of-run text: each object that is not unchanged, counts, groups not done, and the verdict last. */
import pc from "picocolors";
import type { ChangeEntry } from "./changeset.ts";
import type { DeployReport } from "./events.ts";
import type { HookResult } from "./hooks.ts";

/** Seconds with one decimal, e.g. "2.5s". */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** One change set entry as a line: action, object, reason. */
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

/** One hook result as a line (names of what it changed, never values). */
export function formatHook(h: HookResult, color: boolean): string {
  const status = color ? (h.status === "failed" ? pc.red(h.status) : pc.green(h.status)) : h.status;
  const what = h.changed.length > 0 ? ` set ${h.changed.join(", ")}` : "";
  return `hook ${h.name} ${status}${what}${h.message ? `: ${h.message}` : ""}`;
}

/** The summary printed after a deploy; its last line is the verdict. */
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
    if (["not-ready", "failed", "blocked"].includes(g.phase))
      lines.push(`group ${g.name} ${g.phase}${g.message ? `: ${g.message}` : ""}`);
  }
  const skipped = report.groups.filter((g) => g.phase === "not-selected").length;
  const verdict =
    report.result === "ok"
      ? "deploy complete"
      : report.result === "not-ready"
        ? "deploy applied, but some groups are not ready (re-run to re-check)"
        : "deploy failed";
  const paint = report.result === "ok" ? pc.green : report.result === "not-ready" ? pc.yellow : pc.red;
  const r = report.requests;
  lines.push(
    `${color ? paint(verdict) : verdict}${skipped ? ` (${skipped} groups not selected)` : ""} in ${secs(report.durationMs)} ` +
      `(${r.writes} writes, ${r.reads} reads${r.dryRuns ? `, ${r.dryRuns} dry runs` : ""})`,
  );
  return `${lines.join("\n")}\n`;
}
