/**
 * Where a text first nests deeper than a limit, found by one linear scan without parsing,
 * so parsers that recurse per level (or slow down with depth) are spared texts that
 * would exhaust their stack or their time. Each returns the offset of the first
 * opening that goes past `limit`, or -1.
 */

/** JSON: `[` and `{` outside strings. */
export function jsonTooDeepAt(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > limit) return i;
    } else if (c === "]" || c === "}") depth--;
  }
  return -1;
}

const startsNode = (c: string | undefined) => c === undefined || /[\s[{,:]/.test(c);

/**
 * YAML: flow brackets outside quoted scalars and comments, and compact block nesting on
 * one line (`- - - x`, `? ? x`). Brackets inside plain or block scalars count too, so
 * this may overstate the nesting of a scalar full of brackets, never understate a
 * collection's.
 */
export function yamlTooDeepAt(text: string, limit: number): number {
  let depth = 0;
  let quote: string | undefined;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === '"') {
      if (c === "\\") i++;
      else if (c === '"') quote = undefined;
      continue;
    }
    if (quote === "'") {
      if (c === "'" && text[i + 1] === "'") i++;
      else if (c === "'") quote = undefined;
      continue;
    }
    if (c === "\n") {
      lineStart = true;
      continue;
    }
    if (lineStart && c !== " ") {
      lineStart = false;
      let j = i;
      let compact = 0;
      while ((text[j] === "-" || text[j] === "?") && (text[j + 1] === " " || text[j + 1] === "\t")) {
        if (++compact > limit) return j;
        j += 2;
        while (text[j] === " ") j++;
      }
    }
    if (c === "#" && startsNode(text[i - 1])) {
      const end = text.indexOf("\n", i);
      if (end === -1) break;
      i = end - 1;
    } else if ((c === '"' || c === "'") && startsNode(text[i - 1])) quote = c;
    else if (c === "[" || c === "{") {
      if (++depth > limit) return i;
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
  return -1;
}
