// Runs one fuzz target's inputs [from, to) in this thread and reports each to the runner
// (runner.ts), which watches the time and restarts this thread after a hang or a crash.
import { parentPort, workerData } from "node:worker_threads";
import fc from "fast-check";
import { UserError } from "../../src/errors.ts";
import { targets } from "./targets.ts";

export interface WorkerTask {
  target: string;
  seed: number;
  from: number;
  to: number;
}

export type WorkerMessage =
  | { kind: "start"; index: number; input: string }
  /** `ms` is the thread's CPU time (fair on a busy machine); `wallMs` the clock's. */
  | { kind: "done"; index: number; ms: number; wallMs: number; heapMb: number; accepted: boolean }
  | { kind: "crash"; index: number; input: string; error: string }
  | { kind: "finished" };

/** Inputs are drawn in batches, each from its own seed, so any index can be regenerated alone. */
export const BATCH = 100;

/** The input at `index` for a target and seed (what `--only` replays). */
export function inputAt(target: string, seed: number, index: number): unknown {
  const batch = Math.floor(index / BATCH);
  return fc.sample(targets[target]!.inputs, { seed: seed + batch * 7919, numRuns: BATCH })[index % BATCH];
}

async function main(task: WorkerTask): Promise<void> {
  const target = targets[task.target]!;
  const post = (m: WorkerMessage) => parentPort!.postMessage(m);
  let batch: unknown[] = [];
  // A Node warning (e.g. the YAML library's "Keys with collection values") would be
  // printed on the user's terminal beside nixlab's own message: a finding too.
  let warning: string | undefined;
  process.on("warning", (w) => {
    warning ??= `${w.name}: ${w.message}`;
  });
  for (let index = task.from; index < task.to; index++) {
    if (index % BATCH === 0 || batch.length === 0) {
      batch = fc.sample(target.inputs, { seed: task.seed + Math.floor(index / BATCH) * 7919, numRuns: BATCH });
    }
    const input = batch[index % BATCH];
    // The input goes out before it runs, so a hang or an out-of-memory abort names it.
    post({ kind: "start", index, input: target.show(input) });
    const started = performance.now();
    const cpu = process.threadCpuUsage();
    let accepted = true;
    try {
      await target.run(input);
    } catch (error) {
      accepted = false;
      if (!(error instanceof UserError)) {
        post({
          kind: "crash",
          index,
          input: target.show(input),
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
    }
    const used = process.threadCpuUsage(cpu);
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    if (warning !== undefined) {
      post({ kind: "crash", index, input: target.show(input), error: `Node printed a warning: ${warning}` });
      warning = undefined;
    }
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    post({
      kind: "done",
      index,
      ms: (used.user + used.system) / 1000,
      wallMs: performance.now() - started,
      heapMb,
      accepted,
    });
  }
  post({ kind: "finished" });
}

if (parentPort && workerData) void main(workerData as WorkerTask);
