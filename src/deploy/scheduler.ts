/**
 * Runs groups as a DAG: a group starts as soon as every group it depends on has
 * succeeded and a slot is free (bounded concurrency); a group whose dependency did not
 * succeed never starts (readiness gates dependents, unlike the original's warnings).
 */
import { type DagNode, topoOrder } from "../plan/dag.ts";

/** How a group ended in the DAG. */
export type DagResult = { status: "succeeded" } | { status: "failed" } | { status: "blocked"; by: string[] };

/**
 * Runs `run` for every node respecting dependencies. `run` resolves true when the group
 * succeeded (dependents may start). Nodes are started in the given order among those ready.
 */
export async function runDag(
  nodes: readonly DagNode[],
  concurrency: number,
  run: (name: string) => Promise<boolean>,
  onBlocked?: (name: string, by: string[]) => void,
): Promise<Map<string, DagResult>> {
  topoOrder(nodes);
  const results = new Map<string, DagResult>();
  const pending = new Set(nodes.map((n) => n.name));
  const running = new Set<string>();
  const limit = Math.max(1, concurrency);

  return await new Promise((resolve, reject) => {
    const pump = () => {
      // Propagate blocks first: a node with a failed or blocked dependency never runs.
      let changed = true;
      while (changed) {
        changed = false;
        for (const n of nodes) {
          if (!pending.has(n.name)) continue;
          const bad = n.dependsOn.filter((d) => {
            const r = results.get(d);
            return r !== undefined && r.status !== "succeeded";
          });
          if (bad.length > 0) {
            pending.delete(n.name);
            results.set(n.name, { status: "blocked", by: bad });
            onBlocked?.(n.name, bad);
            changed = true;
          }
        }
      }
      for (const n of nodes) {
        if (running.size >= limit) break;
        if (!pending.has(n.name)) continue;
        if (!n.dependsOn.every((d) => results.get(d)?.status === "succeeded")) continue;
        pending.delete(n.name);
        running.add(n.name);
        run(n.name).then(
          (ok) => {
            running.delete(n.name);
            results.set(n.name, { status: ok ? "succeeded" : "failed" });
            pump();
          },
          (error: unknown) => {
            running.delete(n.name);
            reject(error);
          },
        );
      }
      if (pending.size === 0 && running.size === 0) resolve(results);
    };
    pump();
  });
}
