/** Kubeconfig loading with kubectl's rules (the e2e tests run the same against the testbed). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadKubeconfig } from "../../src/deploy/kubeconfig.ts";
import { UserError } from "../../src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "nixlab-kubeconfig-"));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
writeFileSync(join(dir, "ca.crt"), "CA BYTES");
const a = file(
  "a.yaml",
  `apiVersion: v1
kind: Config
current-context: home
clusters:
- name: home
  cluster: {server: "https://home.example:6443/", certificate-authority: ca.crt}
users:
- name: me
  user: {token: from-a}
contexts:
- name: home
  context: {cluster: home, user: me}
`,
);
const b = file(
  "b.yaml",
  `apiVersion: v1
kind: Config
current-context: work
clusters:
- name: home
  cluster: {server: "https://not-this-one:6443"}
- name: work
  cluster: {server: "https://work.example:6443", insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: from-b}
contexts:
- name: work
  context: {cluster: work, user: me}
`,
);

describe("kubeconfig", () => {
  test("KUBECONFIG files merge, the first to define a name or the current context wins; missing files are skipped", () => {
    const kc = loadKubeconfig({ env: { KUBECONFIG: [join(dir, "missing.yaml"), a, b].join(":") } });
    expect(kc.context).toBe("home");
    expect(kc.server).toBe("https://home.example:6443");
    expect(kc.auth.token).toBe("from-a");
    // A relative path is relative to the file that names it.
    expect(kc.tls.ca?.toString()).toBe("CA BYTES");
    const work = loadKubeconfig({ env: { KUBECONFIG: `${a}:${b}` }, context: "work" });
    expect(work.server).toBe("https://work.example:6443");
    expect(work.tls.rejectUnauthorized).toBe(false);
  });

  test("an unknown context names the known ones; --kubeconfig must exist", () => {
    const unknown = (() => {
      try {
        loadKubeconfig({ env: { KUBECONFIG: `${a}:${b}` }, context: "nope" });
      } catch (error) {
        return error as UserError;
      }
    })();
    expect(unknown).toBeInstanceOf(UserError);
    expect(unknown?.exitCode).toBe(2);
    expect(unknown?.message).toBe(`context "nope" is not in the merged kubeconfig (${a}, ${b})`);
    expect(unknown?.details).toEqual(["Known contexts: home, work."]);
    expect(() => loadKubeconfig({ kubeconfig: join(dir, "absent.yaml") })).toThrow(/does not exist/);
    expect(() => loadKubeconfig({ env: { KUBECONFIG: join(dir, "absent.yaml") } })).toThrow(
      /none of the files in KUBECONFIG exists/,
    );
  });
});
