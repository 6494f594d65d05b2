/** Types of bundle-cli.js (the CLI bundle in dist/); see its comments. */
export declare const packageRoot: string;
/** The bundle's main.mjs URL when it matches its sources, else undefined. Never throws. */
export declare function freshBundle(root?: string): Promise<string | undefined>;
/** Bundles the CLI into dist/<id>/; the main.mjs URL. Throws when esbuild or the file system fails. */
export declare function buildBundle(root?: string): Promise<string>;
/** freshBundle, else buildBundle. */
export declare function ensureBundle(root?: string): Promise<string>;
