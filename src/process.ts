/** Facts about processes on this host. */
import { readFileSync } from "node:fs";

/** The start time of a process from /proc (Linux clock ticks since boot), or undefined elsewhere or when it is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime), counted after the command name, which may contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * True when a process with `pid` exists on this host (also one we may not signal) and,
 * when `started` is given, it is the same process (its start time matches, so a reused
 * pid is not mistaken for the owner). A pid of 0 or below names a group, never a process
 * we could judge: true, to stay safe.
 */
export function processAlive(pid: number, started?: string): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (started === undefined) return true;
  const now = processStart(pid);
  return now === undefined || now === started;
}
