/**
 * What the engine tells its caller: a stream of events while it runs (the output sink:
 * live table, log lines, nothing) and the report at the end (summary, --json).
 */
import type { ChangeAction, ChangeEntry } from "./changeset.ts";
import type { HookResult } from "./hooks.ts";

/** Where a group is in a run; the last phase is its result. */
export type GroupPhase =
  | "pending"
  | "checking"
  | "applying"
  | "waiting"
  | "ready"
  | "unchanged"
  | "not-ready"
  | "failed"
  | "blocked"
  | "not-selected";

/** What the engine reports while it runs (carries names and redacted messages, never values). */
export type DeployEvent =
  /** A step of the run (waiting for the API, namespaces, pruning). */
  | { type: "phase"; message: string }
  | { type: "group"; group: string; phase: GroupPhase; detail?: string }
  /** One object waited for, and why it is not ready yet (sent whenever the reason changes). */
  | { type: "wait"; group: string; object: string; reason: string }
  /** A wait ended. */
  | { type: "waited"; group: string; object: string; ready: boolean; reason: string }
  | { type: "object"; entry: ChangeEntry }
  | { type: "hook"; result: HookResult }
  /** A request failed for a transient reason and is retried after delayMs: never silent. */
  | { type: "retry"; reason: string; delayMs: number };

/** Receives events as they happen; must not throw. */
export type DeploySink = (event: DeployEvent) => void;

/** One group's result. */
export interface GroupReport {
  name: string;
  phase: GroupPhase;
  /** Effective hash (absent for groups that were not selected). */
  hash?: string;
  /** True when this run wrote the group's objects. */
  applied: boolean;
  message?: string;
  durationMs: number;
}

/** The result of a deploy (its --json output). */
export interface DeployReport {
  command: "deploy";
  result: "ok" | "not-ready" | "failed";
  exitCode: number;
  durationMs: number;
  groups: GroupReport[];
  changes: ChangeEntry[];
  counts: Record<ChangeAction, number>;
  hooks: HookResult[];
  /** Requests this run sent: reads, writes, and dry runs (which change nothing). */
  requests: { reads: number; writes: number; dryRuns: number };
}
