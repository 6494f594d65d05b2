#!/usr/bin/env node
// nixlab's command line. Runs the CLI bundle (scripts/bundle-cli.js), made again first when
// a source changed since it was made. Where the bundle cannot be written (a read-only
// checkout) or esbuild is missing, Node's own type stripping runs the sources instead.
// Plain JavaScript, so that any Node can at least say which one nixlab needs.
const [major = 0] = process.versions.node.split(".").map(Number);
if (major < 20) {
  process.stderr.write(
    `nixlab needs Node.js 20 or newer (this is ${process.version}): install Node 24 from https://nodejs.org\n`,
  );
  process.exit(1);
}

// V8's compiled code of the launcher and the bundle, kept between runs (Node 22.1+; older ones compile each time).
if (process.getBuiltinModule) {
  const cacheDir = process
    .getBuiltinModule("node:url")
    .fileURLToPath(new URL("../dist/.compile-cache", import.meta.url));
  process.getBuiltinModule("node:module").enableCompileCache?.(cacheDir);
}
const bundler = await import("../scripts/bundle-cli.js");
let entry = await bundler.freshBundle();
if (!entry) {
  try {
    entry = await bundler.buildBundle();
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    const runSources =
      ["EACCES", "EPERM", "EROFS", "ERR_MODULE_NOT_FOUND"].includes(String(code)) &&
      process.features.typescript &&
      !bundler.packageRoot.includes("/node_modules/");
    if (!runSources) {
      const reason = error instanceof Error ? error.message : String(error);
      process.stderr.write(`nixlab: cannot bundle its sources in ${bundler.packageRoot}: ${reason}\n`);
      process.exit(70);
    }
    entry = new URL("../src/cli/main.ts", import.meta.url).href;
  }
}
if (process.env.NIXLAB_DEBUG) process.setSourceMapsEnabled(true);
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
