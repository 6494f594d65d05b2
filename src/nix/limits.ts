// Budgets that keep one Nix evaluation from exhausting the JS stack, the heap or the
// clock. A vars.nix is a small data file; these limits are far above what one needs and
// far below what would crash nixlab, so a hostile or runaway file ends in a NixError
// naming its place instead of a stack overflow, an out-of-memory abort or a hang.
import { NixError, type NixLocation } from "./errors.ts";

/** The limits of one parse or evaluation (documented in the README under "vars.nix"). */
export const nixLimits = {
  // nesting and depth are 40% of what the JS stack of Node's main thread holds for the
  // most stack-hungry shapes (measured), leaving room for the caller's own frames.
  /** Characters of one source file (the lexer is linear; this bounds its time). */
  sourceChars: 1_000_000,
  /** Syntactic nesting: brackets, operators, function bodies, `let … in` chains. */
  nesting: 300,
  /** Nested evaluations: recursive calls, chains of bindings, deeply nested values. */
  depth: 800,
  /** Evaluation steps (expressions evaluated, list and set elements handled by builtins). */
  steps: 5_000_000,
  /** Approximate bytes of lists, sets, strings and scopes created (garbage included). */
  bytes: 192 * 1024 * 1024,
  /** CPU time of the evaluating thread, for steps that are slow (large values, garbage collection). */
  seconds: 1,
} as const;

// What one element costs against `bytes` (measured on V8: a pending call is a thunk, a
// closure, its scope and its argument list).
/** A copied reference to an existing value (`++`, `tail`, `attrNames`). */
export const SLOT_BYTES = 16;
/** A new element with its own thunk (a list literal's item, an attribute, a variable). */
export const CELL_BYTES = 128;
/** A pending function call (`genList`, `map`, `mapAttrs` results). */
export const CALL_BYTES = 320;

/** Counters of the evaluation in progress. */
class Budget {
  depth = 0;
  steps = 0;
  bytes = 0;
  /** Set by the first step, so the time limit covers evaluation, not parsing (bounded by size). */
  deadline = 0;
}

/**
 * Milliseconds of CPU time this thread has used, so a busy machine does not make an
 * evaluation fail; the clock where Node cannot tell (before 23.9).
 */
function cpuMs(): number {
  const usage = process.threadCpuUsage?.();
  return usage ? (usage.user + usage.system) / 1000 : performance.now();
}

let active = new Budget();

/** Runs `f` with fresh counters (an evaluation, or an `import` parsed inside one keeps its own). */
export function withBudget<T>(f: () => T): T {
  const previous = active;
  active = new Budget();
  try {
    return f();
  } finally {
    active = previous;
  }
}

/** Enters one nested evaluation; pair with `leave()` in a `finally`. Throws NixError past the limit. */
export function enter(loc?: NixLocation): void {
  if (++active.depth > nixLimits.depth) {
    active.depth--;
    throw new NixError(
      "eval",
      `evaluation nested deeper than ${nixLimits.depth} levels (infinite recursion, or a value nested too deeply); nixlab's limit for a vars.nix`,
      loc,
    );
  }
}

/** Leaves the level `enter()` entered. */
export function leave(): void {
  active.depth--;
}

/** Counts `n` evaluation steps. Throws NixError when the evaluation has taken too many. */
export function step(n = 1, loc?: NixLocation): void {
  const before = active.steps;
  if (before === 0) active.deadline = cpuMs() + nixLimits.seconds * 1000;
  active.steps += n;
  // The clock is read once every 4096 steps.
  if (before >>> 12 !== active.steps >>> 12 && cpuMs() > active.deadline) {
    throw new NixError(
      "eval",
      `evaluation took longer than ${nixLimits.seconds} s of CPU time (an endless or very large computation); nixlab's limit for a vars.nix`,
      loc,
    );
  }
  if (active.steps > nixLimits.steps) {
    throw new NixError(
      "eval",
      `evaluation took more than ${nixLimits.steps.toLocaleString("en")} steps (an endless or very large computation); nixlab's limit for a vars.nix`,
      loc,
    );
  }
}

/** Counts `n` bytes about to be created. Throws NixError before the evaluation grows too large. */
export function allocate(n: number, loc?: NixLocation): void {
  active.bytes += n;
  if (active.bytes > nixLimits.bytes) {
    throw new NixError(
      "eval",
      `evaluation created more than ${nixLimits.bytes / 1024 / 1024} MB of lists, sets and strings (e.g. a huge genList or string); nixlab's limit for a vars.nix`,
      loc,
    );
  }
}

/** Counts a list or set of `count` elements of `bytesEach`: time and memory. */
export function allocateCells(count: number, bytesEach: number, loc?: NixLocation): void {
  allocate(count * bytesEach, loc);
  step(count, loc);
}

/** Counts a string of `length` UTF-16 units (V8 may use two bytes each). */
export function allocateString(length: number, loc?: NixLocation): void {
  allocate(length * 2, loc);
}
