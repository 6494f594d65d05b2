/** A small line-based unified diff (LCS), enough for one Kubernetes object at a time. */

export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: " ", text: a[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removals before additions, as diff(1) prints them.
      out.push({ op: "-", text: a[i++]! });
    } else {
      out.push({ op: "+", text: b[j++]! });
    }
  }
  return out;
}

/** Unified diff text with `context` lines around changes; "" when equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  options: { context?: number; color?: (op: DiffLine["op"], line: string) => string } = {},
): string {
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const b = after === "" ? [] : after.replace(/\n$/, "").split("\n");
  const lines = diffLines(a, b);
  if (lines.every((l) => l.op === " ")) return "";
  const context = options.context ?? 3;
  const paint = options.color ?? ((_op, line) => line);
  const keep = lines.map(() => false);
  lines.forEach((l, k) => {
    if (l.op === " ") return;
    for (let x = Math.max(0, k - context); x <= Math.min(lines.length - 1, k + context); x++) keep[x] = true;
  });
  const out = [paint("-", `--- ${labels.from}`), paint("+", `+++ ${labels.to}`)];
  let ai = 1;
  let bi = 1;
  let k = 0;
  while (k < lines.length) {
    if (!keep[k]) {
      if (lines[k]!.op !== "+") ai++;
      if (lines[k]!.op !== "-") bi++;
      k++;
      continue;
    }
    const start = k;
    const aStart = ai;
    const bStart = bi;
    const hunk: string[] = [];
    while (k < lines.length && keep[k]) {
      const l = lines[k]!;
      hunk.push(paint(l.op, `${l.op}${l.text}`));
      if (l.op !== "+") ai++;
      if (l.op !== "-") bi++;
      k++;
    }
    const aLen = lines.slice(start, k).filter((l) => l.op !== "+").length;
    const bLen = lines.slice(start, k).filter((l) => l.op !== "-").length;
    out.push(
      paint(" ", `@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@`),
      ...hunk,
    );
  }
  return `${out.join("\n")}\n`;
}
