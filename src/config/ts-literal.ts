/** TypeScript source text for cluster-file values (`nixlab import`, the snippets `nixlab vpn` prints). */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A TypeScript literal for JSON-like data; keys stay unquoted where that is valid. */
export function tsLiteral(value: unknown, indent = ""): string {
  if (value === null || typeof value === "boolean" || typeof value === "number") return JSON.stringify(value);
  if (typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => `${inner}${tsLiteral(v, inner)},\n`).join("")}${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "{}";
  const key = (k: string) =>
    // A literal `__proto__:` key would set the prototype; the computed form is an own key.
    k === "__proto__" ? `["__proto__"]` : IDENTIFIER.test(k) ? k : JSON.stringify(k);
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${tsLiteral(v, inner)},\n`).join("")}${indent}}`;
}
