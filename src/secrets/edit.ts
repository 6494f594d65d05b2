// `secrets edit`: the decrypted text goes to a 0600 file in memory-backed storage
// (the only place plaintext is ever written), the editor runs, the result is
// parsed and re-encrypted, and the temp directory is always removed.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { UserError } from "../errors.ts";
import type { SecretsFile } from "./file.ts";

export interface EditOptions {
  /** The editor command (may contain arguments); default $VISUAL, $EDITOR, then vi. */
  editor?: string;
  /** Where to create the temp directory; default /dev/shm, $XDG_RUNTIME_DIR, then the OS temp dir. */
  tempRoot?: string;
  /** Where progress messages go (never values); default stderr. */
  log?: (line: string) => void;
}

export type EditResult = "changed" | "unchanged";

function writable(dir: string | undefined): dir is string {
  if (!dir || !existsSync(dir)) return false;
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory for the plaintext temp file: memory-backed when the system has one. */
export function editTempRoot(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of ["/dev/shm", env.XDG_RUNTIME_DIR]) if (writable(dir)) return dir;
  return tmpdir();
}

/**
 * Lets the user edit `file` in an editor. Re-opens the editor on a syntax error
 * (gives up with UserError when the text is saved unchanged after an error);
 * saves (atomically) only when the text changed. Throws UserError when the editor
 * fails; the secrets file is then untouched. The temp directory is always removed.
 */
export async function editSecrets(file: SecretsFile, options: EditOptions = {}): Promise<EditResult> {
  const editor = options.editor ?? (process.env.VISUAL || process.env.EDITOR || "vi");
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(options.tempRoot ?? editTempRoot(), "nixlab-secrets-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.once(s, onSignal);
  try {
    const tmp = join(dir, basename(file.path));
    const original = file.toPlaintext();
    writeFileSync(tmp, original, { mode: 0o600 });
    let lastFailed: string | undefined;
    for (;;) {
      // The path goes to the shell as "$1", so $EDITOR may hold arguments and the path needs no quoting.
      const run = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "nixlab-edit", tmp], { stdio: "inherit" });
      if (run.error || run.status !== 0) {
        const why = run.error
          ? run.error.message
          : run.signal
            ? `killed by ${run.signal}`
            : `exit status ${run.status}`;
        throw new UserError(`the editor (${editor}) failed (${why}); nothing was changed`);
      }
      const edited = readFileSync(tmp, "utf8");
      if (edited === original) {
        log("no changes; the file was not rewritten");
        return "unchanged";
      }
      try {
        file.replacePlaintext(edited);
        break;
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        if (edited === lastFailed) throw new UserError(`${error.message}; gave up, nothing was changed`);
        lastFailed = edited;
        log(`${error.message}; reopening the editor (save it unchanged to give up)`);
      }
    }
    await file.save();
    return "changed";
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    cleanup();
  }
}
