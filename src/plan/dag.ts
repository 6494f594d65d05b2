/**
 * The group DAG: the one cycle detector, a checked topological order, levels (what may
 * run together) and the critical path. Pure.
 */
import { UserError } from "../errors.ts";

/** What the DAG helpers need of a group. */
export interface DagNode {
  name: string;
  dependsOn: readonly string[];
}

/**
 * A dependency cycle as the path that closes it ([a, b, a]), or null. Dependencies
 * `deps` returns that are not in `names` are ignored.
 */
export function findCycle(names: Iterable<string>, deps: (name: string) => readonly string[]): string[] | null {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "visiting") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "visiting");
    stack.push(n);
    for (const d of deps(n)) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of names) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/**
 * Names in an order where every node comes after its dependencies. Throws UserError
 * for a duplicate name, an unknown dependency or a cycle.
 */
export function topoOrder(nodes: readonly DagNode[]): string[] {
  const byName = new Map<string, DagNode>();
  for (const n of nodes) {
    if (byName.has(n.name)) throw new UserError(`group ${n.name} is defined twice in the plan`);
    byName.set(n.name, n);
  }
  for (const n of nodes) {
    for (const d of n.dependsOn)
      if (!byName.has(d)) throw new UserError(`group ${n.name} depends on unknown group ${d}`);
  }
  const cycle = findCycle(byName.keys(), (n) => byName.get(n)!.dependsOn);
  if (cycle) throw new UserError(`group dependency cycle: ${cycle.join(" -> ")}`);
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    for (const d of byName.get(name)!.dependsOn) visit(d);
    order.push(name);
  };
  for (const n of nodes) visit(n.name);
  return order;
}

/** Groups by level: level 0 has no dependencies; a group sits one level below its deepest dependency. */
export function dagLevels(groups: readonly DagNode[]): string[][] {
  topoOrder(groups);
  const level = new Map<string, number>();
  const byName = new Map(groups.map((g) => [g.name, g]));
  const depth = (name: string): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    const deps = byName.get(name)?.dependsOn ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depth));
    level.set(name, d);
    return d;
  };
  for (const g of groups) depth(g.name);
  const out: string[][] = [];
  for (const g of groups) {
    const l = level.get(g.name)!;
    out[l] = [...(out[l] ?? []), g.name];
  }
  return out;
}

/** The longest chain of groups by summed weight (e.g. wait timeouts), first to last. */
export function criticalPath<G extends DagNode>(groups: readonly G[], weight: (g: G) => number): string[] {
  const byName = new Map(groups.map((g) => [g.name, g]));
  const best = new Map<string, { total: number; path: string[] }>();
  const solve = (name: string): { total: number; path: string[] } => {
    const cached = best.get(name);
    if (cached) return cached;
    const g = byName.get(name)!;
    const prev = g.dependsOn.map(solve).sort((a, b) => b.total - a.total)[0] ?? { total: 0, path: [] };
    const result = { total: prev.total + weight(g), path: [...prev.path, name] };
    best.set(name, result);
    return result;
  };
  return groups.map((g) => solve(g.name)).sort((a, b) => b.total - a.total)[0]?.path ?? [];
}
