/** The command list in src/cli/main.ts: what --help says, what each command loads, which Node it needs. */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commands, createProgram, selectedCommand } from "../../src/cli/main.ts";
import { UserError } from "../../src/errors.ts";
import { checkNodeVersion } from "../../src/node-version.ts";
import { runCli } from "../support/cli.ts";

describe("the command list", () => {
  it("names each command module's command (and the hidden ones it lists) with its own description", async () => {
    for (const entry of commands) {
      const program = new Command("nixlab");
      (await entry.load())(program);
      expect(
        program.commands.map((c) => c.name()),
        entry.name,
      ).toEqual([entry.name, ...(entry.hidden ?? [])]);
      expect(program.commands[0]!.description(), entry.name).toBe(entry.summary);
    }
  });

  it("lists every command in --help, loading none of them", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const entry of commands) expect(stdout).toMatch(new RegExp(`^  ${entry.name} +\\S`, "m"));
    const program = await createProgram([]);
    expect(program.commands.every((c) => c.options.length === 0 && c.commands.length === 0)).toBe(true);
  });

  it("loads the real definition of the command being run only", async () => {
    const program = await createProgram(["secrets"]);
    const secrets = program.commands.find((c) => c.name() === "secrets")!;
    expect(secrets.commands.map((c) => c.name())).toContain("get");
    expect(program.commands.find((c) => c.name() === "check")!.options).toEqual([]);
  });

  it("still suggests the closest command for a typo", async () => {
    const r = await runCli(["chek"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Did you mean check?");
  });

  it("finds the command in argv, also behind help", () => {
    expect(selectedCommand(["check", "-c", "x.yaml"])).toBe("check");
    expect(selectedCommand(["--version"])).toBeUndefined();
    expect(selectedCommand(["help", "deploy"])).toBe("deploy");
    expect(selectedCommand(["secrets", "get", "k"])).toBe("secrets");
  });
});

describe("checkNodeVersion", () => {
  const needs = { node: [22, 19] as const };

  it("passes a new enough Node", () => {
    expect(() => checkNodeVersion("nixlab deploy", needs, "22.19.0")).not.toThrow();
    expect(() => checkNodeVersion("nixlab deploy", needs, "24.1.0")).not.toThrow();
  });

  it("says in one line which Node a command needs and how to get it", () => {
    let error: unknown;
    try {
      checkNodeVersion("nixlab deploy", needs, "20.20.2");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      "nixlab deploy needs Node.js 22.19 or newer (this is 20.20.2): install Node 24 from https://nodejs.org",
    );
    expect(() => checkNodeVersion("nixlab deploy", needs, "22.18.9")).toThrow(UserError);
  });
});
