/**
 * Writing several files as one change. Files cannot be replaced together atomically,
 * so each is replaced atomically, in an order chosen so that an interruption leaves
 * only harmless leftovers, and a failed write puts back the files written before it.
 * A file changed by someone else since we read it is never overwritten.
 */
import { chmodSync, readFileSync, unlinkSync } from "node:fs";
import { basename } from "node:path";
import { ExitCode, UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** One file of a change: its new content and its content when we read it (null: it did not exist). */
export interface PlannedWrite {
  path: string;
  content: string;
  before: string | null;
  mode: number;
}

/** The file system effects of a change; tests pass their own to simulate failures. */
export interface FileEffects {
  /** Replaces `path` atomically with `content` and mode `mode`; throws the fs error. */
  write(path: string, content: string | Uint8Array, mode: number): void;
  /** Removes a file we created. */
  remove(path: string): void;
}

export const realFiles: FileEffects = {
  write(path, content, mode) {
    writeFileAtomic(path, content, mode);
    chmodSync(path, mode);
  },
  remove: (path) => unlinkSync(path),
};

/** The text of `path`, or null when it does not exist. Throws the fs error otherwise. */
export function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

const reason = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));

/**
 * Writes `writes` in order. Throws UserError, with nothing changed, when a file changed
 * since it was read; when a write fails, restores the files written before it and
 * throws UserError saying nothing changed, or, if restoring fails too, what was
 * written and `recovery` (the command that completes or undoes the change).
 */
export function commitWrites(writes: readonly PlannedWrite[], files: FileEffects, recovery: string): void {
  for (const w of writes) {
    if (readIfExists(w.path) !== w.before) {
      throw new UserError(
        `${basename(w.path)} changed while nixlab was working on it; nothing was written, run the command again`,
        {
          exitCode: ExitCode.failure,
        },
      );
    }
  }
  const done: PlannedWrite[] = [];
  for (const w of writes) {
    if (w.before === w.content) continue;
    try {
      files.write(w.path, w.content, w.mode);
      done.push(w);
    } catch (error) {
      const failed = `could not write ${basename(w.path)} (${reason(error)})`;
      const stuck: string[] = [];
      for (const d of done.reverse()) {
        try {
          if (d.before === null) files.remove(d.path);
          else files.write(d.path, d.before, d.mode);
        } catch {
          stuck.push(basename(d.path));
        }
      }
      if (stuck.length === 0) throw new UserError(`${failed}; nothing was changed`, { cause: error });
      throw new UserError(`${failed}, and ${stuck.join(", ")} could not be put back; ${recovery}`, { cause: error });
    }
  }
}
