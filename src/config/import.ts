/** `nixlab import`: a Nix-only nixlab's vars.nix becomes a cluster file (YAML, TypeScript or JSON). */
import { existsSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { stringify } from "yaml";
import { ExitCode, UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { evaluateNixFile } from "../nix/index.ts";
import { clusterFromValue } from "./load.ts";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A TypeScript literal for JSON-like data; keys stay unquoted where that is valid. */
export function tsLiteral(value: unknown, indent = ""): string {
  if (value === null || typeof value === "boolean" || typeof value === "number") return JSON.stringify(value);
  if (typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => `${inner}${tsLiteral(v, inner)},\n`).join("")}${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const key = (k: string) =>
    // A literal `__proto__:` key would set the prototype; the computed form is an own key.
    k === "__proto__" ? `["__proto__"]` : IDENTIFIER.test(k) ? k : JSON.stringify(k);
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${tsLiteral(v, inner)},\n`).join("")}${indent}}`;
}

/** The text of the target file for an evaluated vars.nix, chosen by the target's extension. */
function renderImport(value: unknown, target: string): string {
  const ext = extname(target);
  if (ext === ".yaml" || ext === ".yml") {
    return `# Imported from vars.nix by \`nixlab import\`.\n${stringify(value, { lineWidth: 0 })}`;
  }
  if (ext === ".ts" || ext === ".mts") {
    return `import { defineConfig } from "nixlab";\n\nexport default defineConfig(${tsLiteral(value)});\n`;
  }
  if (ext === ".json") return `${JSON.stringify(value, null, 2)}\n`;
  throw new UserError(`cannot import to ${basename(target)}: unknown file type "${ext}"`, {
    exitCode: ExitCode.invalidInput,
    details: ["  use --to nixlab.yaml, nixlab.config.ts or nixlab.json"],
  });
}

/**
 * Evaluates `source` (vars.nix), validates it as a cluster file and writes it to `target`
 * atomically. Throws UserError when the target exists (without `force`), when its type is
 * unknown, or when the value is not a valid cluster (each problem names its field).
 */
export function importVarsNix(source: string, target: string, options: { force?: boolean } = {}): void {
  const path = resolve(target);
  if (existsSync(path) && !options.force) {
    throw new UserError(`${target} already exists`, {
      exitCode: ExitCode.failure,
      details: ["  pass --force to overwrite it"],
    });
  }
  const value = evaluateNixFile(source);
  // Refuse to write a cluster file nixlab would reject; every problem names its field.
  clusterFromValue(value, resolve(source));
  writeFileAtomic(path, renderImport(value, path), 0o644);
}
