/**
 * esbuild options every nixlab bundle shares (the CLI bundle in dist/, the deploy engine in
 * build/engine/): Node ESM, dependencies inlined, esbuild itself left out.
 */
import { builtinModules } from "node:module";

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Node's own modules through require(), never through ESM import: importing one costs a
 * few milliseconds per process (node:fs alone ~5 ms, for its namespace of every export),
 * requiring it nothing. esbuild then reads their members lazily, `fs_1.readFileSync`.
 * @type {import("esbuild").Plugin}
 */
const requireBuiltins = {
  name: "require-node-builtins",
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined;
      if (args.kind === "require-call") return { path: args.path, external: true };
      return { path: args.path, namespace: "node-builtin" };
    });
    build.onLoad({ filter: /.*/, namespace: "node-builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * Builtins a dependency requires up front but needs only for a feature nixlab does not use,
 * by dependency: loaded on first use instead. commander requires node:child_process for
 * executable subcommands (nixlab has none); loading it costs ~10 ms per start.
 */
const lazyBuiltins = { commander: new Set(["node:child_process", "child_process"]) };

/**
 * Stands in for lazyBuiltins: an object whose members load the module when first read.
 * @type {import("esbuild").Plugin}
 */
const deferBuiltins = {
  name: "defer-unused-builtins",
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (args.kind !== "require-call" || args.namespace === "deferred-builtin") return undefined;
      const by = Object.entries(lazyBuiltins).find(([dep]) => args.importer.includes(`/node_modules/${dep}/`));
      return by?.[1].has(args.path) ? { path: args.path, namespace: "deferred-builtin" } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: "deferred-builtin" }, (args) => ({
      contents: `let loaded;\nmodule.exports = new Proxy({}, { get: (_, key) => (loaded ??= require(${JSON.stringify(args.path)}))[key] });`,
      loader: "js",
    }));
  },
};

/** @type {import("esbuild").BuildOptions} */
export const nodeBundleOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  legalComments: "none",
  // `build` bundles the deploy engine with esbuild at run time: it stays an ordinary dependency.
  external: ["esbuild"],
  logLevel: "silent",
  plugins: [deferBuiltins, requireBuiltins],
  // Their "main" is a UMD build whose require() of its own files esbuild cannot follow
  // (the bundle would throw "Cannot find module './impl/format'"): their ES modules instead.
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  // CommonJS code (dependencies, and Node's modules as above) calls require(): give the ESM
  // output one, without importing node:module where Node can hand it over directly.
  banner: {
    js: 'const require = (process.getBuiltinModule?.("node:module") ?? (await import("node:module"))).createRequire(import.meta.url);',
  },
};
