/**
 * Colmena-style node selection: comma-separated terms, each a name or glob (`node*`,
 * `node?`) matched against hostnames and node names, or `@tag` (globs allowed too).
 */
import { ExitCode, UserError } from "../errors.ts";

export interface Selectable {
  name: string;
  hostname: string;
  tags: readonly string[];
}

function globRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

/** The nodes `selector` names, in their original order; all of them when it is empty. */
export function selectNodes<T extends Selectable>(nodes: readonly T[], selector: string | undefined): T[] {
  const terms = (selector ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (terms.length === 0) return [...nodes];
  const chosen = new Set<T>();
  const unmatched: string[] = [];
  for (const term of terms) {
    const isTag = term.startsWith("@");
    const re = globRegExp(isTag ? term.slice(1) : term);
    const hits = nodes.filter((n) => (isTag ? n.tags.some((t) => re.test(t)) : re.test(n.hostname) || re.test(n.name)));
    if (hits.length === 0) unmatched.push(term);
    for (const n of hits) chosen.add(n);
  }
  if (unmatched.length > 0) {
    const tags = [...new Set(nodes.flatMap((n) => n.tags))].sort();
    throw new UserError(`--on ${selector}: ${unmatched.map((t) => `"${t}"`).join(", ")} matches no node`, {
      exitCode: ExitCode.invalidInput,
      details: [
        `  nodes: ${nodes.map((n) => n.hostname).join(", ") || "(none)"}`,
        `  tags: ${tags.map((t) => `@${t}`).join(", ") || "(none)"}`,
      ],
    });
  }
  return nodes.filter((n) => chosen.has(n));
}
