/**
 * The state dir: per-group content hash, status and times, written atomically (temp file,
 * fsync, rename) after every transition, so a killed deploy leaves a consistent record
 * and the next run re-applies exactly what never became ready.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import type { ObjectRef } from "./objects.ts";

export type GroupStatus = "applying" | "applied-not-ready" | "ready" | "failed";

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
  /** Every object applied for the group (inventory for status, drift and pruning). */
  objects: ObjectRef[];
}

export interface DeployState {
  version: 1;
  planHash?: string;
  /** Server URL of the last deploy (informational). */
  server?: string;
  /** uid of the cluster's kube-system namespace; a state of another cluster is not reused. */
  cluster?: string;
  lastRun?: { startedAt: string; finishedAt?: string; result?: string };
  groups: Record<string, GroupState>;
  /** Keyed digest of each Secret's values ("namespace/name"), to roll its readers on change. */
  secretDigests?: Record<string, string>;
  /** Last run of each hook: its definition hash and whether it succeeded. */
  hooks?: Record<string, { hash: string; status: "ok" | "failed"; at: string }>;
}

const stateFile = "state.json";

export function emptyState(): DeployState {
  return { version: 1, groups: {} };
}

export class StateStore {
  readonly dir: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async load(): Promise<DeployState> {
    let text: string;
    try {
      text = await readFile(join(this.dir, stateFile), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as DeployState;
      if (parsed.version !== 1 || typeof parsed.groups !== "object") throw new Error("unknown version");
      return parsed;
    } catch (error) {
      throw new UserError(`the deploy state ${join(this.dir, stateFile)} is unreadable (${(error as Error).message})`, {
        details: ["Remove it to start from scratch: every group is then re-applied once."],
      });
    }
  }

  /** Writes the state atomically; concurrent calls are serialised in call order. */
  save(state: DeployState): Promise<void> {
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const next = this.writing.then(() => atomicWrite(join(this.dir, stateFile), text, 0o600));
    this.writing = next.catch(() => {});
    return next;
  }
}

export async function atomicWrite(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
