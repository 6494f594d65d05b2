/**
 * A last check before anything is rendered: no private key material in the output. Build
 * output goes into every node's world-readable Nix store and into Kubernetes objects, so a
 * key that reached it (e.g. a vars.nix that reads the age key file into chart values) is
 * refused, wherever it came from. Found plain, JSON-escaped, or base64-encoded.
 */
import type { RenderedFile } from "./plan.ts";

const KINDS: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  // bech32: "1", then 58 characters of its alphabet (either case).
  { what: "an age secret key (AGE-SECRET-KEY-1…)", pattern: /AGE-SECRET-KEY-1[02-9ac-hj-np-z]{58}/i },
  {
    what: "a PEM private key (-----BEGIN … PRIVATE KEY-----)",
    // The marker followed by a base64 body, also with newlines escaped as in JSON (\n).
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[rn])+[A-Za-z0-9+/=]{32}/,
  },
];

/** Long base64 runs, decoded and searched again (a Secret's `data`, a key hidden in an annotation). */
const BASE64_RUN = /[A-Za-z0-9+/]{96,}={0,2}/g;

function firstKind(text: string): string | undefined {
  return KINDS.find((k) => k.pattern.test(text))?.what;
}

/** What private key material `text` holds and on which line, or undefined. */
function findIn(text: string): { what: string; line: number } | undefined {
  const lineOf = (index: number) => text.slice(0, index).split("\n").length;
  for (const kind of KINDS) {
    const m = kind.pattern.exec(text);
    if (m) return { what: kind.what, line: lineOf(m.index) };
  }
  for (const m of text.matchAll(BASE64_RUN)) {
    const what = firstKind(Buffer.from(m[0], "base64").toString("latin1"));
    if (what) return { what: `${what}, base64-encoded`, line: lineOf(m.index) };
  }
  return undefined;
}

/**
 * One line per file of `files` that holds private key material ("path:line: an age secret
 * key …"), never the key itself; [] when there is none. Pure.
 */
export function privateKeyMaterial(files: readonly RenderedFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const hit = findIn(file.content);
    if (hit) found.push(`${file.path}:${hit.line}: ${hit.what}`);
  }
  return found;
}
