/**
 * Worker thread that imports a TypeScript/JavaScript cluster file and posts its default
 * export as plain data (see module.ts). Running the user's module here means a
 * `process.exit`, an endless loop or a memory blow-up ends this thread, not nixlab.
 */
import module from "node:module";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import type { ModuleOutcome } from "./module.ts";
import { errorText, toPlainData } from "./plain.ts";

const post = (outcome: ModuleOutcome) => parentPort!.postMessage(outcome);

// process.exit ends only this thread; say so before it does.
const exit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => {
  post({ kind: "exited", code: Number(code ?? process.exitCode ?? 0) });
  return exit(code);
}) as typeof process.exit;

process.on("unhandledRejection", (reason) => {
  post({ kind: "threw", message: `a promise was rejected and nothing handled it: ${errorText(reason)}` });
});

/**
 * What `import … from "nixlab"` in a cluster file loads: the library entry of this very
 * nixlab, so the file needs no node_modules beside it. In the CLI bundle (dist/<id>/) that
 * is the bundle's index.mjs beside this worker, from the sources src/index.ts.
 */
const libraryUrl = import.meta.url.endsWith(".ts")
  ? new URL("../index.ts", import.meta.url).href
  : new URL("./index.mjs", import.meta.url).href;

// Node 22.15+; on older ones "nixlab" resolves through node_modules as usual.
module.registerHooks?.({
  resolve: (specifier, context, next) =>
    specifier === "nixlab" ? { url: libraryUrl, shortCircuit: true } : next(specifier, context),
});

async function load(path: string): Promise<ModuleOutcome> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    return { kind: "threw", message: errorText(error) };
  }
  if (!("default" in mod) || mod.default === undefined) return { kind: "no-default" };
  let value: unknown;
  try {
    value = mod.default;
    // `export default (async () => ({ … }))()` is a promise of the configuration.
    if (value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function") {
      value = await value;
    }
  } catch (error) {
    return { kind: "threw", message: errorText(error) };
  }
  const plain = toPlainData(value);
  return { kind: "ok", value: plain.value, problems: plain.problems };
}

// No top-level await: when the module's default export never settles, the thread just
// ends (the loader reports that), without Node's warning about an unsettled await.
void load((workerData as { path: string }).path).then((outcome) => {
  // One macrotask later, so a promise the module rejected without handling is reported first.
  setImmediate(() => post(outcome));
});
