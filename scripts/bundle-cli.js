/**
 * The CLI bundle: src/cli/main.ts and the library entry src/index.ts bundled by esbuild
 * into dist/<id>/ with code splitting, so that a command loads only its own modules and
 * dependencies (the Kubernetes client, age/SOPS, the Nix evaluator each sit in the chunks
 * of the commands that use them). `npm install` makes it (postinstall); bin/nixlab.js
 * makes it again whenever a file it was made from changed: a stale bundle never runs.
 *
 * dist/current.json names the bundle and every file it was made from with its size,
 * times and sha256. Checking it costs one stat per file; a file whose stat differs is
 * hashed, so a touched but unchanged file costs a hash and never a rebuild.
 *
 * dist/<id>/ is two directories below the package root, like src/<dir>/*.ts, so the
 * sources' `new URL("../../nix/", import.meta.url)` mean the same in the bundle.
 *
 * Plain JavaScript (no type stripping), so that every Node the launcher runs on can use it.
 * Run as a script (`node scripts/bundle-cli.js`) it makes the bundle unless it is fresh.
 */

/**
 * A Node module without ESM's import of it, which costs milliseconds per process
 * (process.getBuiltinModule: Node 20.16+ and 22.3+; older ones import it).
 * @param {string} id
 * @param {() => Promise<any>} load
 */
const builtin = async (id, load) => process.getBuiltinModule?.(id) ?? (await load());
const fs = await builtin("node:fs", () => import("node:fs"));
const { dirname, join, relative, resolve, sep } = await builtin("node:path", () => import("node:path"));
const { fileURLToPath, pathToFileURL } = await builtin("node:url", () => import("node:url"));

/** The nixlab package this script belongs to. */
export const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/** Replaced bundles are removed this long after (a running nixlab may still load their chunks). */
const keepReplacedMs = 10 * 60 * 1000;

/**
 * @typedef {{ size: number, mtime: number, ctime: number, sha256: string }} InputStamp
 * @typedef {{ id: string, inputs: Record<string, InputStamp> }} Manifest
 */

/** @param {string} root */
const manifestPath = (root) => join(root, "dist", "current.json");

/**
 * The file URL of the bundle's main.mjs when dist/current.json matches every file the
 * bundle was made from; undefined when there is no bundle or any of them changed.
 * Never throws.
 * @param {string} [root]
 * @returns {Promise<string | undefined>}
 */
export async function freshBundle(root = packageRoot) {
  /** @type {Manifest} */
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath(root), "utf8"));
  } catch {
    return undefined;
  }
  const main = join(root, "dist", manifest.id, "main.mjs");
  if (!fs.existsSync(main)) return undefined;
  let touched = false;
  for (const [file, stamp] of Object.entries(manifest.inputs)) {
    const path = resolve(root, file);
    const now = statStamp(path);
    if (!now) return undefined;
    if (now.size === stamp.size && now.mtime === stamp.mtime && now.ctime === stamp.ctime) continue;
    if ((await sha256(path)) !== stamp.sha256) return undefined;
    manifest.inputs[file] = { ...now, sha256: stamp.sha256 };
    touched = true;
  }
  // Same content, new times (a checkout, a save without changes): remember them.
  if (touched) tryWriteAtomic(manifestPath(root), JSON.stringify(manifest));
  return pathToFileURL(main).href;
}

/**
 * Bundles the CLI into dist/<id>/ and points dist/current.json at it; returns the file URL
 * of its main.mjs. Throws when esbuild fails or dist/ cannot be written.
 * @param {string} [root]
 * @returns {Promise<string>}
 */
export async function buildBundle(root = packageRoot) {
  // Our files are stamped before bundling: one saved meanwhile no longer matches its stamp.
  /** @type {Map<string, InputStamp>} */
  const sources = new Map();
  for (const dir of ["src", "scripts"]) {
    for (const entry of fs.readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath ?? entry.path, entry.name);
      sources.set(path, await fullStamp(path));
    }
  }
  const esbuild = await import("esbuild");
  const { nodeBundleOptions } = await import("./bundle-options.js");
  const result = await esbuild.build({
    ...nodeBundleOptions,
    absWorkingDir: root,
    entryPoints: {
      main: join(root, "src/cli/main.ts"),
      index: join(root, "src/index.ts"),
      // TypeScript cluster files are loaded in this worker (src/config/module.ts).
      "module-worker": join(root, "src/config/module-worker.ts"),
    },
    splitting: true,
    // The oldest Node nixlab runs on (README); the launcher refuses older ones.
    target: "node20",
    outdir: join(root, "dist", "out"),
    outExtension: { ".js": ".mjs" },
    sourcemap: "linked",
    write: false,
    metafile: true,
  });
  /** @type {Record<string, InputStamp>} */
  const inputs = {};
  const { createRequire } = await builtin("node:module", () => import("node:module"));
  const dependencies = new Set([
    join(root, "package.json"),
    fileURLToPath(import.meta.url),
    createRequire(join(root, "package.json")).resolve("esbuild/package.json"),
  ]);
  for (const input of Object.keys(result.metafile.inputs)) {
    // Plugin-made modules (namespace:path) have no file.
    if (/^[a-z-]+:/.test(input)) continue;
    const path = resolve(root, input);
    const stamp = sources.get(path);
    if (stamp) inputs[relative(root, path)] = stamp;
    else dependencies.add(packageJsonOf(path));
  }
  for (const path of dependencies) inputs[relative(root, path)] = sources.get(path) ?? (await fullStamp(path));
  const { createHash } = await builtin("node:crypto", () => import("node:crypto"));
  const id = createHash("sha256")
    .update(JSON.stringify(Object.entries(inputs).map(([file, s]) => [file, s.sha256])))
    .digest("hex")
    .slice(0, 16);
  installBundle(root, id, result.outputFiles, inputs);
  return pathToFileURL(join(root, "dist", id, "main.mjs")).href;
}

