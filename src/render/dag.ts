/** Reading the group DAG: levels (what may run together) and the critical path. */
import type { PlanGroup } from "./plan-types.ts";

/** Groups by level: level 0 has no dependencies; a group sits one level below its deepest dependency. */
export function dagLevels(groups: readonly PlanGroup[]): string[][] {
  const level = new Map<string, number>();
  const byName = new Map(groups.map((g) => [g.name, g]));
  const depth = (name: string, seen: Set<string>): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) throw new Error(`dependency cycle through ${name}`);
    seen.add(name);
    const deps = byName.get(name)?.dependsOn ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => depth(x, seen)));
    level.set(name, d);
    return d;
  };
  for (const g of groups) depth(g.name, new Set());
  const out: string[][] = [];
  for (const g of groups) {
    const l = level.get(g.name)!;
    out[l] = [...(out[l] ?? []), g.name];
  }
  return out;
}

/** The longest chain of groups by summed weight (e.g. wait timeouts), first to last. */
export function criticalPath(groups: readonly PlanGroup[], weight: (g: PlanGroup) => number): string[] {
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
