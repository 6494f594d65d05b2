/**
 * Progress on a terminal: one line per group (spinner, phase, elapsed time, what it
 * waits for), redrawn in place. Each line is cut to the terminal's width (measured
 * without colour codes) so the redraw never lands on a wrapped line, and stop() draws
 * the final state once and never again: the summary printed after it is the last
 * thing on the screen.
 */
import { stripVTControlCharacters } from "node:util";
import pc from "picocolors";
import type { GroupPhase } from "./events.ts";
import type { ProgressSink } from "./progress-plain.ts";
import { secs } from "./summary.ts";

interface Row {
  phase: GroupPhase;
  detail: string;
  started: number;
  ended?: number;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const activePhases = new Set<GroupPhase>(["checking", "applying", "waiting"]);

function phaseLabel(phase: GroupPhase): string {
  if (phase === "ready") return pc.green("ready");
  if (phase === "unchanged" || phase === "not-selected") return pc.dim(phase);
  if (phase === "not-ready" || phase === "blocked") return pc.yellow(phase);
  if (phase === "failed") return pc.red("failed");
  return pc.cyan(phase);
}

function icon(phase: GroupPhase, tick: number): string {
  if (activePhases.has(phase)) return pc.cyan(frames[tick % frames.length]!);
  if (phase === "ready" || phase === "unchanged") return pc.green("✓");
  if (phase === "failed") return pc.red("✗");
  if (phase === "pending" || phase === "not-selected") return pc.dim("·");
  return pc.yellow("!");
}

/** Cuts a line with colour codes to `width` visible characters. */
function fitLine(text: string, width: number): string {
  if (stripVTControlCharacters(text).length <= width) return text;
  let visible = 0;
  let out = "";
  for (let i = 0; i < text.length && visible < width - 1; ) {
    if (text[i] === "\u001b") {
      // An SGR colour code (ESC [ … m): copied, never counted.
      const end = text.indexOf("m", i);
      out += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    out += ch;
    i += ch.length;
    visible++;
  }
  return `${out}\x1b[0m…`;
}

/** The redrawing table on `out` (a TTY). */
export function ttyProgress(groups: readonly string[], out: NodeJS.WriteStream): ProgressSink {
  const rows = new Map<string, Row>(groups.map((g) => [g, { phase: "pending", detail: "", started: 0 }]));
  const width = Math.max(...groups.map((g) => g.length), 5);
  let drawn = 0;
  let tick = 0;
  let note = "";
  let stopped = false;
  const draw = () => {
    const cols = Math.max(20, (out.columns || 100) - 1);
    const lines: string[] = [];
    if (note) lines.push(fitLine(pc.dim(note), cols));
    for (const [name, row] of rows) {
      const elapsed = row.started ? secs((row.ended ?? Date.now()) - row.started) : "";
      lines.push(
        fitLine(
          `${icon(row.phase, tick)} ${name.padEnd(width)} ${phaseLabel(row.phase)} ${pc.dim(elapsed)} ${row.detail}`,
          cols,
        ),
      );
    }
    let s = drawn > 0 ? `\x1b[${drawn}F` : "";
    for (const l of lines) s += `\x1b[2K${l}\n`;
    // A shorter table than last time: clear what is left below it.
    s += "\x1b[J";
    out.write(s);
    drawn = lines.length;
    tick++;
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    onEvent(event) {
      if (event.type === "phase") note = event.message;
      if (event.type === "retry") note = `${event.reason}; retrying in ${secs(event.delayMs)}`;
      const group = event.type === "group" || event.type === "wait" ? event.group : undefined;
      const row = group ? rows.get(group) : undefined;
      if (!row) return;
      if (event.type === "wait") {
        row.detail = `${event.object}: ${event.reason}`;
        return;
      }
      if (event.type !== "group") return;
      note = "";
      if (!row.started && activePhases.has(event.phase)) row.started = Date.now();
      row.phase = event.phase;
      row.detail = event.detail ?? "";
      if (!activePhases.has(event.phase)) row.ended = Date.now();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      note = "";
      draw();
    },
  };
}