/**
 * The main.mjs URL of a fresh bundle, making it first if needed. Throws when it has to be
 * made and cannot be (see buildBundle).
 * @param {string} [root]
 * @returns {Promise<string>}
 */
export async function ensureBundle(root = packageRoot) {
  return (await freshBundle(root)) ?? (await buildBundle(root));
}

/**
 * Writes the bundle's files into dist/<id>/ (whole or not at all), points dist/current.json
 * at it, and removes bundles replaced long enough ago.
 * @param {string} root
 * @param {string} id
 * @param {ReadonlyArray<{ path: string, contents: Uint8Array }>} files
 * @param {Record<string, InputStamp>} inputs
 */
function installBundle(root, id, files, inputs) {
  const dist = join(root, "dist");
  const target = join(dist, id);
  const temp = join(dist, `${id}.${process.pid}.tmp`);
  fs.rmSync(temp, { recursive: true, force: true });
  fs.mkdirSync(temp, { recursive: true });
  for (const file of files) fs.writeFileSync(join(temp, relative(join(dist, "out"), file.path)), file.contents);
  try {
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    // Another process made the same bundle meanwhile: theirs is as good as ours.
    if (!fs.existsSync(join(target, "main.mjs"))) throw error;
  }
  writeAtomic(manifestPath(root), JSON.stringify({ id, inputs }));
  const now = Date.now();
  for (const name of fs.readdirSync(dist)) {
    if (name === id || !/^[0-9a-f]{16}(\.\d+\.tmp)?$/.test(name)) continue;
    const stat = fs.statSync(join(dist, name), { throwIfNoEntry: false });
    if (stat && now - stat.mtimeMs > keepReplacedMs) fs.rmSync(join(dist, name), { recursive: true, force: true });
  }
}

/**
 * The package.json of the npm package a dependency file belongs to.
 * @param {string} path
 */
function packageJsonOf(path) {
  const marker = `${sep}node_modules${sep}`;
  const at = path.lastIndexOf(marker);
  if (at < 0) throw new Error(`bundle input outside src/, scripts/ and node_modules: ${path}`);
  const rest = path.slice(at + marker.length).split(sep);
  const name = rest[0]?.startsWith("@") ? rest.slice(0, 2) : rest.slice(0, 1);
  return join(path.slice(0, at + marker.length), ...name, "package.json");
}

/**
 * Size and times of a file (sha256 left empty), or undefined when it is gone.
 * @param {string} path
 * @returns {InputStamp | undefined}
 */
function statStamp(path) {
  // Milliseconds as doubles keep a fraction of a microsecond: bigint nanoseconds cost more to read.
  const stat = fs.statSync(path, { throwIfNoEntry: false });
  if (!stat) return undefined;
  return { size: stat.size, mtime: stat.mtimeMs, ctime: stat.ctimeMs, sha256: "" };
}

/**
 * statStamp with the content's sha256. Throws when the file is gone.
 * @param {string} path
 * @returns {Promise<InputStamp>}
 */
async function fullStamp(path) {
  const stamp = statStamp(path);
  if (!stamp) throw new Error(`bundle input ${path} vanished while bundling`);
  return { ...stamp, sha256: await sha256(path) };
}

/**
 * Hex sha256 of a file's content; "" when it cannot be read.
 * @param {string} path
 */
async function sha256(path) {
  const { createHash } = await builtin("node:crypto", () => import("node:crypto"));
  try {
    return createHash("sha256").update(fs.readFileSync(path)).digest("hex");
  } catch {
    return "";
  }
}

/** @param {string} path @param {string} text */
function writeAtomic(path, text) {
  const temp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, path);
}

/** @param {string} path @param {string} text */
function tryWriteAtomic(path, text) {
  try {
    writeAtomic(path, text);
  } catch {
    // A read-only install hashes the touched files again next time; nothing else is lost.
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // `npm install` runs this; a failure leaves bin/nixlab.js to bundle (and report) at first run.
  try {
    const fresh = await freshBundle();
    const entry = fresh ?? (await buildBundle());
    const dir = relative(packageRoot, dirname(fileURLToPath(entry)));
    console.log(fresh ? `nixlab: CLI bundle ${dir} is up to date` : `nixlab: CLI bundle made in ${dir}`);
  } catch (error) {
    console.warn(
      `nixlab: could not bundle the CLI now (${error instanceof Error ? error.message : error}); it will at first run`,
    );
  }
}
