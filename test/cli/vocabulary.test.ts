/**
 * One flag vocabulary across commands (docs/cli.md): a short flag means one thing
 * everywhere, -c is the cluster file, -o the output format (with --json as its alias),
 * --secrets the SOPS file, --out a directory, and no -f that means format, file or force.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/main.ts";
import { commandPath } from "../../src/completion/complete.ts";
import { root } from "../support/example.ts";
import { runCli } from "../support/cli.ts";

const program = await createProgram();

function commands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commands)];
}

const options = commands(program).flatMap((c) =>
  c.options.filter((o) => !o.hidden).map((o) => ({ command: commandPath(c) || "nixlab", option: o })),
);
const where = (rows: Array<{ command: string; option: Option }>) => rows.map((r) => `${r.command} ${r.option.flags}`);

/** The only short flags, each with its one meaning. */
const shorts: Record<string, string> = {
  "-c": "--config",
  "-o": "--output",
  "-y": "--yes",
  "-V": "--version",
};

describe("flag vocabulary", () => {
  it("every short flag has one meaning", () => {
    const wrong = options.filter(({ option }) => option.short && shorts[option.short] !== option.long);
    expect(where(wrong)).toEqual([]);
  });

  it("no --file or --format (the old -f meant format, file or force)", () => {
    expect(where(options.filter(({ option }) => ["--file", "--format"].includes(option.long ?? "")))).toEqual([]);
  });

  it("-o/--output is the output format; every --json is its alias", () => {
    for (const c of commands(program)) {
      const output = c.options.find((o) => o.long === "--output");
      const json = c.options.find((o) => o.long === "--json");
      if (json) expect(output?.argChoices, `${commandPath(c)} has --json but no -o json`).toContain("json");
      if (output?.argChoices?.includes("json")) {
        expect(output.argChoices, commandPath(c)).toEqual(expect.arrayContaining(["table", "json", "yaml"]));
        expect(json, `${commandPath(c)} -o json without --json`).toBeDefined();
      }
    }
  });

  it("--secrets names the SOPS file wherever one is read", () => {
    const secretsCommands = commands(program).filter((c) => commandPath(c).startsWith("secrets "));
    for (const c of secretsCommands)
      expect(
        c.options.map((o) => o.long),
        commandPath(c),
      ).toContain("--secrets");
  });

  it("--out is always a directory", () => {
    const outs = options.filter(({ option }) => option.long === "--out");
    for (const { command, option } of outs) expect(option.flags, command).toBe("--out <dir>");
  });

  it("-c/--config is the cluster file wherever it appears", () => {
    const configs = options.filter(({ option }) => option.long === "--config");
    for (const { command, option } of configs) expect(option.flags, command).toBe("-c, --config <file>");
  });

  it("import writes nixlab.yaml when --to is not given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ux-import-"));
    try {
      const r = await runCli(["import", join(root, "examples/homelab/vars.nix")], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(dir, "nixlab.yaml"), "utf8")).toContain("domain: home.example.com");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("-o yaml prints the same data as --json", async () => {
    const yaml = await runCli(["check", "-c", join(root, "examples/homelab/nixlab.yaml"), "-o", "yaml"]);
    const json = await runCli(["check", "-c", join(root, "examples/homelab/nixlab.yaml"), "--json"]);
    expect(yaml.code).toBe(0);
    const { parse } = await import("yaml");
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
  });
});
