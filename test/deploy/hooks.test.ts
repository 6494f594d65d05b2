import { describe, expect, test } from "vitest";
import { asUser, runOccHook } from "../../src/deploy/hooks.ts";
import type { ExecResult } from "../../src/deploy/client.ts";
import type { PlanHook } from "../../src/plan/schema.ts";

const hook: PlanHook = {
  name: "nextcloud-sso",
  after: "apps",
  target: { namespace: "nextcloud", deployment: "nextcloud", container: "nextcloud" },
  runAs: "www-data",
  occ: {
    apps: ["user_saml"],
    settings: [
      { app: "user_saml", key: "type", value: "environment-variable" },
      { app: "user_saml", key: "general-uid_mapping", value: "HTTP_X_REMOTE_USER" },
    ],
  },
};

/** An in-memory occ behind the exec interface; records every argv. */
function fakeOcc(initial: { enabled?: string[]; disabled?: string[]; config?: Record<string, string> } = {}) {
  const enabled = new Set(initial.enabled ?? ["files"]);
  const disabled = new Set(initial.disabled ?? []);
  const config = new Map(Object.entries(initial.config ?? {}));
  const calls: string[][] = [];
  const exec = async (_ns: string, _pod: string, _c: string, argv: string[]): Promise<ExecResult> => {
    calls.push(argv);
    // asUser(): sh -c SCRIPT sh USER php OCC ARGS…
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv[4]).toBe("www-data");
    const [cmd, ...args] = argv.slice(7);
    const ok = (stdout = ""): ExecResult => ({ stdout, stderr: "", exitCode: 0 });
    switch (cmd) {
      case "app:list":
        return ok(
          JSON.stringify({
            enabled: Object.fromEntries([...enabled].map((a) => [a, "1"])),
            disabled: Object.fromEntries([...disabled].map((a) => [a, "1"])),
          }),
        );
      case "app:install":
        disabled.add(args.at(-1)!);
        return ok();
      case "app:enable":
        disabled.delete(args[0]!);
        enabled.add(args[0]!);
        return ok();
      case "config:app:get": {
        const v = config.get(`${args[0]}/${args[1]}`);
        return v === undefined ? { stdout: "", stderr: "", exitCode: 1 } : ok(`${v}\n`);
      }
      case "config:app:set":
        config.set(`${args[0]}/${args[1]}`, args[2]!.replace(/^--value=/, ""));
        return ok();
      default:
        return { stdout: "", stderr: `unknown ${cmd}`, exitCode: 1 };
    }
  };
  return { exec, calls, config, enabled };
}

describe("Nextcloud SSO hook (defect 32)", () => {
  test("installs and enables the app, sets every setting, and verifies each", async () => {
    const occ = fakeOcc();
    const r = await runOccHook(hook, "pod", occ.exec);
    expect(r.status).toBe("configured");
    expect(r.changed).toEqual([
      "app:install user_saml",
      "app:enable user_saml",
      "user_saml/type",
      "user_saml/general-uid_mapping",
    ]);
    expect(occ.config.get("user_saml/type")).toBe("environment-variable");
  });

  test("idempotent: a configured Nextcloud gets reads only", async () => {
    const occ = fakeOcc({
      enabled: ["user_saml"],
      config: { "user_saml/type": "environment-variable", "user_saml/general-uid_mapping": "HTTP_X_REMOTE_USER" },
    });
    const r = await runOccHook(hook, "pod", occ.exec);
    expect(r).toMatchObject({ status: "unchanged", changed: [] });
    expect(occ.calls.every((c) => ["app:list", "config:app:get"].includes(c[7]!))).toBe(true);
  });

  test("an enabled app with a drifted setting is repaired, not skipped", async () => {
    const occ = fakeOcc({
      enabled: ["user_saml"],
      config: { "user_saml/type": "saml", "user_saml/general-uid_mapping": "HTTP_X_REMOTE_USER" },
    });
    const r = await runOccHook(hook, "pod", occ.exec);
    expect(r).toMatchObject({ status: "configured", changed: ["user_saml/type"] });
  });

  test("a setting that does not stick fails verification", async () => {
    const occ = fakeOcc();
    const broken = async (ns: string, pod: string, c: string, argv: string[]) =>
      argv[7] === "config:app:set" && argv[9] === "type"
        ? { stdout: "", stderr: "", exitCode: 0 }
        : occ.exec(ns, pod, c, argv);
    const r = await runOccHook(hook, "pod", broken);
    expect(r.status).toBe("failed");
    expect(r.message).toMatch(/verification failed: user_saml\/type/);
  });

  test("runs as the given user through argv, never through shell text", () => {
    const argv = asUser("www-data", ["php", "occ", "config:app:set", "a", "b", '--value=$(rm -rf /); "x"']);
    expect(argv.slice(3)).toEqual([
      "sh",
      "www-data",
      "php",
      "occ",
      "config:app:set",
      "a",
      "b",
      '--value=$(rm -rf /); "x"',
    ]);
    expect(argv[2]).not.toContain("rm -rf");
  });
});
