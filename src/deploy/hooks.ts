/**
 * Plan hooks: idempotent steps run in a pod through the API's exec (never kubectl).
 * The Nextcloud SSO hook fixes defect 32 of the original: occ runs as the web user
 * (`runAs`), every app and every setting is read back and only what differs is set,
 * and the result is verified setting by setting, so partial or drifted configuration
 * is repaired rather than skipped because one app is enabled.
 */
import { createHash } from "node:crypto";
import type { PlanHook } from "../plan/schema.ts";
import type { ExecResult, KubeClient } from "./client.ts";
import { isoNow, type RunContext, retryContext } from "./context.ts";
import type { KObject } from "./objects.ts";
import { withRetry } from "./retry.ts";

const occPath = "/var/www/html/occ";

/** Runs argv inside the target container; the engine's is Kube.exec, tests may pass their own. */
export type Exec = (namespace: string, pod: string, container: string, argv: string[]) => Promise<ExecResult>;

/** What a hook did: configured, unchanged or failed, and the names it set. */
export interface HookResult {
  name: string;
  status: "configured" | "unchanged" | "failed";
  /** What was changed ("app:enable user_saml", "user_saml/type"), never values. */
  changed: string[];
  message?: string;
}

/**
 * argv that runs `command` as `user`: directly when the container already runs as that
 * user, else through runuser (util-linux) or su. Arguments stay argv, never shell text.
 */
export function asUser(user: string, command: string[]): string[] {
  const script =
    'u=$1; shift; if [ "$(id -un)" = "$u" ]; then exec "$@"; fi; ' +
    'if command -v runuser >/dev/null 2>&1; then exec runuser -u "$u" -- "$@"; fi; ' +
    // su: everything after "--" and the user goes to the shell, which sees it as $0 "$@".
    'exec su -s /bin/sh -c \'exec "$@"\' -- "$u" sh "$@"';
  return ["sh", "-c", script, "sh", user, ...command];
}

class HookFailure extends Error {}

/** Runs the occ hook in `pod`: enables apps and sets only the settings that differ, then verifies all. Never throws. */
export async function runOccHook(hook: PlanHook, pod: string, exec: Exec): Promise<HookResult> {
  const { namespace, container } = hook.target;
  const changed: string[] = [];
  const occ = async (args: string[], allowFail = false): Promise<ExecResult> => {
    const r = await exec(namespace, pod, container, asUser(hook.runAs, ["php", occPath, ...args]));
    if (r.exitCode !== 0 && !allowFail) {
      throw new HookFailure(
        `occ ${args[0]} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
      );
    }
    return r;
  };
  try {
    const listApps = async () => {
      const r = await occ(["app:list", "--output=json"]);
      try {
        const parsed = JSON.parse(r.stdout) as {
          enabled?: Record<string, unknown>;
          disabled?: Record<string, unknown>;
        };
        return {
          enabled: new Set(Object.keys(parsed.enabled ?? {})),
          disabled: new Set(Object.keys(parsed.disabled ?? {})),
        };
      } catch {
        throw new HookFailure(`occ app:list did not print JSON: ${r.stdout.trim().slice(0, 200)}`);
      }
    };
    const readSetting = async (app: string, key: string) => {
      const r = await occ(["config:app:get", app, key], true);
      // occ exits 1 when the key is unset; its output ends with one newline.
      return r.exitCode === 0 ? r.stdout.replace(/\n$/, "") : undefined;
    };

    let apps = await listApps();
    for (const app of hook.occ.apps) {
      if (apps.enabled.has(app)) continue;
      if (!apps.disabled.has(app)) {
        await occ(["app:install", "--keep-disabled", app]);
        changed.push(`app:install ${app}`);
      }
      await occ(["app:enable", app]);
      changed.push(`app:enable ${app}`);
    }
    for (const s of hook.occ.settings) {
      if ((await readSetting(s.app, s.key)) === s.value) continue;
      await occ(["config:app:set", s.app, s.key, `--value=${s.value}`]);
      changed.push(`${s.app}/${s.key}`);
    }

    // Verify everything, not just one app: a hook is done only when all of it holds.
    apps = await listApps();
    const wrong: string[] = hook.occ.apps.filter((a) => !apps.enabled.has(a)).map((a) => `app ${a} not enabled`);
    for (const s of hook.occ.settings) {
      if ((await readSetting(s.app, s.key)) !== s.value) wrong.push(`${s.app}/${s.key} does not hold the wanted value`);
    }
    if (wrong.length > 0) throw new HookFailure(`verification failed: ${wrong.join(", ")}`);
    return { name: hook.name, status: changed.length > 0 ? "configured" : "unchanged", changed };
  } catch (error) {
    return {
      name: hook.name,
      status: "failed",
      changed,
      message: error instanceof Error ? error.message : String(error),
    };
  }
}

/** A Running, Ready pod of the hook's Deployment (newest first), or null. */
async function findHookPod(kube: KubeClient, hook: PlanHook): Promise<string | null> {
  const dep = await kube.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: hook.target.namespace,
    name: hook.target.deployment,
  });
  const labels = dep?.spec?.selector?.matchLabels as Record<string, string> | undefined;
  if (!labels) return null;
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const { items } = await kube.list("v1", "Pod", { namespace: hook.target.namespace, labelSelector: selector });
  const ready = (p: KObject) =>
    !p.metadata.deletionTimestamp &&
    p.status?.phase === "Running" &&
    (p.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some(
      (c) => c.type === "Ready" && c.status === "True",
    );
  const pods = items
    .filter(ready)
    .sort((a, b) => ((a.metadata.creationTimestamp ?? "") < (b.metadata.creationTimestamp ?? "") ? 1 : -1));
  return pods[0]?.metadata.name ?? null;
}

function hookHash(hook: PlanHook): string {
  return createHash("sha256").update(JSON.stringify(hook)).digest("hex");
}

/** True when a hook must run even though its group was not applied: it never succeeded with this definition. */
export function hookDue(ctx: Pick<RunContext, "state">, hook: PlanHook): boolean {
  const prev = ctx.state.hooks?.[hook.name];
  return !(prev?.status === "ok" && prev.hash === hookHash(hook));
}

/**
 * Runs a group's hooks after it is ready, each when the group was (re)applied this run,
 * its definition changed, or it never succeeded: a no-op deploy sends no exec either.
 * Returns the results of the hooks that ran (and records them in the state).
 */
export async function runGroupHooks(ctx: RunContext, group: string, groupApplied: boolean): Promise<HookResult[]> {
  const results: HookResult[] = [];
  for (const hook of ctx.prep.plan.hooks.filter((h) => h.after === group)) {
    if (!groupApplied && !hookDue(ctx, hook)) continue;
    const defHash = hookHash(hook);
    const retry = ctx.prep.plan.groups.find((g) => g.name === group)!.retry;
    const pod = await withRetry(retryContext(ctx, retry), () => findHookPod(ctx.kube, hook));
    const result: HookResult = pod
      ? await runOccHook(hook, pod, (ns, p, c, argv) => ctx.kube.exec(ns, p, c, argv))
      : {
          name: hook.name,
          status: "failed",
          changed: [],
          message: `no ready pod of deployment ${hook.target.namespace}/${hook.target.deployment}`,
        };
    ctx.state.hooks = {
      ...(ctx.state.hooks ?? {}),
      [hook.name]: { hash: defHash, status: result.status === "failed" ? "failed" : "ok", at: isoNow(ctx) },
    };
    ctx.emit({ type: "hook", result });
    results.push(result);
  }
  return results;
}
