/**
 * The deploy engine the master runs: the whole CLI (src/cli/run.ts) bundled with esbuild
 * into one ESM file, so the node needs nothing but nixpkgs' Node.js (no node_modules on
 * the host).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";

// "../../" from here and from the CLI bundle in dist/<id>/ alike (scripts/bundle-cli.js).
const entry = fileURLToPath(new URL("../../src/cli/run.ts", import.meta.url));

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
  // Shared with the CLI bundle (scripts/bundle-cli.js): plain JavaScript, typed by its .d.ts.
  const { nodeBundleOptions } = await import("../../scripts/bundle-options.js");
  const result = await esbuild.build({
    ...nodeBundleOptions,
    entryPoints: [entry],
    // Paths in the bundle's comments are relative to this: the checkout, never the caller's cwd.
    absWorkingDir: fileURLToPath(new URL("../..", import.meta.url)),
    // nixpkgs' default Node.js on the nodes (nixos-25.05: Node 22).
    target: "node22",
    write: false,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no output for the deploy engine");
  return file.text;
}

/** Directory of the bundle cache: beside nixlab's own dependencies, like other tools' caches. */
const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/nixlab/", import.meta.url));
const sourceRoots = ["../../src/", "../../scripts/"].map((p) => fileURLToPath(new URL(p, import.meta.url)));
const lockFile = fileURLToPath(new URL("../../package-lock.json", import.meta.url));

/** sha256 over everything the bundle is made of: our sources, the lock file, the esbuild version. */
async function bundleKey(): Promise<string> {
  const hash = createHash("sha256");
  const { version } = await import("esbuild");
  hash.update(`esbuild ${version}\0`);
  const files: string[] = [];
  for (const root of sourceRoots) {
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
    }
  }
  for (const file of [...files.sort(), lockFile]) {
    if (!existsSync(file)) continue;
    hash.update(`${file}\0`).update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/**
 * bundleEngine, reusing the last bundle while nixlab's sources are unchanged (bundling
 * costs about a second; hashing the sources a few milliseconds). Same result either way.
 */
export async function bundleEngineCached(): Promise<string> {
  let key: string;
  try {
    key = await bundleKey();
  } catch {
    return bundleEngine();
  }
  const cached = join(cacheDir, `engine-${key}.mjs`);
  if (existsSync(cached)) return readFileSync(cached, "utf8");
  const bundle = await bundleEngine();
  try {
    mkdirSync(cacheDir, { recursive: true });
    for (const old of readdirSync(cacheDir))
      if (old.startsWith("engine-")) rmSync(join(cacheDir, old), { force: true });
    writeFileAtomic(cached, bundle);
  } catch {
    // A read-only install still builds; it just bundles every time.
  }
  return bundle;
}
