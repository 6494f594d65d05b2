// Atomic file replacement, the one way nixlab replaces a file: temp file beside the target, fsync, rename.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path` with `content` atomically (readers see the old or the new file,
 * never a mix), mode `mode` (default 0600), and durably: the file and then its
 * directory are fsynced, so a crash right after the call keeps the new content. Throws
 * the fs error on failure, after removing its temp file; the old file is then untouched.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", mode);
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw error;
  }
  syncDirectory(dirname(path));
}

/** fsync of a directory makes a rename in it durable; file systems that refuse it lose nothing else. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems (and platforms) do not allow fsync on a directory.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
