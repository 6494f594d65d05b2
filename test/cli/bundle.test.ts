/**
 * The CLI bundle (scripts/bundle-cli.js) and its launcher bin/nixlab.js: each command's
 * chunks hold only its own heavy dependencies; a source change never runs a stale
 * bundle; the installed package runs from a fresh directory (`npx nixlab`) with a
 * nixlab.config.ts that imports "nixlab"; the machine's Node 20 runs it or says what it needs.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBundle } from "../../scripts/bundle-cli.js";
import { commands } from "../../src/cli/main.ts";
import { findTool } from "../support/peers.ts";

const root = join(import.meta.dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "nixlab-bundle-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const exampleConfigTs = readFileSync(join(root, "examples/homelab/nixlab.config.ts"), "utf8");

/** The package as npm installs it: its files, without dist/ or a bundle. */
function copyPackage(to: string): void {
  for (const part of ["package.json", "bin", "scripts", "src", "nix"])
    cpSync(join(root, part), join(to, part), { recursive: true });
}

function run(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bundle's chunks", async () => {
  const dir = dirname(new URL(await ensureBundle()).pathname);
  const text = (file: string) => readFileSync(join(dir, file), "utf8");
  const imports = (file: string, dynamic: boolean): string[] => {
    const t = text(file);
    const found = [...t.matchAll(/^(?:import|export)\s[^;]*?from\s*"\.\/([^"]+)"|^import\s*"\.\/([^"]+)"/gm)].map(
      (m) => (m[1] ?? m[2])!,
    );
    if (dynamic) found.push(...[...t.matchAll(/import\("\.\/([^"]+)"\)/g)].map((m) => m[1]!));
    return found;
  };
  /** Every source file in the chunks `file` loads (only up front, or also on demand). */
  const sources = (files: string[], dynamic: boolean): string[] => {
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const next of imports(f, dynamic)) visit(next);
    };
    for (const f of files) visit(f);
    return [...seen].flatMap((f) =>
      (JSON.parse(text(`${f}.map`)).sources as string[]).map((s) => s.replace(/^(\.\.\/)+/, "")),
    );
  };
  const commandChunks = new Map(
    [...text("main.mjs").matchAll(/name: "([\w-]+)",[\s\S]*?import\("\.\/([^"]+)"\)/g)].map((m) => [m[1]!, m[2]!]),
  );
  /** Whether running `command` loads `dependency`, up front or (`dynamic`) possibly on demand too. */
  const loads = (command: string | undefined, dynamic: boolean, dependency: string) =>
    [...sources(["main.mjs"], false), ...(command ? sources([commandChunks.get(command)!], dynamic) : [])].some((s) =>
      s.includes(dependency),
    );

  it("finds every command's chunk", () => {
    expect([...commandChunks.keys()]).toEqual(commands.map((c) => c.name));
  });

  it("loads nothing heavy for --version", () => {
    for (const dep of [
      "node_modules/zod/",
      "node_modules/yaml/",
      "age-encryption",
      "@kubernetes/client-node",
      "src/nix/",
    ])
      expect(loads(undefined, false, dep), dep).toBe(false);
  });

  it("loads the Kubernetes client only on demand, for the commands that talk to the cluster", () => {
    // nodes: a health-gated apply; doctor: the API server check; vpn: handshakes and pushes.
    const talkToCluster = ["doctor", "nodes", "deploy", "diff", "status", "dashboard", "vpn"];
    for (const command of commandChunks.keys()) {
      const talksToCluster = talkToCluster.includes(command);
      expect(loads(command, true, "@kubernetes/client-node"), command).toBe(talksToCluster);
      expect(loads(command, false, "@kubernetes/client-node"), command).toBe(false);
    }
  });

  it("loads age/SOPS and the Nix evaluator up front for no command but import", () => {
    for (const command of commandChunks.keys()) {
      expect(loads(command, false, "age-encryption"), command).toBe(false);
      expect(loads(command, false, "src/nix/"), command).toBe(command === "import");
    }
  });

  /** The source files of every chunk a real run of `nixlab …args` loaded (traced with a module hook). */
  const loadedSources = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string[] => {
    const log = join(work, `loaded-${args.join("-").replace(/\W+/g, "_")}.txt`);
    const tracer = join(work, "tracer.mjs");
    writeFileSync(
      tracer,
      `import { registerHooks } from "node:module"; import { appendFileSync } from "node:fs";
registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); } });`,
    );
    const r = run([process.execPath, "--import", tracer, join(root, "bin/nixlab.js"), ...args], { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    const chunks = readFileSync(log, "utf8")
      .split("\n")
      .filter((u) => u.startsWith(`file://${dir}/`))
      .map((u) => u.slice(`file://${dir}/`.length));
    return sources(chunks, false);
  };

  it("loads age/SOPS only when a command decrypts, the Nix evaluator only for vars.nix", () => {
    const example = join(root, "examples/homelab");
    const env = { SOPS_AGE_KEY_FILE: join(example, "age-key.txt") };
    const check = loadedSources(["check", "-c", "nixlab.yaml"], example, env);
    expect(check.filter((s) => /age-encryption|src\/nix\/|@kubernetes/.test(s))).toEqual([]);
    const get = loadedSources(["secrets", "get", "k3s_token"], example, env);
    expect(get.some((s) => s.includes("age-encryption"))).toBe(true);
    expect(get.filter((s) => /src\/nix\/|@kubernetes/.test(s))).toEqual([]);
    const nix = loadedSources(["check", "-c", "vars.nix"], example, env);
    expect(nix.some((s) => s.startsWith("src/nix/"))).toBe(true);
  });
});

describe("bin/nixlab.js", () => {
  it("runs a command whose dependency's main file is a UMD build (vpn add edits the cluster file with jsonc-parser)", () => {
    const project = join(work, "vpn-add");
    cpSync(join(root, "examples/homelab"), project, { recursive: true });
    const r = run([process.execPath, join(root, "bin/nixlab.js"), "vpn", "add", "bundled", "--group", "family"], {
      cwd: project,
      env: { SOPS_AGE_KEY_FILE: join(project, "age-key.txt") },
    });
    expect(r.stderr).not.toContain("internal error");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("[Interface]");
    expect(readFileSync(join(project, "nixlab.config.ts"), "utf8")).toContain("bundled");
  }, 120_000);

  it("never runs a stale bundle: a source change is seen at the next run, a touch costs no rebuild", () => {
    const pkg = join(work, "stale");
    copyPackage(pkg);
    symlinkSync(join(root, "node_modules"), join(pkg, "node_modules"));
    const version = () => run([process.execPath, join(pkg, "bin/nixlab.js"), "--version"], { cwd: pkg });
    const bundleId = () => JSON.parse(readFileSync(join(pkg, "dist/current.json"), "utf8")).id as string;

    expect(version().stdout.trim()).toBe("0.1.0");
    const first = bundleId();
    const main = join(pkg, "src/cli/main.ts");
    const source = readFileSync(main, "utf8");
    writeFileSync(main, source.replace('export const version = "0.1.0";', 'export const version = "0.1.0-edited";'));
    expect(version().stdout.trim()).toBe("0.1.0-edited");
    expect(bundleId()).not.toBe(first);

    // Same content, new times (a checkout): the bundle is reused.
    writeFileSync(main, source);
    expect(version().stdout.trim()).toBe("0.1.0");
    const restored = bundleId();
    expect(restored).toBe(first);
    const later = new Date(Date.now() + 5000);
    utimesSync(main, later, later);
    expect(version().stdout.trim()).toBe("0.1.0");
    expect(bundleId()).toBe(restored);
    expect(readdirSync(join(pkg, "dist")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 300_000);

  it("runs installed under node_modules, from a fresh directory, resolving `nixlab` in nixlab.config.ts", () => {
    // A project that installed nixlab (no install scripts run: the launcher bundles at first run).
    const project = join(work, "project");
    const installed = join(project, "node_modules/nixlab");
    copyPackage(installed);
    for (const dep of readdirSync(join(root, "node_modules"))) {
      if (!dep.startsWith(".")) symlinkSync(join(root, "node_modules", dep), join(project, "node_modules", dep));
    }
    mkdirSync(join(project, "node_modules/.bin"));
    symlinkSync("../nixlab/bin/nixlab.js", join(project, "node_modules/.bin/nixlab"));
    symlinkSync(process.execPath, join(project, "node_modules/.bin/node"));
    writeFileSync(join(project, "package.json"), '{ "name": "my-homelab", "private": true }\n');
    writeFileSync(join(project, "nixlab.config.ts"), exampleConfigTs);

    // npx in the project: node_modules/nixlab/src cannot be type-stripped, only the bundle runs it.
    const npx = findTool("npx");
    expect(npx).not.toBeNull();
    const viaNpx = run([npx!, "--no", "nixlab", "check"], { cwd: project });
    expect(viaNpx.stderr).not.toMatch(/at .*:\d+:\d+/);
    expect(viaNpx.stdout).toContain("3 nodes (master node1), 3 VPN users");
    expect(viaNpx.code).toBe(0);

    // A directory with no node_modules at all (a global install): "nixlab" is the running nixlab.
    const fresh = join(work, "fresh");
    mkdirSync(fresh);
    writeFileSync(
      join(fresh, "nixlab.config.ts"),
      exampleConfigTs.replace(
        'import { defineConfig } from "nixlab";',
        'import { defineConfig, type ClusterConfig } from "nixlab";',
      ),
    );
    const global = run([process.execPath, join(installed, "bin/nixlab.js"), "check"], { cwd: fresh });
    expect(global.stderr).not.toMatch(/at .*:\d+:\d+/);
    expect(global.stdout).toContain(`ok ${join(fresh, "nixlab.config.ts")}: 3 nodes`);
    expect(global.code).toBe(0);
  }, 300_000);
});

describe("on the machine's Node 20", () => {
  // The Node on PATH outside node_modules/.bin (npm puts the pinned Node 24 first).
  const path = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules"));
  const systemNode = spawnSync("sh", ["-c", "command -v node"], {
    encoding: "utf8",
    env: { ...process.env, PATH: path.join(delimiter) },
  }).stdout.trim();
  const major = systemNode
    ? Number(spawnSync(systemNode, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout)
    : 0;
  const node20 = major > 0 && major < 22 ? systemNode : undefined;
  // In CI (NIXLAB_E2E=1) the machine's Node 20 is a required peer: missing, these tests fail.
  const skipWithoutNode20 = !node20 && process.env.NIXLAB_E2E !== "1";
  const machineNode = (): string => {
    if (!node20) throw new Error(`no Node 20 or 21 on PATH outside node_modules (found ${systemNode || "none"})`);
    return node20;
  };
  const example = join(root, "examples/homelab");

  it.skipIf(skipWithoutNode20)("runs the CLI from the bundle", () => {
    const r = run([machineNode(), join(root, "bin/nixlab.js"), "check", "-c", "nixlab.yaml"], { cwd: example });
    expect(r.stderr).not.toMatch(/error|at .*:\d+:\d+/);
    expect(r.stdout).toMatch(/^ok .*nixlab\.yaml: 3 nodes \(master node1\)/);
    expect(r.code).toBe(0);
  });

  it.skipIf(skipWithoutNode20)(
    "says in one line which Node a TypeScript cluster file and the Kubernetes client need",
    () => {
      const ts = run([machineNode(), join(root, "bin/nixlab.js"), "check"], { cwd: example });
      expect(ts.code).toBe(2);
      expect(ts.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/^error: nixlab\.config\.ts needs Node\.js 22\.18 or newer .*https:\/\/nodejs\.org/),
      ]);
      // deploy, diff and status run on Node 20; an exec credential plugin needs @kubernetes/client-node.
      const dir = join(work, "node20");
      mkdirSync(dir);
      const build = run(
        [process.execPath, join(root, "bin/nixlab.js"), "build", "--no-nodes", "--out", join(dir, "build")],
        {
          cwd: example,
        },
      );
      expect(build.code, build.stderr).toBe(0);
      const kubeconfig = join(dir, "kubeconfig");
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:9" } }],
          contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
          "current-context": "c",
          users: [{ name: "u", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "true" } } }],
        }),
      );
      const status = run(
        [
          machineNode(),
          join(root, "bin/nixlab.js"),
          "status",
          "--plan",
          join(dir, "build/deploy-plan.json"),
          "--kubeconfig",
          kubeconfig,
        ],
        { cwd: dir },
      );
      expect(status.code).not.toBe(0);
      expect(status.stderr).not.toMatch(/at .*:\d+:\d+/);
      expect(status.stderr.split("\n")[0]).toMatch(
        /^error: nixlab's Kubernetes client needs Node\.js 22\.19 or newer \(this is 2\d\.\d+\.\d+\): install Node 24 from https:\/\/nodejs\.org$/,
      );
    },
  );
});
