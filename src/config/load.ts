/**
 * Finding, reading and validating the cluster file: nixlab.config.ts, nixlab.yaml,
 * nixlab.json or vars.nix. The only part of config/ that touches the file system.
 */
import { readFileSync } from "node:fs";
import module from "node:module";
import { basename, dirname, extname } from "node:path";
import { pathToFileURL } from "node:url";
import { CORE_SCHEMA, load as loadYaml } from "js-yaml";
import { LineCounter, parseDocument } from "yaml";
import { type Cluster, buildCluster } from "../cluster/model.ts";
import { ExitCode, UserError } from "../errors.ts";
import { type ConfigProblem, type FieldPath, formatPath } from "./problems.ts";
import { validateConfig } from "./validate.ts";
import { type LoadOptions, clusterFileNames, findClusterFile } from "./find.ts";
import { duplicateKeys } from "./yaml-keys.ts";

export { type LoadOptions, clusterFileNames, findClusterFile } from "./find.ts";

/** Raised for an invalid cluster file; `problems` are also in `details`, one per line. */
export class ConfigError extends UserError {
  readonly problems: ConfigProblem[];
  readonly file: string;

  constructor(file: string, problems: ConfigProblem[], locate: (path: FieldPath) => string | undefined) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${file}: ${count}`, {
      exitCode: ExitCode.invalidInput,
      details: problems.flatMap((p) => {
        const where = locate(p.path);
        return [`  ${formatPath(p.path)}${where ? ` (${where})` : ""}: ${p.message}`, `      fix: ${p.fix}`];
      }),
    });
    this.problems = problems;
    this.file = file;
  }
}

interface RawSource {
  value: unknown;
  /** file:line:column of a field, where the format allows it. */
  locate: (path: FieldPath) => string | undefined;
}

/**
 * What `import … from "nixlab"` in a cluster file loads: the library entry of this very
 * nixlab, so the file needs no node_modules beside it. From the CLI bundle (dist/<id>/)
 * that is the bundle's index.mjs, from the sources src/index.ts.
 */
const libraryUrl = import.meta.url.endsWith(".ts")
  ? new URL("../index.ts", import.meta.url).href
  : new URL("./index.mjs", import.meta.url).href;

let resolvingNixlab = false;

/**
 * Makes "nixlab" resolve to libraryUrl in modules loaded from now on (Node 22.15+; on older
 * ones it resolves through node_modules as usual). Throws UserError when this Node cannot
 * load TypeScript at all.
 */
function prepareModuleLoading(name: string, ext: string): void {
  if ((ext === ".ts" || ext === ".mts") && !process.features.typescript) {
    throw new UserError(
      `${name} needs Node.js 22.18 or newer to load TypeScript (this is ${process.version}): install Node 24 from https://nodejs.org, or use nixlab.yaml`,
      { exitCode: ExitCode.invalidInput },
    );
  }
  if (resolvingNixlab || !module.registerHooks) return;
  module.registerHooks({
    resolve: (specifier, context, next) =>
      specifier === "nixlab" ? { url: libraryUrl, shortCircuit: true } : next(specifier, context),
  });
  resolvingNixlab = true;
}

