/**
 * The output vocabulary every command shares: `-o, --output table|json|yaml` (table: the
 * text for people, the default) with `--json` kept as an alias of `-o json`. Structured
 * output goes to stdout and nothing else does.
 */
import { type Command, Option } from "commander";
import { stringify } from "yaml";

export const outputFormats = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof outputFormats)[number];

export interface OutputOptions {
  output: OutputFormat;
  json?: boolean;
}

/** `-o, --output table|json|yaml`: commander checks the choice and lists them when it is wrong. */
export const outputOption = (): Option =>
  new Option("-o, --output <format>", "output format").choices(outputFormats).default("table");

/** `--json`, the alias of `-o json`. */
export const jsonOption = (): Option => new Option("--json", "the same as -o json");

/** Adds `-o, --output` and `--json`. */
export function addOutputOption(command: Command): Command {
  return command.addOption(outputOption()).addOption(jsonOption());
}

/** The format asked for: --json wins over the default. */
export function outputFormat(options: OutputOptions): OutputFormat {
  return options.json ? "json" : options.output;
}

/** Prints `value` as JSON or YAML on stdout. */
export function printStructured(value: unknown, format: Exclude<OutputFormat, "table">): void {
  const plain = JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  process.stdout.write(format === "json" ? `${JSON.stringify(plain, null, 2)}\n` : stringify(plain, { lineWidth: 0 }));
}

/** Whether a structured format (json, yaml) was asked for instead of the table. */
export const structured = (options: OutputOptions): boolean => outputFormat(options) !== "table";

/** Prints `value` in the structured format `options` ask for (JSON when they ask for the table). */
export function printResult(value: unknown, options: OutputOptions): void {
  const format = outputFormat(options);
  printStructured(value, format === "table" ? "json" : format);
}
