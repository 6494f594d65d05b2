// The fuzz runner: each target runs in a worker thread with a 512 MB heap; the runner
// watches every input's time. A crash is an exception other than UserError (the
// project's "bad input" error, exit 2), an out-of-memory abort or a Node warning
// (printed on the user's terminal); a hang is an input that takes more than 2 s of CPU
// time (the thread's own, so a busy machine does not count), or that never returns.
// After a crash or hang the worker restarts at the next input.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { WorkerMessage, WorkerTask } from "./worker.ts";

/**
 * `stackMb` is the main thread's stack (V8's default --stack-size, 984 KB), where the CLI
 * parses and evaluates: a worker's own default (4 MB) would hide overflows users would hit.
 */
export const fuzzLimits = { seconds: 2, heapMb: 512, stackMb: 984 / 1024, stuckSeconds: 30 } as const;

export interface Finding {
  kind: "crash" | "hang";
  target: string;
  index: number;
  detail: string;
  input: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  runs: number;
  /** Inputs that ran to the end without an error (the rest were refused with a UserError or failed). */
  accepted: number;
  crashes: number;
  hangs: number;
  /** CPU time of the slowest input, and the longest wall-clock time of any input. */
  slowestMs: number;
  slowestWallMs: number;
  maxHeapMb: number;
  seconds: number;
  findings: Finding[];
}

/** Runs inputs [from, to) of `target`; resolves at the end or at the first crash or hang. */
function runSlice(task: WorkerTask, report: FuzzReport, onProgress: (index: number) => void): Promise<number> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      workerData: task,
      resourceLimits: { maxOldGenerationSizeMb: fuzzLimits.heapMb, stackSizeMb: fuzzLimits.stackMb },
    });
    // Until the first input starts the worker is loading modules: only a generous limit.
    let current = { index: task.from, input: "(the worker did not start)", started: performance.now() + 120_000 };
    let settled = false;
    const end = (next: number, finding?: Omit<Finding, "target" | "index" | "input">) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      if (finding) {
        report.findings.push({ ...finding, target: task.target, index: current.index, input: current.input });
        report[finding.kind === "crash" ? "crashes" : "hangs"]++;
      }
      // Resolved once the thread is gone, so no worker outlives the run.
      void worker.terminate().then(() => resolve(next));
    };
    // A hang that never returns: end the worker once the input has run far past the limit.
    const watchdog = setInterval(() => {
      const ms = performance.now() - current.started;
      if (ms > fuzzLimits.stuckSeconds * 1000)
        end(current.index + 1, { kind: "hang", detail: `still running after ${Math.round(ms)} ms` });
    }, 250);
    worker.on("message", (m: WorkerMessage) => {
      if (m.kind === "start") current = { index: m.index, input: m.input, started: performance.now() };
      else if (m.kind === "crash") {
        report.findings.push({ kind: "crash", target: task.target, index: m.index, detail: m.error, input: m.input });
        report.crashes++;
      } else if (m.kind === "done") {
        report.runs++;
        if (m.accepted) report.accepted++;
        report.slowestMs = Math.max(report.slowestMs, m.ms);
        report.slowestWallMs = Math.max(report.slowestWallMs, m.wallMs);
        report.maxHeapMb = Math.max(report.maxHeapMb, m.heapMb);
        if (m.ms > fuzzLimits.seconds * 1000) {
          report.hangs++;
          report.findings.push({
            kind: "hang",
            target: task.target,
            index: m.index,
            detail: `took ${Math.round(m.ms)} ms of CPU time`,
            input: current.input,
          });
        }
        onProgress(m.index);
      } else end(task.to);
    });
    worker.on("error", (error: Error & { code?: string }) =>
      end(current.index + 1, {
        kind: "crash",
        detail:
          error.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? `needed more than ${fuzzLimits.heapMb} MB`
            : (error.stack ?? error.message),
      }),
    );
    worker.on("exit", (code) => end(current.index + 1, { kind: "crash", detail: `the worker exited (code ${code})` }));
  });
}

/**
 * Runs `runs` inputs of `target` drawn from `seed`. Failing inputs are written to
 * `failuresDir` when given. Never throws for what the inputs do.
 */
export async function fuzzTarget(
  target: string,
  options: { runs: number; seed: number; failuresDir?: string; onProgress?: (done: number) => void },
): Promise<FuzzReport> {
  const started = performance.now();
  const report: FuzzReport = {
    target,
    seed: options.seed,
    runs: 0,
    accepted: 0,
    crashes: 0,
    hangs: 0,
    slowestMs: 0,
    slowestWallMs: 0,
    maxHeapMb: 0,
    seconds: 0,
    findings: [],
  };
  let from = 0;
  while (from < options.runs) {
    from = await runSlice({ target, seed: options.seed, from, to: options.runs }, report, (i) =>
      options.onProgress?.(i + 1),
    );
  }
  report.seconds = (performance.now() - started) / 1000;
  if (options.failuresDir && report.findings.length > 0) {
    mkdirSync(options.failuresDir, { recursive: true });
    for (const f of report.findings) {
      writeFileSync(join(options.failuresDir, `${f.target}-${f.index}-${f.kind}.txt`), `${f.detail}\n\n${f.input}`);
    }
  }
  return report;
}
