/**
 * The local deploy record (state dir): per group its effective hash, status and times,
 * the last run, and each hook's last result; plus the lock. What nixlab owns in the
 * cluster is not here but in the in-cluster inventory (inventory.ts), so this record
 * is a cache a fresh machine can do without. Written atomically after every transition.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { acquireLock, type Lock } from "./lock.ts";
import type { ChangeAction } from "./changeset.ts";
import type { DigestCache } from "./prepare.ts";

/** A group's last recorded state. */
export type GroupStatus = "applying" | "applied-not-ready" | "ready" | "failed";

/** One group in the local record. */
export interface GroupState {
  /** Plan group hash combined with the keyed digest of its secret values. */
  hash: string;
  status: GroupStatus;
  /** The plan's own group hash (without secret values), so status can tell a changed plan without secrets. */
  planHash?: string;
  appliedAt?: string;
  readyAt?: string;
  /** Why the group is not ready or failed (no secret values). */
  message?: string;
  /** The change set of the last run that applied the group (the dashboard shows it), kept until the next apply. */
  lastChanges?: { at: string; entries: Array<{ object: string; action: ChangeAction; message?: string }> };
}

/** The local record of a state dir. */
export interface DeployState {
  version: 1;
  planHash?: string;
  /** Server URL of the last deploy (informational). */
  server?: string;
  /** uid of the cluster's kube-system namespace: the cluster this record describes. */
  cluster?: string;
  lastRun?: { startedAt: string; finishedAt?: string; result?: string };
  groups: Record<string, GroupState>;
  /** The per-Secret digests of the last secrets file seen, by its fingerprint: a no-op run decrypts nothing. */
  secretDigests?: DigestCache;
  /** Last run of each hook: its definition hash and whether it succeeded. */
  hooks?: Record<string, { hash: string; status: "ok" | "failed"; at: string }>;
}

/** Where the engine keeps its record and its lock; an interface so tests can keep it in memory. */
export interface StateStore {
  /** A description for messages (the directory). */
  readonly where: string;
  /** The record; an empty one when there is none. Throws UserError when it is unreadable. */
  load(): Promise<DeployState>;
  /** Replaces the record; calls are applied in order. */
  save(state: DeployState): Promise<void>;
  /** One deploy at a time: waits up to waitMs, then throws UserError (exit 3). */
  lock(waitMs: number): Promise<Lock>;
}

/** The record of a state dir that has none. */
export function emptyState(): DeployState {
  return { version: 1, groups: {} };
}

const stateFile = "state.json";

/** The state dir on disk: state.json (mode 0600, directory 0700) and deploy.lock. */
export class FileStateStore implements StateStore {
  readonly where: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.where = dir;
  }

  async load(): Promise<DeployState> {
    let text: string;
    try {
      text = readFileSync(join(this.where, stateFile), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
      throw new UserError(`cannot read ${join(this.where, stateFile)} (${(error as NodeJS.ErrnoException).code})`);
    }
    try {
      const parsed = JSON.parse(text) as DeployState;
      if (parsed.version !== 1 || typeof parsed.groups !== "object" || parsed.groups === null) {
        throw new Error("unknown version");
      }
      return parsed;
    } catch (error) {
      throw new UserError(
        `the deploy state ${join(this.where, stateFile)} is unreadable (${(error as Error).message})`,
        {
          details: ["Remove it to start from scratch: the cluster's own inventory tells the next deploy what it owns."],
        },
      );
    }
  }

  save(state: DeployState): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const next = this.writing.then(() => {
      mkdirSync(this.where, { recursive: true, mode: 0o700 });
      writeFileAtomic(join(this.where, stateFile), text, 0o600);
    });
    this.writing = next.catch(() => {});
    return next;
  }

  async lock(waitMs: number): Promise<Lock> {
    mkdirSync(this.where, { recursive: true, mode: 0o700 });
    return await acquireLock(this.where, { waitMs });
  }
}
