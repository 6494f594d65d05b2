/**
 * Where the deploy groups go in the DAG picture: a layered layout (Sugiyama-style,
 * small enough to do by hand). A group's column is its step in the deploy order (the
 * longest path from a group without dependencies, as `nixlab plan` numbers steps); rows
 * inside a column are ordered by the mean row of their neighbours, a few sweeps left to
 * right and back, which removes most edge crossings of graphs this size. Pure; no DOM.
 */

/** A group of the DAG: its name and the groups it depends on. */
export interface LayoutInput {
  name: string;
  dependsOn: readonly string[];
}

/** A placed group: its box's top-left corner, column (step) and row. */
export interface PlacedNode {
  name: string;
  x: number;
  y: number;
  column: number;
  row: number;
}

/** One dependency drawn as an edge: from the dependency's right side to the dependent's left side. */
export interface PlacedEdge {
  /** The dependency. */
  from: string;
  /** The group that depends on it. */
  to: string;
  /** SVG path data (a cubic Bézier curve). */
  path: string;
}

/** The whole picture: nodes, edges and the size of the drawing. */
export interface Layout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

/** Box size and gaps, in SVG units. */
export const box = { width: 190, height: 58, gapX: 70, gapY: 22, margin: 12 };

/** The step of each group (0 for a group without dependencies). Unknown dependencies are ignored; cycles throw. */
export function columns(groups: readonly LayoutInput[]): Map<string, number> {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const out = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = out.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) throw new Error(`dependency cycle through group ${name}`);
    visiting.add(name);
    const deps = (byName.get(name)?.dependsOn ?? []).filter((d) => byName.has(d));
    const column = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(visit));
    visiting.delete(name);
    out.set(name, column);
    return column;
  };
  for (const g of groups) visit(g.name);
  return out;
}

/** Mean of the rows of `names` that have a row; null when none has. */
function meanRow(names: readonly string[], rows: ReadonlyMap<string, number>): number | null {
  const known = names.map((n) => rows.get(n)).filter((r): r is number => r !== undefined);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

/** Re-orders one column by the mean row of each group's neighbours (stable for ties and loners). */
function sortColumn(
  column: string[],
  neighbours: (name: string) => readonly string[],
  rows: Map<string, number>,
): void {
  const keyed = column.map((name, i) => ({ name, key: meanRow(neighbours(name), rows) ?? rows.get(name) ?? i, i }));
  keyed.sort((a, b) => a.key - b.key || a.i - b.i);
  keyed.forEach((k, i) => {
    column[i] = k.name;
    rows.set(k.name, i);
  });
}

/** Lays the groups out (see the module comment). Deterministic: the same input gives the same picture. */
export function layoutDag(groups: readonly LayoutInput[]): Layout {
  const col = columns(groups);
  const count = Math.max(0, ...col.values()) + (groups.length > 0 ? 1 : 0);
  const cols: string[][] = Array.from({ length: count }, () => []);
  for (const g of groups) cols[col.get(g.name)!]!.push(g.name);
  const rows = new Map<string, number>();
  for (const c of cols) {
    c.forEach((name, i) => {
      rows.set(name, i);
    });
  }
  const deps = new Map(groups.map((g) => [g.name, g.dependsOn.filter((d) => col.has(d))]));
  const dependents = new Map<string, string[]>(groups.map((g) => [g.name, []]));
  for (const g of groups) for (const d of deps.get(g.name)!) dependents.get(d)!.push(g.name);
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const c of cols.slice(1)) sortColumn(c, (n) => deps.get(n)!, rows);
    for (const c of cols.slice(0, -1).reverse()) sortColumn(c, (n) => dependents.get(n)!, rows);
  }
  const tallest = Math.max(0, ...cols.map((c) => c.length));
  const columnHeight = (n: number) => n * box.height + Math.max(0, n - 1) * box.gapY;
  const nodes: PlacedNode[] = [];
  cols.forEach((c, column) => {
    const top = box.margin + (columnHeight(tallest) - columnHeight(c.length)) / 2;
    c.forEach((name, row) => {
      nodes.push({
        name,
        column,
        row,
        x: box.margin + column * (box.width + box.gapX),
        y: top + row * (box.height + box.gapY),
      });
    });
  });
  const at = new Map(nodes.map((n) => [n.name, n]));
  const edges: PlacedEdge[] = [];
  for (const g of groups) {
    for (const d of deps.get(g.name)!) edges.push({ from: d, to: g.name, path: edgePath(at.get(d)!, at.get(g.name)!) });
  }
  return {
    nodes: groups.map((g) => at.get(g.name)!),
    edges,
    width: 2 * box.margin + count * box.width + Math.max(0, count - 1) * box.gapX,
    height: 2 * box.margin + columnHeight(tallest),
  };
}

/** A curve from the right middle of `a` to the left middle of `b`. */
function edgePath(a: PlacedNode, b: PlacedNode): string {
  const x1 = a.x + box.width;
  const y1 = a.y + box.height / 2;
  const x2 = b.x;
  const y2 = b.y + box.height / 2;
  const bend = Math.max(24, (x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
}
