/**
 * Every command's --help ends with 2–4 examples, and every example is a command line the
 * CLI accepts: its command exists and so does each flag it uses (parsed against the real
 * command tree, not run).
 */
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/main.ts";
import { commandExamples } from "../../src/cli/examples.ts";
import { commandPath } from "../../src/completion/complete.ts";
import { runCli } from "../support/cli.ts";

function visibleCommands(command: Command): Command[] {
  const subs = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  return [command, ...subs.flatMap(visibleCommands)];
}

/** The words of the first nixlab invocation in a shell line (up to a pipe, redirection or &&). */
function nixlabWords(line: string): string[] {
  const start = line.indexOf("nixlab ");
  const rest = line.slice(start + "nixlab ".length);
  const end = rest.search(/\s(\||&&|>|<)\s|\)$/);
  return (end < 0 ? rest : rest.slice(0, end)).trim().split(/\s+/);
}

const program = await createProgram();

describe("--help examples", () => {
  it.each(visibleCommands(program).map((c) => [commandPath(c) || "nixlab", c] as const))(
    "%s has 2–4 examples that parse",
    (_path, command) => {
      const examples = commandExamples[commandPath(command)];
      expect(examples, `no examples for "${commandPath(command)}"`).toBeDefined();
      expect(examples!.length).toBeGreaterThanOrEqual(2);
      expect(examples!.length).toBeLessThanOrEqual(4);
      if (command === program) return;
      for (const [, line] of examples!) {
        const words = nixlabWords(line);
        let at: Command = program;
        const flags: string[] = [];
        for (const word of words) {
          if (word.startsWith("-") && word !== "-") flags.push(word.split("=")[0]!);
          else {
            const sub = at.commands.find((c) => c.name() === word);
            if (sub && flags.length === 0) at = sub;
          }
        }
        // A group's examples may use its subcommands.
        expect(`${commandPath(at)} `.startsWith(`${commandPath(command)} `.trimStart()), line).toBe(true);
        const known = [at, ...(at.parent ? [at.parent] : [])].flatMap((c) =>
          c.options.flatMap((o) => [o.long, o.short]),
        );
        for (const flag of flags) expect(known, `${line}: ${flag}`).toContain(flag);
      }
    },
  );

  it("--help prints them at the end", async () => {
    const r = await runCli(["secrets", "set", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd()).toMatch(
      /Examples:\n {2}# Asked with hidden input on a terminal\n {2}nixlab secrets set cloudflare_token\n[\s\S]*nixlab secrets set private_ssh_key < ~\/\.ssh\/id_ed25519$/,
    );
  });
});
