// `secrets edit`: the decrypted text goes to a 0600 file in memory-backed storage
// (the only place plaintext is ever written), the editor runs, the result is
// parsed and re-encrypted, and the temp directory is always removed.
import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { constants as osConstants, tmpdir } from "node:os";
import { UserError } from "../errors.ts";
import { processAlive } from "../process.ts";
import type { SecretsFile } from "./file.ts";
import { utf8Exact } from "./values.ts";

export interface EditOptions {
  /** The editor command (may contain arguments); default $VISUAL, $EDITOR, then vi. */
  editor?: string;
  /** Where to create the temp directory; default editTempRoot(). */
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

/**
 * The directory for the plaintext temp file: the user's own runtime directory (mode 0700,
 * in memory on systemd systems), else /dev/shm (in memory), else the temp directory.
 */
export function editTempRoot(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of [env.XDG_RUNTIME_DIR, "/dev/shm"]) if (writable(dir)) return dir;
  return tmpdir();
}

/** The temp directories of edit sessions: the owner's pid is in the name, so a dead session's is recognisable. */
const sessionDir = /^nixlab-secrets-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the plaintext temp directories that `secrets edit` sessions killed with
 * SIGKILL (or a power cut of a disk-backed temp dir) left behind: those in `roots`
 * (default: every place editTempRoot may pick) named by a session whose process is gone
 * and owned by this user. Returns one note per directory removed ([] when none).
 */
export function removeStaleEditDirs(roots: readonly string[] = editTempRoots()): string[] {
  const notes: string[] = [];
  for (const root of new Set(roots)) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = sessionDir.exec(name);
      if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
      const path = join(root, name);
      try {
        const st = lstatSync(path);
        if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
        rmSync(path, { recursive: true, force: true });
        notes.push(`removed ${path}: plaintext left by an interrupted \`nixlab secrets edit\` (process ${m[1]})`);
      } catch {}
    }
  }
  return notes;
}

function editTempRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.XDG_RUNTIME_DIR, "/dev/shm", tmpdir()].filter((d): d is string => Boolean(d));
}

const signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
/** How long an editor may take to quit after nixlab passed it SIGTERM/SIGHUP, before SIGKILL. */
const EDITOR_GRACE_MS = 3000;

interface Session {
  editor?: ChildProcess;
  /** The first SIGTERM/SIGHUP (or SIGINT outside the editor) received; the session then ends with it. */
  interrupted?: NodeJS.Signals;
}

interface EditorExit {
  status: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

function runEditor(editor: string, path: string, session: Session): Promise<EditorExit> {
  return new Promise((resolve) => {
    // The path goes to the shell as "$1", so $EDITOR may hold arguments and the path needs no quoting.
    // `exec` makes the editor itself our child, so a signal passed on reaches it (dash would fork);
    // an editor command with a leading assignment or a list (`a || b`) runs without it.
    const exec = /^[A-Za-z_][A-Za-z0-9_]*=|[;&|\n]/.test(editor) ? "" : "exec ";
    const child = spawn("/bin/sh", ["-c", `${exec}${editor} "$1"`, "nixlab-edit", path], { stdio: "inherit" });
    session.editor = child;
    child.once("error", (error) => resolve({ status: null, signal: null, error }));
    child.once("exit", (status, signal) => resolve({ status, signal }));
  }).finally(() => {
    session.editor = undefined;
  }) as Promise<EditorExit>;
}

/**
 * What a signal does during a session: Ctrl-C (SIGINT) while the editor runs is the
 * editor's (the terminal sends it to both); SIGTERM and SIGHUP are passed on to the
 * editor, which gets EDITOR_GRACE_MS to quit before SIGKILL. Either way the session
 * then ends, removing the plaintext, and nixlab dies of the signal.
 */
function signalHandler(session: Session): (signal: NodeJS.Signals) => void {
  return (signal) => {
    const editor = session.editor;
    if (editor && signal === "SIGINT") return;
    session.interrupted ??= signal;
    if (!editor) return;
    editor.kill(signal);
    setTimeout(() => {
      if (editor.exitCode === null && editor.signalCode === null) editor.kill("SIGKILL");
    }, EDITOR_GRACE_MS).unref();
  };
}

/**
 * Lets the user edit `file` in an editor. Re-opens the editor on a syntax error
 * (gives up with UserError when the text is saved unchanged after an error);
 * saves (atomically) only when the text changed. Throws UserError when the editor
 * fails; the secrets file is then untouched. The temp directory is always removed,
 * also when nixlab gets SIGTERM, SIGHUP or SIGINT (see signalHandler); it then
 * re-raises the signal, so its exit status says what happened. Stale directories of
 * killed sessions are removed first (removeStaleEditDirs; the notes go to `log`).
 */
export async function editSecrets(file: SecretsFile, options: EditOptions = {}): Promise<EditResult> {
  const editor = options.editor ?? (process.env.VISUAL || process.env.EDITOR || "vi");
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = options.tempRoot ?? editTempRoot();
  for (const note of removeStaleEditDirs([...editTempRoots(), root])) log(note);
  const dir = mkdtempSync(join(root, `nixlab-secrets-${process.pid}-`));
  const session: Session = {};
  const onSignal = signalHandler(session);
  for (const s of signals) process.on(s, onSignal);
  const stopIfInterrupted = () => {
    if (session.interrupted)
      throw new UserError(`interrupted by ${session.interrupted}; nothing was changed`, {
        exitCode: 128 + (osConstants.signals[session.interrupted] ?? 0),
      });
  };
  try {
    const tmp = join(dir, basename(file.path));
    const original = file.toPlaintext();
    writeFileSync(tmp, original, { mode: 0o600 });
    let lastFailed: Buffer | undefined;
    for (;;) {
      const run = await runEditor(editor, tmp, session);
      stopIfInterrupted();
      if (run.error || run.status !== 0) {
        const why = run.error
          ? run.error.message
          : run.signal
            ? `killed by ${run.signal}`
            : `exit status ${run.status}`;
        throw new UserError(`the editor (${editor}) failed (${why}); nothing was changed`);
      }
      const bytes = readFileSync(tmp);
      const edited = utf8Exact(bytes);
      if (edited === original) {
        log("no changes; the file was not rewritten");
        return "unchanged";
      }
      try {
        if (edited === null) throw new UserError("the edited file is not UTF-8 text, and nixlab stores values exactly");
        file.replacePlaintext(edited);
        break;
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        if (lastFailed?.equals(bytes)) throw new UserError(`${error.message}; gave up, nothing was changed`);
        lastFailed = bytes;
        log(`${error.message}; reopening the editor (save it unchanged to give up)`);
      }
    }
    stopIfInterrupted();
    await file.save();
    return "changed";
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const s of signals) process.removeListener(s, onSignal);
    // Die of the signal (default action, now that no handler is left), as the sender expects.
    if (session.interrupted) process.kill(process.pid, session.interrupted);
  }
}
