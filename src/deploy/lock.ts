/**
 * One deploy at a time per state dir. The lock is a file created exclusively (link of a
 * complete temp file, so readers never see it half-written) holding the owner's pid,
 * host and start time. A lock whose owner died on this host is broken; a live owner makes
 * the second deploy wait (up to its budget) or stop with ExitCode.busy.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { link, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { processAlive } from "../process.ts";

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  token: string;
}

export interface Lock {
  release(): Promise<void>;
}

const lockName = "deploy.lock";

export async function acquireLock(dir: string, options: { waitMs?: number } = {}): Promise<Lock> {
  const path = join(dir, lockName);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    if (await tryCreate(path, info)) {
      return {
        async release() {
          const current = await readLock(path);
          if (current?.token === info.token) await rm(path, { force: true });
        },
      };
    }
    const holder = await readLock(path);
    if (holder && holder.host === info.host && !processAlive(holder.pid)) {
      await breakStale(path, holder);
      continue;
    }
    if (!holder) continue; // released between our attempt and the read
    if (Date.now() >= deadline) {
      throw new UserError(
        `another deploy is running (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}); not starting a second one`,
        {
          exitCode: ExitCode.busy,
          details: [`Wait for it to finish, or pass --wait-lock SECONDS. Lock file: ${path}`],
        },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  const tmp = `${path}.${info.token}`;
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
  const aside = `${path}.stale-${process.pid}`;
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
