/**
 * Rolling the readers of a changed Secret. Our own workloads carry the digest of the
 * Secrets they read in their pod template (prepare.ts), so their apply rolls them.
 * Workloads a Helm chart installs are not ours to render: when a Secret's values
 * changed since the group's last apply (its digest in the inventory), each reader gets
 * the same pod annotation by a server-side apply of just that field, which rolls it.
 */
import type { PlanGroup } from "../plan/schema.ts";
import { type RunContext, record, retryContext } from "./context.ts";
import type { GroupInventory } from "./inventory.ts";
import { type ObjectRef, refKey } from "./objects.ts";
import { groupRefs, restartDigest, secretsHashAnnotation } from "./prepare.ts";
import { errorMessage, withRetry } from "./retry.ts";
import { secretId } from "./secrets.ts";

/** Rolls Helm-installed readers of the group's Secrets whose values changed since `previous`. */
export async function rollSecretReaders(
  ctx: RunContext,
  group: PlanGroup,
  previous: GroupInventory | undefined,
): Promise<void> {
  const { prep } = ctx;
  const rendered = new Set(groupRefs(prep.plan, group.name).map(refKey));
  const targets = new Map<string, { ref: ObjectRef; ids: string[] }>();
  for (const s of prep.plan.secrets.filter((x) => x.group === group.name)) {
    const id = secretId(s);
    const before = previous?.secrets[id];
    if (before === undefined || before === prep.secretDigests.get(id)) continue;
    for (const r of s.restart) {
      if (rendered.has(refKey(r))) continue;
      const t = targets.get(refKey(r)) ?? { ref: r, ids: [] };
      t.ids.push(id);
      targets.set(refKey(r), t);
    }
  }
  const rctx = retryContext(ctx, group.retry);
  for (const { ref, ids } of targets.values()) {
    try {
      if (!(await withRetry(rctx, () => ctx.kube.get(ref)))) continue; // not installed yet: it starts with the new values
      await withRetry(rctx, () =>
        ctx.kube.apply({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
          spec: { template: { metadata: { annotations: { [secretsHashAnnotation]: restartDigest(prep, ids) } } } },
        }),
      );
      record(ctx, ref, group.name, "configured", "restarted: a Secret it reads changed");
    } catch (error) {
      record(ctx, ref, group.name, "failed", `restart after a Secret changed: ${errorMessage(error)}`);
    }
  }
}
