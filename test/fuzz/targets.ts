// The fuzz targets of issue 14: what each feeds in and runs. A target's run may throw the
// project's UserError (bad input, clearly reported); any other exception is a crash.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { clusterFromValue, parseClusterText } from "../../src/config/load.ts";
import { evaluateNix, NixError, printNix } from "../../src/nix/index.ts";
import { renderCluster } from "../../src/render/build.ts";
import { parseIdentities } from "../../src/secrets/age.ts";
import { openSecrets } from "../../src/secrets/file.ts";
import { valuesGuards } from "../../src/services/guards.ts";
import { helmCharts, images } from "../../src/services/versions.ts";
import { nastyString, nixExpression } from "../nix/gen.ts";
import { mutated } from "./mutate.ts";

export interface FuzzTarget<T = unknown> {
  name: string;
  description: string;
  inputs: fc.Arbitrary<T>;
  /** Runs one input. Throws UserError for input it rightly refuses. */
  run: (input: T) => unknown;
  /** The input as text, for the failure report. */
  show: (input: T) => string;
}

const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

// ---------------------------------------------------------------- config: load + validate + render

const example = parseYaml(read("examples/homelab/nixlab.yaml")) as Record<string, unknown>;

/** Values users get wrong, or attackers try: odd strings, numbers at the edges, nesting. */
const hostileScalar = fc.oneof(
  nastyString,
  fc.constantFrom(
    "",
    "latest",
    "caddy:latest",
    "caddy",
    "/dev/../etc/shadow",
    "/dev/sda",
    "http://x/",
    "oci://r/c",
    "1.2.3; reboot",
    "10.0.100.2",
    "192.168.1.250",
    "0.0.0.0/0",
    "admin",
    "a\nb",
    "\u0000",
    "${x}",
    "x".repeat(300),
    "__proto__",
    "ssh-ed25519 AAAA",
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileScalar,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__proto__", "constructor", "<<")),
      tie("value"),
      {
        maxKeys: 3,
      },
    ),
  ),
})).value;

/** Paths of the example plus the override fields, where a mutation lands. */
const paths: string[][] = [];
const collect = (v: unknown, path: string[]) => {
  paths.push(path);
  if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) collect(x, [...path, k]);
};
collect(example, []);
paths.push(
  ...Object.keys(helmCharts).flatMap((c) => [
    ["charts", c, "version"],
    ["charts", c, "repo"],
    ["charts", c, "values"],
  ]),
  ...valuesGuards.map((g) => ["charts", g.chart, "acceptRisks"]),
  ["charts", "ingress-nginx", "values", "controller", "proxySetHeaders"],
  ["charts", "ingress-nginx", "values", "controller", "config", "allow-snippet-annotations"],
  ...Object.keys(images).map((k) => ["images", k]),
  ["services", "svc", "group"],
  ["services", "svc", "namespace"],
  ["services", "svc", "helm"],
  ["services", "svc", "manifests"],
  ["groups", "g", "dependsOn"],
  ["groups", "g", "waitFor"],
  ["groups", "g", "retry"],
  ["namespaces", "dns"],
  ["replicas"],
);

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let v: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = v[key];
    if (!next || typeof next !== "object" || Array.isArray(next)) v[key] = {};
    v = v[key] as Record<string, unknown>;
  }
  if (path.length === 0) return;
  if (value === undefined) delete v[path[path.length - 1]!];
  else v[path[path.length - 1]!] = value;
}

const edit = fc.tuple(fc.constantFrom(...paths), fc.option(hostileValue, { nil: undefined, freq: 5 }));
const configText = fc
  .tuple(fc.array(edit, { maxLength: 5 }), fc.constantFrom("yaml", "json"))
  .map(([edits, format]) => {
    const value = structuredClone(example);
    for (const [path, v] of edits) setAt(value, path, v);
    return { format, text: format === "json" ? JSON.stringify(value, null, 2) : toYaml(value) };
  });
const yamlTokens = [
  "&a ",
  "*a",
  "<<: *a\n",
  "!!binary ",
  "!custom ",
  "---\n",
  "...\n",
  "[",
  "]",
  "{",
  "}",
  ": ",
  "- ",
  "? ",
  "#",
  "'",
  '"',
  "\t",
  "\n",
  "|\n",
  ">-\n",
  "%YAML 1.1\n",
  "\\u0000",
  "1e400",
  ".nan",
  "~",
];

const configTarget: FuzzTarget<{ format: string; text: string }> = {
  name: "config",
  description:
    "cluster file text (YAML/JSON: the example with hostile edits, then text mutations) → load → validate → render",
  inputs: fc.oneof(
    configText,
    configText.chain(({ format, text }) => mutated(fc.constant(text), yamlTokens).map((t) => ({ format, text: t }))),
  ),
  run: ({ format, text }) => {
    const name = `nixlab.${format}`;
    const source = parseClusterText(text, name);
    const cluster = clusterFromValue(source.value, name, source.locate);
    return renderCluster(cluster);
  },
  show: ({ format, text }) => `${format}\n${text}`,
};

// ---------------------------------------------------------------- nix: parse + evaluate (+ print)

