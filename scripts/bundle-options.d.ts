import type { BuildOptions } from "esbuild";

/** esbuild options every nixlab bundle shares (see bundle-options.js). */
export declare const nodeBundleOptions: BuildOptions;
