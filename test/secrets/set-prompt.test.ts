/** `nixlab secrets set` on a terminal asks for the value with hidden input (like `gh secret set`) instead of refusing. */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSecrets } from "../../src/secrets/file.ts";
import { discoverIdentities } from "../../src/secrets/identities.ts";
import { root } from "../support/example.ts";
import { requireTool } from "../support/peers.ts";
import { nodeOnlyPath, openTerminal } from "../support/terminal.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

describe("secrets set on a terminal", () => {
  it("prompts with hidden input and stores exactly what was typed", async (ctx) => {
    requireTool("tmux", ctx);
    const dir = mkdtempSync(join(tmpdir(), "ux-set-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const project = join(dir, "homelab");
    cpSync(join(root, "examples/homelab"), project, { recursive: true });
    const bin = nodeOnlyPath(dir);
    const key = join(project, "age-key.txt");
    const term = openTerminal(project, { HOME: dir, PATH: bin, TERM: "xterm-256color", SOPS_AGE_KEY_FILE: key });
    cleanups.push(() => term.close());

    term.line("nixlab secrets set cloudflare_token; echo rc=$?");
    await term.waitForPrompt(/Value of cloudflare_token \(hidden/);
    term.line("tok-3n-secret value");
    const screen = await term.waitFor(/^rc=\d+$/m);
    expect(screen).toMatch(/^rc=0$/m);
    expect(screen).toMatch(/secrets\.yaml: set cloudflare_token/);
    expect(screen).not.toContain("tok-3n-secret");
    const file = await openSecrets(join(project, "secrets.yaml"), await discoverIdentities({ ageKeyFile: key }));
    expect(file.getString("cloudflare_token")).toBe("tok-3n-secret value");

    // Ctrl-C at the prompt changes nothing and says so.
    term.line("nixlab secrets set k3s_token; echo rc=$?");
    await term.waitForPrompt(/Value of k3s_token/);
    term.keys("C-c");
    const cancelled = await term.waitFor(/secrets set cancelled; nothing was written\n(.*\n)*rc=1/);
    expect(cancelled).toContain("cancelled");
    const after = await openSecrets(join(project, "secrets.yaml"), await discoverIdentities({ ageKeyFile: key }));
    expect(after.getString("k3s_token")).toBe(file.getString("k3s_token"));
  }, 120_000);
});
