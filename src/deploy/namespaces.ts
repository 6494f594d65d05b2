/**
 * Namespaces the selected groups use: one list, and a server-side apply only for those
 * missing (a no-op run writes nothing). A namespace being deleted fails its groups with
 * a message instead of racing the deletion.
 */
import { defaultRetry } from "../plan/schema.ts";
import { type RunContext, record, retryContext } from "./context.ts";
import { type KObject, managedByLabel } from "./objects.ts";
import { errorMessage, withRetry } from "./retry.ts";

/** Ensures every namespace the selected groups use exists (`existing`: the namespace list); returns those that could not be made ready. */
export async function ensureNamespaces(ctx: RunContext, existing: { items: KObject[] }): Promise<Set<string>> {
  const needed = new Set<string>();
  for (const g of ctx.prep.plan.groups) if (ctx.selected.has(g.name)) for (const ns of g.namespaces) needed.add(ns);
  const rctx = retryContext(ctx, defaultRetry);
  const failed = new Set<string>();
  if (needed.size === 0) return failed;
  ctx.emit({ type: "phase", message: "namespaces" });
  const live = new Map(existing.items.map((n) => [n.metadata.name, n]));
  for (const ns of [...needed].sort()) {
    const ref = { apiVersion: "v1", kind: "Namespace", name: ns };
    const cur = live.get(ns);
    if (cur?.metadata.deletionTimestamp) {
      failed.add(ns);
      record(ctx, ref, "(namespaces)", "failed", "namespace is being deleted; wait until it is gone and deploy again");
    } else if (cur) {
      record(ctx, ref, "(namespaces)", "unchanged");
    } else {
      try {
        await withRetry(rctx, () =>
          ctx.kube.apply({
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: ns, labels: { [managedByLabel]: "nixlab" } },
          }),
        );
        record(ctx, ref, "(namespaces)", "created");
      } catch (error) {
        failed.add(ns);
        record(ctx, ref, "(namespaces)", "failed", errorMessage(error));
      }
    }
  }
  return failed;
}