const nesting = fc
  .tuple(
    fc.constantFrom(
      "(",
      "[",
      "{a=",
      "let a = 1; in ",
      "x: ",
      "!",
      "-",
      '"${',
      "if true then 1 else ",
      "{}.a or ",
      "[] ++ ",
    ),
    fc.integer({ min: 1, max: 3000 }),
  )
  .map(([open, n]) => {
    const close: Record<string, string> = { "(": ")", "[": "]", "{a=": ";}", '"${': '}"' };
    return `${open.repeat(n)}1${(close[open] ?? "").repeat(n)}`;
  });
const heavy = fc
  .tuple(
    fc.constantFrom(
      "builtins.genList (x: x) N",
      "let f = n: if n == 0 then 0 else 1 + f (n - 1); in f N",
      'let s = n: if n == 0 then "x" else let t = s (n - 1); in t + t; in s N',
      "builtins.foldl' (a: x: a ++ [x]) [] (builtins.genList (x: x) N)",
      "builtins.length (builtins.concatLists (builtins.genList (x: builtins.genList (y: y) N) N))",
      'builtins.fromJSON (builtins.concatStringsSep "" (builtins.genList (x: "[") N))',
      "let f = n: if n == 0 then [] else [(f (n - 1))]; in f N",
      "builtins.sort (a: b: a < b) (builtins.genList (x: 0 - x) N)",
    ),
    fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 100_000_000 })),
  )
  .map(([template, n]) => template.replaceAll("N", String(n)));
const nixTokens = [
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ";",
  "=",
  ":",
  "@",
  "...",
  "${",
  "''",
  '"',
  "\\",
  "#",
  "/*",
  "*/",
  "./",
  "<x>",
  "let ",
  " in ",
  "rec ",
  "inherit ",
  "or ",
  "?",
  "++",
  "//",
  "->",
  "-",
  "1e400",
  "9223372036854775807",
  "\n",
];

/**
 * evaluateNix, where a stack overflow is a crash: evaluateNix turns one into a NixError as
 * a last resort, but the nesting and depth limits exist so that it never happens.
 */
function evaluateWithinLimits(src: string, options: Parameters<typeof evaluateNix>[1]): unknown {
  try {
    return evaluateNix(src, options);
  } catch (error) {
    if (error instanceof NixError && /stack overflow/.test(error.message)) {
      throw new Error(`the JS stack overflowed inside the limits: ${error.message}`);
    }
    throw error;
  }
}

const nixTarget: FuzzTarget<string> = {
  name: "nix",
  description:
    "Nix expressions (the differential generator, text mutations of it, deep nesting, heavy builtins) → parse → evaluate → print → evaluate again",
  inputs: fc.oneof(
    { weight: 3, arbitrary: nixExpression },
    { weight: 3, arbitrary: mutated(nixExpression, nixTokens) },
    { weight: 1, arbitrary: nesting },
    { weight: 1, arbitrary: heavy },
  ),
  run: (src) => {
    const value = evaluateWithinLimits(src, { file: "fuzz.nix", baseDir: "/nonexistent/fuzz" });
    const again = evaluateWithinLimits(printNix(value), { file: "printed.nix" });
    if (JSON.stringify(again) !== JSON.stringify(value)) throw new Error("printNix did not round-trip");
    return value;
  },
  show: (src) => src,
};

// ---------------------------------------------------------------- sops: read and decrypt

const secrets = { yaml: read("test/fixtures/fuzz/secrets.yaml"), json: read("test/fixtures/fuzz/secrets.json") };
const identities = parseIdentities(read("examples/homelab/age-key.txt"), "age-key.txt");
const sopsTokens = [
  "ENC[AES256_GCM,data:",
  ",iv:",
  ",tag:",
  ",type:str]",
  ",type:int]",
  ",type:bytes]",
  "==",
  "sops:",
  "mac: ",
  "age:",
  "recipient: ",
  "-----BEGIN AGE ENCRYPTED FILE-----",
  "version: 9.9.9",
  "lastmodified: ",
  "unencrypted_suffix: ",
  "encrypted_regex: '(",
  "shamir_threshold: 3",
  "\n",
  '"',
  "{",
  "[",
  "null",
  "0",
];
const dir = mkdtempSync(join(tmpdir(), "nixlab-fuzz-sops-"));

const sopsTarget: FuzzTarget<{ format: "yaml" | "json"; text: string }> = {
  name: "sops",
  description:
    "SOPS files (YAML and JSON encrypted to the example key, with text mutations) → open → decrypt every value → re-encrypt",
  inputs: fc
    .constantFrom("yaml" as const, "json" as const)
    .chain((format) => mutated(fc.constant(secrets[format]), sopsTokens).map((text) => ({ format, text }))),
  run: async ({ format, text }) => {
    const path = join(dir, `secrets.${format}`);
    writeFileSync(path, text);
    const file = await openSecrets(path, await identities);
    for (const key of file.keys()) file.get(key);
    return file.encryptedText();
  },
  show: ({ format, text }) => `${format}\n${text}`,
};

export const targets: Record<string, FuzzTarget<any>> = {
  config: configTarget,
  nix: nixTarget,
  sops: sopsTarget,
};
