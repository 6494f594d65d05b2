/**
 * A real terminal for interactive commands: a tmux server of its own (private socket),
 * one pane running a shell with exactly the environment given, driven with send-keys and
 * read with capture-pane. `close()` kills that server only.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { root } from "./example.ts";

export interface Terminal {
  /** Types `text` literally (no Enter). */
  type(text: string): void;
  /** Sends tmux key names: "Enter", "Down", "C-c", "BSpace" … */
  keys(...names: string[]): void;
  /** Types `text`, then Enter. */
  line(text: string): void;
  /** The visible screen plus scrollback, as text. */
  screen(): string;
  /** Waits until the screen matches `pattern` (default 60 s, machines here are shared); throws with the screen otherwise. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Waits until the last `lines` non-empty lines of the screen match `pattern` (a prompt now being asked). */
  waitForPrompt(pattern: RegExp, lines?: number): Promise<string>;
  close(): void;
}

/**
 * A directory holding only `node` (this Node.js) and `nixlab` (the repo's CLI): a PATH
 * without wg, openssl, mkpasswd, sops or anything else.
 */
export function nodeOnlyPath(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, "node"));
  symlinkSync(join(root, "bin", "nixlab.js"), join(bin, "nixlab"));
  return bin;
}

/** Starts `shell` (default: bash without rc files) in a new tmux server, in `cwd`, with only `env` in its environment. */
export function openTerminal(
  cwd: string,
  env: Record<string, string>,
  shell: readonly string[] = ["/bin/bash", "--norc", "--noprofile"],
): Terminal {
  const socket = `ux-${randomBytes(4).toString("hex")}`;
  const tmux = (...args: string[]) => {
    const r = spawnSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  };
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  tmux(
    "new-session",
    "-d",
    "-s",
    "t",
    "-x",
    "160",
    "-y",
    "50",
    "-c",
    cwd,
    "/usr/bin/env",
    "-i",
    ...assignments,
    ...shell,
  );
  tmux("set-option", "-t", "t", "history-limit", "5000");
  const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t");
  return {
    type: (text) => void tmux("send-keys", "-t", "t", "-l", text),
    keys: (...names) => void tmux("send-keys", "-t", "t", ...names),
    line(text) {
      tmux("send-keys", "-t", "t", "-l", text);
      tmux("send-keys", "-t", "t", "Enter");
    },
    screen,
    waitFor: (pattern, timeoutMs = 60_000) => poll(screen, (text) => pattern.test(text), pattern, timeoutMs),
    waitForPrompt: (pattern, lines = 3) => poll(screen, (text) => pattern.test(tail(text, lines)), pattern, 60_000),
    close: () => {
      spawnSync("tmux", ["-L", socket, "kill-server"]);
    },
  };
}

/** The last `n` non-empty lines of `text`. */
const tail = (text: string, n: number): string =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-n)
    .join("\n");

async function poll(
  screen: () => string,
  done: (text: string) => boolean,
  what: RegExp,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on the screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
