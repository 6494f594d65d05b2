/**
 * The page's files: index.html and style.css as written, app.js bundled from web/*.ts by
 * esbuild (plain modules, no framework, no external request). The local command bundles
 * them when it starts; the in-cluster server carries them inside its own bundle.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.ts";

/** The page's three files. */
export interface Assets {
  html: string;
  js: string;
  css: string;
}

// Two directories below the package root, like the CLI bundle's chunks: the same URL works from both.
const webDir = new URL("../../src/dashboard/web/", import.meta.url);

/** esbuild, loaded on first use; UserError naming `what` could not be built when it is not installed. */
export async function loadEsbuild(what: string): Promise<typeof import("esbuild")> {
  try {
    return await import("esbuild");
  } catch (cause) {
    throw new UserError(`cannot build ${what}: esbuild is not installed`, {
      cause,
      details: ["  run `npm install` in the nixlab checkout"],
    });
  }
}

/** Bundles the page. Throws UserError when esbuild is missing or the sources do not build. */
export async function bundleAssets(): Promise<Assets> {
  const esbuild = await loadEsbuild("the dashboard page");
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL("main.ts", webDir))],
    absWorkingDir: fileURLToPath(new URL("../../", import.meta.url)),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const js = result.outputFiles[0]?.text;
  if (!js) throw new Error("esbuild produced no output for the dashboard page");
  const [html, css] = await Promise.all([
    readFile(new URL("index.html", webDir), "utf8"),
    readFile(new URL("style.css", webDir), "utf8"),
  ]);
  return { html, js, css };
}
