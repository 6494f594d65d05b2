/**
 * Worker thread that imports a TypeScript/JavaScript cluster file and posts its default
 * export as plain data (see module.ts). Running the user's module here means a
 * `process.exit`, an endless loop or a memory blow-up ends this thread, not nixlab.
 */
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import type { ModuleOutcome } from "./module.ts";
import { errorText, toPlainData } from "./plain.ts";

const post = (outcome: ModuleOutcome) => parentPort!.postMessage(outcome);

process.on("unhandledRejection", (reason) => {
  post({ kind: "threw", message: `a promise was rejected and nothing handled it: ${errorText(reason)}` });
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

const outcome = await load((workerData as { path: string }).path);
// One macrotask later, so a promise the module rejected without handling is reported first.
await new Promise((resolve) => setImmediate(resolve));
post(outcome);
