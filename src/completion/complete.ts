/**
 * Shell completion: the candidates for the word being typed, from the command tree
 * (commands, flags, fixed choices) and the cluster file (deploy groups, node names and
 * @tags, VPN users and groups, secret names). The shell scripts call `nixlab __complete
 * -- WORDS…` and print what this returns; a file or directory argument is left to the
 * shell's own completion. Pure except for `ValueSource`.
 */
import type { Argument, Command, Option } from "commander";

/** What a value is, for the values that come from the cluster file or the shell. */
export type ValueKind =
  | "deploy-group"
  | "node"
  | "node-selector"
  | "vpn-user"
  | "vpn-group"
  /** A VPN user or an access group. */
  | "vpn-subject"
  | "secret"
  | "file"
  | "dir";

/** A completion: the word and, for shells that show them, a description. */
export interface Candidate {
  value: string;
  description?: string;
}

/** The answer: candidates, or "let the shell complete a file / directory". */
export type Completion = { candidates: Candidate[] } | { shell: "file" | "dir" };

/** The values of a kind (cluster file found from the words typed so far, e.g. -c). Never throws: [] when unknown. */
export type ValueSource = (kind: ValueKind, words: readonly string[]) => Promise<string[]>;

/**
 * Which values an option or argument takes, by its long flag or `<name>` (or, where an
 * argument's name is generic, by "command path <name>"): one vocabulary across commands
 * (docs/cli.md), so one table serves them all.
 */
export const valueKinds: Readonly<Record<string, ValueKind>> = {
  "--only": "deploy-group",
  "--on": "node-selector",
  "--group": "vpn-group",
  "<host>": "node",
  "<key>": "secret",
  "<user>": "vpn-user",
  "--config": "file",
  "--secrets": "file",
  "--kubeconfig": "file",
  "--age-key-file": "file",
  "--plan": "file",
  "--password-file": "file",
  "--cloudflare-token-file": "file",
  "--ssh-key": "file",
  "<vars.nix>": "file",
  "--out": "dir",
  "--build": "dir",
  "--state": "dir",
  "--secrets-dir": "dir",
  "--log-dir": "dir",
  "[dir]": "dir",
  "vpn access [subject]": "vpn-subject",
  "vpn show <name>": "vpn-user",
  "vpn rotate <name>": "vpn-user",
  "vpn disable <name>": "vpn-user",
  "vpn enable <name>": "vpn-user",
  "vpn remove <name>": "vpn-user",
};

/** The command path of `command` below the program: "" for the program, "vpn show" … */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

const takesValue = (o: Option): boolean => o.required || o.optional;
const isVariadic = (o: Option): boolean => o.variadic;

function findOption(command: Command, flag: string): Option | undefined {
  const options = [...command.options, ...ancestors(command).flatMap((c) => c.options)];
  return options.find((o) => o.long === flag || o.short === flag);
}

function ancestors(command: Command): Command[] {
  const out: Command[] = [];
  for (let c = command.parent; c; c = c.parent) out.push(c);
  return out;
}

const visible = (command: Command): Command[] =>
  command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);

/** Where the words typed so far leave us: the command, the option waiting for a value, the positional index. */
interface Position {
  command: Command;
  pendingOption?: Option;
  positional: number;
}

function walk(program: Command, typed: readonly string[]): Position {
  let command = program;
  let pendingOption: Option | undefined;
  let variadicOption: Option | undefined;
  let positional = 0;
  let afterDashes = false;
  for (const word of typed) {
    if (pendingOption) {
      if (isVariadic(pendingOption)) variadicOption = pendingOption;
      pendingOption = undefined;
      continue;
    }
    if (!afterDashes && word === "--") {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && word.startsWith("-") && word !== "-") {
      variadicOption = undefined;
      const [flag, inline] = word.split("=", 2) as [string, string | undefined];
      const option = findOption(command, flag!);
      if (option && takesValue(option) && inline === undefined) pendingOption = option;
      continue;
    }
    if (variadicOption) continue;
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && positional === 0) {
      command = sub;
      continue;
    }
    positional++;
  }
  return {
    command,
    ...(pendingOption ? { pendingOption } : variadicOption ? { pendingOption: variadicOption } : {}),
    positional,
  };
}

