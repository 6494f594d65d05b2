/**
 * The deploy engine the master runs: bin/nixlab.js bundled with esbuild into one ESM
 * file, so the node needs nothing but nixpkgs' Node.js (no node_modules on the host).
 */
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.ts";

const entry = fileURLToPath(new URL("../../bin/nixlab.js", import.meta.url));

/** Builds the bundle in memory. Deterministic for the same sources and esbuild version. */
export async function bundleEngine(): Promise<string> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (cause) {
    throw new UserError("cannot bundle the deploy engine: esbuild is not installed", {
      cause,
      details: ["  run `npm install` in the nixlab checkout (esbuild bundles the engine for the master node)"],
    });
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    // nixpkgs' default Node.js on the nodes (nixos-25.05: Node 22).
    target: "node22",
    write: false,
    legalComments: "none",
    // `build` bundles with esbuild; the master only deploys, so esbuild stays out of the bundle.
    external: ["esbuild"],
    logLevel: "silent",
    // CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __nixlabCreateRequire } from 'node:module';\nconst require = __nixlabCreateRequire(import.meta.url);",
    },
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no output for the deploy engine");
  return file.text;
}
