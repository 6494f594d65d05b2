/** Facts about processes on this host. */

/**
 * True when a process with `pid` exists on this host (also one we may not signal).
 * A pid of 0 or below names a group, never a process we could judge: true, to stay safe.
 */
export function processAlive(pid: number): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
