/**
 * The completion scripts loaded in real shells (bash with bash-completion, zsh, fish),
 * typed into with Tab in a real terminal (tmux): they complete a deploy group and a node
 * tag of the bundled example cluster.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { root } from "../support/example.ts";
import { requireTool } from "../support/peers.ts";
import { nodeOnlyPath, openTerminal } from "../support/terminal.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

const shells = [
  {
    name: "bash",
    tool: "bash",
    command: ["/bin/bash", "--norc", "--noprofile"],
    load: "source /usr/share/bash-completion/bash_completion; source <(nixlab completion bash); echo loaded",
  },
  {
    name: "zsh",
    tool: "zsh",
    command: ["zsh", "-f"],
    load: "autoload -Uz compinit && compinit -u && source <(nixlab completion zsh) && echo loaded",
  },
  {
    name: "fish",
    tool: "fish",
    command: ["fish", "--no-config"],
    load: "nixlab completion fish | source; and echo loaded",
  },
] as const;

describe.each(shells)("completion in $name", (shell) => {
  it("completes a deploy group and a node tag from the example cluster", async (ctx) => {
    requireTool("tmux", ctx);
    requireTool(shell.tool, ctx);
    const dir = mkdtempSync(join(tmpdir(), "ux-complete-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bin = nodeOnlyPath(dir);
    const term = openTerminal(
      join(root, "examples/homelab"),
      { HOME: dir, PATH: `${bin}:/usr/bin:/bin`, TERM: "xterm-256color" },
      shell.command,
    );
    cleanups.push(() => term.close());
    term.line(shell.load);
    await term.waitFor(/^loaded$/m);

    term.type("nixlab deploy --only core-inf");
    term.keys("Tab");
    await term.waitFor(/nixlab deploy --only core-infrastructure /);
    term.keys("C-c");

    term.type("nixlab nodes apply --on @wor");
    term.keys("Tab");
    const screen = await term.waitFor(/nixlab nodes apply --on @worker /);
    expect(screen).not.toMatch(/error/i);
  }, 180_000);
});