/** Reads a cluster file to a raw value without validating it. Throws UserError on syntax errors. */
export async function readClusterSource(path: string): Promise<RawSource> {
  const name = basename(path);
  const ext = extname(path);
  if (ext === ".ts" || ext === ".mts" || ext === ".js" || ext === ".mjs") {
    let mod: { default?: unknown };
    prepareModuleLoading(name, ext);
    try {
      mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    } catch (error) {
      throw new UserError(`${name} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, {
        exitCode: ExitCode.invalidInput,
        details: ["  it must be valid TypeScript that does `export default defineConfig({ ... })`"],
      });
    }
    if (mod.default === undefined) {
      throw new UserError(`${name} has no default export`, {
        exitCode: ExitCode.invalidInput,
        details: ['  add `export default defineConfig({ ... })` (import { defineConfig } from "nixlab")'],
      });
    }
    return { value: mod.default, locate: () => undefined };
  }
  const text = readFileSync(path, "utf8");
  if (ext === ".nix") {
    const nix = (await import("../nix/index.ts")) as {
      evaluateNix: (s: string, o: { file: string; baseDir: string }) => unknown;
    };
    return { value: nix.evaluateNix(text, { file: path, baseDir: dirname(path) }), locate: () => undefined };
  }
  if (ext === ".json") {
    try {
      return { value: JSON.parse(text), locate: () => undefined };
    } catch (error) {
      throw new UserError(`${name} is not valid JSON: ${(error as Error).message}`, {
        exitCode: ExitCode.invalidInput,
      });
    }
  }
  if (ext === ".yaml" || ext === ".yml") {
    const fast = quickYaml(text);
    if (!fast) return slowYaml(name, text);
    // Positions are needed only to report problems: parsed for them on the first one.
    let positioned: RawSource | undefined;
    const locate = (fieldPath: FieldPath): string | undefined => {
      positioned ??= slowYaml(name, text);
      return positioned.locate(fieldPath);
    };
    return { value: fast.value, locate };
  }
  throw new UserError(`${name}: unknown cluster file type "${ext}"`, {
    exitCode: ExitCode.invalidInput,
    details: [`  use one of ${clusterFileNames.join(", ")}`],
  });
}

/**
 * An anchor or alias may start here (the slow path bounds alias expansion), or a directive
 * (`%YAML 1.1` changes the schema): such files take the slow path.
 */
const slowPathOnly = /(^|[\s[{,:])[&*]|^%/m;

/**
 * The cluster file's value by js-yaml (YAML 1.2 core schema, as the yaml library's), about
 * five times faster than the yaml library's document with positions. Undefined when js-yaml
 * refuses the text (syntax, duplicate keys, several documents, tags beyond the core
 * schema) or slowPathOnly matches: slowYaml then reports the problems with their lines.
 */
function quickYaml(text: string): { value: unknown } | undefined {
  if (slowPathOnly.test(text)) return undefined;
  try {
    const value = loadYaml(text, { schema: CORE_SCHEMA });
    // An empty document: the yaml library's null, and its message.
    return value === undefined ? undefined : { value };
  } catch {
    return undefined;
  }
}

/**
 * The cluster file's value and where each field is, by the yaml library. Throws UserError
 * listing every syntax error and duplicate key with its line.
 */
function slowYaml(name: string, text: string): RawSource {
  const lineCounter = new LineCounter();
  // Duplicate keys in linear time (yaml-keys.ts), not by the library's pairwise check.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const errors = [...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message })), ...duplicateKeys(doc)].sort(
    (a, b) => a.offset - b.offset,
  );
  if (errors.length > 0) {
    throw new UserError(`${name} is not valid YAML`, {
      exitCode: ExitCode.invalidInput,
      details: errors.map((e) => {
        const pos = lineCounter.linePos(e.offset);
        return `  ${name}:${pos.line}:${pos.col}: ${e.message.split("\n")[0]}`;
      }),
    });
  }
  const locate = (fieldPath: FieldPath): string | undefined => {
    for (let n = fieldPath.length; n >= 0; n--) {
      const node = doc.getIn(fieldPath.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const range = node && typeof node === "object" ? node.range : undefined;
      if (range) {
        const pos = lineCounter.linePos(range[0]);
        return `${name}:${pos.line}:${pos.col}`;
      }
    }
    return undefined;
  };
  return { value: doc.toJS({ maxAliasCount: 100 }), locate };
}

/** Validates a raw value into a Cluster. Throws ConfigError listing every problem. */
export function clusterFromValue(value: unknown, file: string, locate: RawSource["locate"] = () => undefined): Cluster {
  const result = validateConfig(value);
  if (!result.ok) throw new ConfigError(basename(file), result.problems, locate);
  return buildCluster(result.config, file);
}

/** Finds, reads and validates the cluster file. Throws UserError (exit code 2) on any problem. */
export async function loadCluster(options: LoadOptions = {}): Promise<Cluster> {
  const path = findClusterFile(options);
  const source = await readClusterSource(path);
  return clusterFromValue(source.value, path, source.locate);
}
