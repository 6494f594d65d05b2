/**
 * Loading a TypeScript or JavaScript cluster file: the module runs in a worker thread with
 * a memory limit and a timeout, and only its default export, copied to plain data,
 * comes back. Whatever the module does (throws, rejects, exits, loops, allocates without
 * end) ends in a UserError that names the file.
 */
import { Worker } from "node:worker_threads";
import { ExitCode, UserError } from "../errors.ts";
import type { ConfigProblem } from "./problems.ts";

/** What the worker posts back. */
export type ModuleOutcome =
  | { kind: "ok"; value: unknown; problems: ConfigProblem[] }
  | { kind: "no-default" }
  | { kind: "exited"; code: number }
  | { kind: "threw"; message: string };

/** Limits of a TypeScript cluster file's module (README "Limits"). */
export const moduleLimits = { seconds: 20, memoryMb: 512 } as const;

/** The worker's script: beside this file in the sources, or its bundled counterpart. */
const workerUrl = new URL(
  import.meta.url.endsWith(".ts") ? "./module-worker.ts" : "./module-worker.mjs",
  import.meta.url,
);

const fail = (message: string, details: string[] = []) =>
  new UserError(message, { exitCode: ExitCode.invalidInput, details });

const exportHint =
  '  a cluster file does `export default defineConfig({ ... })` (import { defineConfig } from "nixlab")';

/** Turns what the worker posted into the default export's plain data, or a UserError. */
function settle(name: string, outcome: ModuleOutcome): { value: unknown; problems: ConfigProblem[] } {
  if (outcome.kind === "ok") return outcome;
  if (outcome.kind === "no-default") throw fail(`${name} has no default export`, [exportHint]);
  if (outcome.kind === "exited") {
    throw fail(`${name} called process.exit(${outcome.code}) while loading, before exporting its configuration`, [
      "  remove the process.exit call; a cluster file only exports its configuration",
    ]);
  }
  throw fail(`${name} could not be loaded: ${outcome.message}`, [exportHint]);
}

/**
 * Imports `path` in a worker and returns its default export as plain data plus the
 * problems `toPlainData` found. Throws UserError (exit code 2) when the module throws,
 * rejects, has no default export, calls `process.exit`, never settles its default
 * export, runs longer than `limits.seconds` or needs more than `limits.memoryMb`
 * (default `moduleLimits`).
 */
export function loadModule(
  path: string,
  name: string,
  limits: { seconds: number; memoryMb: number } = moduleLimits,
): Promise<{ value: unknown; problems: ConfigProblem[] }> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(workerUrl, {
      workerData: { path },
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb },
    });
    let done = false;
    const finish = (run: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // The module may leave timers or sockets behind; they end with the thread, and the
      // result is given once the thread is gone (so none outlives the load).
      void worker.terminate().finally(() => {
        try {
          run();
        } catch (error) {
          reject(error);
        }
      });
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(fail(`${name} took longer than ${limits.seconds} s to load (an endless loop?)`, [exportHint])),
        ),
      limits.seconds * 1000,
    );
    worker.on("message", (outcome: ModuleOutcome) => finish(() => resolvePromise(settle(name, outcome))));
    worker.on("error", (error: Error & { code?: string }) =>
      finish(() => {
        if (error.code === "ERR_WORKER_OUT_OF_MEMORY") {
          throw fail(`${name} needed more than ${limits.memoryMb} MB of memory while loading`, [exportHint]);
        }
        throw fail(`${name} could not be loaded: ${error.message}`, [exportHint]);
      }),
    );
    // The thread ended by itself: its default export is a promise that never settles.
    worker.on("exit", () =>
      finish(() => {
        throw fail(`${name} finished loading without settling its default export (a promise that never resolves)`, [
          exportHint,
        ]);
      }),
    );
  });
}