const argKey = (a: Argument): string => (a.required ? `<${a.name()}>` : `[${a.name()}${a.variadic ? "..." : ""}]`);

/** Candidates for a value of `kind`, or the shell's file/dir completion. */
async function valuesOf(
  kind: ValueKind | undefined,
  choices: readonly string[] | undefined,
  current: string,
  typed: readonly string[],
  source: ValueSource,
): Promise<Completion> {
  if (choices && choices.length > 0) return { candidates: choices.map((value) => ({ value })) };
  if (kind === "file" || kind === "dir") return { shell: kind };
  if (!kind) return { candidates: [] };
  const values = await source(kind, typed);
  if (kind !== "node-selector") return { candidates: values.map((value) => ({ value })) };
  // A selector is comma-separated: complete its last part, keep the rest.
  const head = current.includes(",") ? current.slice(0, current.lastIndexOf(",") + 1) : "";
  return { candidates: values.map((value) => ({ value: head + value })) };
}

/**
 * The completion of the last of `words` (the words after `nixlab`; the last one is the
 * word being typed, "" for a new word) within `program`. Never throws for any input
 * the shell may send; errors of `source` count as no values.
 */
export async function complete(program: Command, words: readonly string[], source: ValueSource): Promise<Completion> {
  const typed = words.slice(0, -1);
  const current = words.at(-1) ?? "";
  const safe: ValueSource = async (kind, w) => {
    try {
      return await source(kind, w);
    } catch {
      return [];
    }
  };
  const position = walk(program, typed);
  let result: Completion;
  if (position.pendingOption && !(current.startsWith("-") && isVariadic(position.pendingOption))) {
    const option = position.pendingOption;
    result = await valuesOf(valueKinds[option.long ?? ""], option.argChoices, current, typed, safe);
  } else if (current.startsWith("-")) {
    const options = [...position.command.options, ...ancestors(position.command).flatMap((c) => c.options)].filter(
      (o) => !o.hidden,
    );
    result = {
      candidates: [
        ...options.flatMap((o) =>
          [o.long, o.short].filter((f): f is string => !!f).map((value) => ({ value, description: o.description })),
        ),
        { value: "--help", description: "show help for the command" },
      ],
    };
  } else if (visible(position.command).length > 0 && position.positional === 0) {
    result = {
      candidates: visible(position.command).map((c) => ({
        value: c.name(),
        description: c.summary() || c.description(),
      })),
    };
  } else {
    const args = position.command.registeredArguments;
    const arg = args[Math.min(position.positional, args.length - 1)];
    result =
      arg && (position.positional < args.length || arg.variadic)
        ? await valuesOf(
            valueKinds[`${commandPath(position.command)} ${argKey(arg)}`] ?? valueKinds[argKey(arg)],
            arg.argChoices,
            current,
            typed,
            safe,
          )
        : { candidates: [] };
  }
  if ("shell" in result) return result;
  const seen = new Set<string>();
  return {
    candidates: result.candidates.filter((c) => c.value.startsWith(current) && !seen.has(c.value) && seen.add(c.value)),
  };
}

/** The lines `nixlab __complete` prints: `value<TAB>description`, or `__files__` / `__dirs__`. */
export function formatCompletion(completion: Completion): string {
  if ("shell" in completion) return completion.shell === "file" ? "__files__\n" : "__dirs__\n";
  return completion.candidates
    .map((c) => (c.description ? `${c.value}\t${c.description.split("\n")[0]!.replace(/\t/g, " ")}` : c.value))
    .map((line) => `${line}\n`)
    .join("");
}
