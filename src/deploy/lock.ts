/**
 * One deploy at a time per state dir. The lock is a file created exclusively (link of a
 * complete temp file, so readers never see it half-written) holding the owner's pid,
 * process start time, host and start date. A lock whose owner died on this host (killed,
 * even with SIGKILL) is broken by the next deploy, and whatever a killed owner left
 * half-done (temp files) is swept; a live owner makes the second deploy wait (up to its
 * budget) or stop with ExitCode.busy.
 */
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { link, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { processAlive, processStart } from "../process.ts";
import { sleep } from "./clock.ts";

interface LockInfo {
  pid: number;
  /** Start time of the process (Linux /proc ticks since boot), so a reused pid is not mistaken for the owner. */
  started?: string;
  host: string;
  startedAt: string;
  token: string;
}

/** A held lock; release() removes it only if it is still ours. */
export interface Lock {
  release(): Promise<void>;
}

const lockName = "deploy.lock";

/**
 * Takes the lock in dir, waiting up to waitMs for a live holder; a dead holder's lock
 * (same host) is broken. Throws UserError (exit 3) naming the holder.
 */
export async function acquireLock(dir: string, options: { waitMs?: number } = {}): Promise<Lock> {
  const path = join(dir, lockName);
  const started = processStart(process.pid);
  const info: LockInfo = {
    pid: process.pid,
    ...(started ? { started } : {}),
    host: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    if (await tryCreate(path, info)) {
      await sweep(dir);
      return {
        async release() {
          const current = await readLock(path);
          if (current?.token === info.token) await rm(path, { force: true });
        },
      };
    }
    const holder = await readLock(path);
    if (!holder) continue; // released between our attempt and the read
    if (holder.host === info.host && !processAlive(holder.pid, holder.started)) {
      await breakStale(path, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `another deploy is running (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}); not starting a second one`,
        {
          exitCode: ExitCode.busy,
          details: [`Wait for it to finish, or pass --wait-lock SECONDS. Lock file: ${path}`],
        },
      );
    }
    await sleep(200);
  }
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  const tmp = `${path}.${info.pid}.${info.token}.tmp`;
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as LockInfo;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    // A lock we cannot parse was not written by us; treat it as held by an unknown owner.
    return { pid: -1, host: "unknown", startedAt: "unknown", token: "" };
  }
}

/** Moves a dead owner's lock aside; if a live one was moved by a race, puts it back. */
async function breakStale(path: string, stale: LockInfo): Promise<void> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readLock(aside);
  if (moved && moved.token !== stale.token) {
    try {
      await link(aside, path);
    } catch {
      // A third deploy took the lock meanwhile; the moved one is still live and keeps running.
    }
  }
  await rm(aside, { force: true });
}

/**
 * Removes what dead processes left in the state dir: lock temp files ("deploy.lock.<pid>.…")
 * and state temp files (".state.json.….tmp", written only by lock holders). Runs while
 * we hold the lock, so no live writer is affected.
 */
async function sweep(dir: string): Promise<void> {
  for (const name of readdirSync(dir)) {
    const lockTemp = /^deploy\.lock\.(\d+)\./.exec(name);
    const dead = lockTemp ? !processAlive(Number(lockTemp[1])) : /^\.state\.json\..*\.tmp$/.test(name);
    if (dead) await rm(join(dir, name), { force: true });
  }
}
