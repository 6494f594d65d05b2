// Hostile input beyond the corpus files: inputs too large to keep in the repository,
// the loader's limits, plain-data copying, the value guards against the rendered chart,
// and the format predicates (issue 14).
import { execFileSync } from "node:child_process";
import { isUtf8 } from "node:buffer";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { chartRepoProblem, chartVersion, imageReferenceProblem, isDevicePath } from "../../src/config/formats.ts";
import { invalidUtf8At } from "../../src/config/load.ts";
import { loadModule } from "../../src/config/module.ts";
import { configLimits, toPlainData } from "../../src/config/plain.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { renderCluster } from "../../src/render/build.ts";
import { valuesGuards } from "../../src/services/guards.ts";
import { deepMerge } from "../../src/services/util.ts";
import { images } from "../../src/services/versions.ts";
import { exampleCluster } from "../support/example.ts";
import { runCli } from "../support/cli.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "nixlab-hostile-"));

async function check(name: string, content: string | Buffer) {
  const file = join(tmp(), name);
  writeFileSync(file, content);
  const result = await runCli(["check", "--config", file]);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
  expect(result.stdout).toBe("");
  expect(result.code).toBe(2);
  return result.stderr;
}

describe("inputs too large for the corpus", () => {
  it("200,000-deep JSON: the position of the level past the limit", async () => {
    const stderr = await check("nixlab.json", `{"charts": ${"[".repeat(200_000)}${"]".repeat(200_000)}}`);
    expect(stderr).toContain(
      `nixlab.json:1:${11 + configLimits.depth}: nested deeper than ${configLimits.depth} levels`,
    );
  });

  it("200,000-deep YAML flow and block sequences", async () => {
    expect(await check("nixlab.yaml", `x: ${"[".repeat(200_000)}${"]".repeat(200_000)}\n`)).toContain(
      `nixlab.yaml:1:${4 + configLimits.depth}: nested deeper than`,
    );
    expect(await check("nixlab.yaml", `${"- ".repeat(200_000)}x\n`)).toContain("nixlab.yaml:1:");
  });

  it("a file over the size limit is refused before it is read", async () => {
    const stderr = await check("nixlab.yaml", `# ${"x".repeat(configLimits.bytes)}\nusername: alice\n`);
    expect(stderr).toContain("nixlab.yaml is 1.0 MB; nixlab reads cluster files of up to 1.0 MB");
  });

  it("a mapping with 60,000 keys is read in linear time (the YAML library's own check is quadratic)", async () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `      k${i}: 1\n`).join("");
    const stderr = await check("nixlab.yaml", `charts:\n  longhorn:\n    values:\n${keys}      k7: 2\n`);
    expect(stderr).toContain(`nixlab.yaml:${60_004}:7: key "k7" appears twice`);
  });

  it("aliases and merge keys that would copy a 60,000-key mapping a hundred times", async () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `  k${i}: 1\n`).join("");
    const uses = (line: (i: number) => string) => Array.from({ length: 100 }, (_, i) => line(i)).join("");
    // Counted before expanding: the YAML library's own alias limit came after ~20 s and 600 MB.
    expect(await check("nixlab.yaml", `a: &a\n${keys}${uses((i) => `m${i}: *a\n`)}`)).toContain(
      "they stand for more than 1,000,000 values",
    );
    const merges = await check("nixlab.yaml", `a: &a\n${keys}${uses((i) => `m${i}:\n  <<: *a\n`)}`);
    expect(merges).toContain("merge keys (<<) are not supported");
    expect(merges).toContain("… and 80 more");
  });

  it("a directory, a FIFO or a device is not a cluster file", async () => {
    const dir = tmp();
    mkdirSync(join(dir, "nixlab.yaml"));
    execFileSync("mkfifo", [join(dir, "fifo.yaml")]);
    for (const path of [join(dir, "nixlab.yaml"), join(dir, "fifo.yaml"), "/dev/zero.yaml"]) {
      const result = await runCli(["check", "--config", path]);
      expect(result.code).toBe(2);
    }
    const fifo = await runCli(["check", "--config", join(dir, "fifo.yaml")]);
    expect(fifo.stderr).toContain("fifo.yaml is not a regular file");
    // `import` read the pipe and waited for a writer forever.
    execFileSync("mkfifo", [join(dir, "vars.nix")]);
    const imported = await runCli(["import", join(dir, "vars.nix"), "--to", join(dir, "out.yaml")]);
    expect(imported.code).toBe(2);
    expect(imported.stderr).toContain("vars.nix is not a regular file");
  });
});

describe("TypeScript cluster files run in a worker with limits", () => {
  it("an endless loop ends with the time limit", async () => {
    const file = join(tmp(), "nixlab.config.ts");
    writeFileSync(file, "for (;;) {}\nexport default {};\n");
    await expect(loadModule(file, "nixlab.config.ts", { seconds: 1, memoryMb: 256 })).rejects.toThrow(
      "nixlab.config.ts took longer than 1 s to load (an endless loop?)",
    );
  });

  it("a memory blow-up ends with the memory limit, and nixlab lives on", async () => {
    const file = join(tmp(), "nixlab.config.ts");
    writeFileSync(file, "const a: number[][] = [];\nfor (;;) a.push(new Array(1e6).fill(1));\n");
    await expect(loadModule(file, "nixlab.config.ts", { seconds: 60, memoryMb: 64 })).rejects.toThrow(
      "nixlab.config.ts needed more than 64 MB of memory while loading",
    );
  });
});

describe("toPlainData", () => {
  it("copies without recursion and reports cycles, getters, proxies and non-data by path", () => {
    const cyclic: Record<string, unknown> = { a: [1, { b: null }] };
    ((cyclic.a as unknown[])[1] as Record<string, unknown>).b = cyclic;
    const getter = Object.defineProperty({}, "x", {
      enumerable: true,
      get() {
        throw new Error("nope");
      },
    });
    const result = toPlainData({
      cyclic,
      getter,
      f: () => 1,
      d: new Date(0),
      n: Number.NaN,
      u: undefined,
      ok: [1, "s"],
    });
    expect(result.problems.map((p) => `${p.path.join(".")}: ${p.message}`)).toEqual([
      "cyclic.a.1.b: refers back to itself (a cycle)",
      "getter.x: reading it threw: nope",
      "f: is a function, not data",
      "d: is a Date object, not plain data",
      "n: NaN is not a finite number (a number too large, like 1e400, reads as infinity)",
    ]);
    expect(result.value).toEqual({ cyclic: { a: [1, {}] }, getter: {}, ok: [1, "s"] });
  });

  it("a value shared (not cyclic) is copied twice, and __proto__ stays an own key", () => {
    const shared = { x: 1 };
    const { value, problems } = toPlainData(JSON.parse('{"__proto__": {"p": 1}, "a": 1}'));
    expect(problems).toEqual([]);
    expect(Object.keys(value as object)).toEqual(["__proto__", "a"]);
    expect(toPlainData({ a: shared, b: shared }).problems).toEqual([]);
  });

  it("a million values and more is a problem, not an out-of-memory abort", () => {
    const { problems } = toPlainData(new Array(configLimits.values + 1).fill(0));
    expect(problems[0]?.message).toBe("holds more than 1,000,000 values");
  });

  it("validateConfig never throws, whatever it is given", () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    const cyclic: Record<string, unknown> = {};
    cyclic.nodes = cyclic;
    for (const input of [
      deep,
      cyclic,
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error("x");
          },
        },
      ),
      Symbol("s"),
    ]) {
      const result = validateConfig(input);
      expect(result.ok).toBe(false);
    }
  });
});

describe("chart values guards", () => {
  const ingressValues = (cluster = exampleCluster()) => {
    const chart = renderCluster(cluster).files.find((f) => f.path === "manifests/ingress-nginx.yaml")!;
    return parseYaml(parseYaml(chart.content).spec.valuesContent) as Record<string, unknown>;
  };

  it("nixlab's own ingress-nginx values keep every guard", () => {
    const values = ingressValues();
    for (const guard of valuesGuards.filter((g) => g.chart === "ingress-nginx")) {
      expect(guard.breach(values), guard.id).toBeUndefined();
    }
    expect((values.controller as { proxySetHeaders: unknown }).proxySetHeaders).toEqual({ "X-Remote-User": "" });
  });

  it("an accepted override reaches the rendered chart (the guard is a check, not a filter)", () => {
    const cluster = exampleCluster((v) => {
      v.charts = {
        "ingress-nginx": {
          acceptRisks: ["remote-user-header"],
          values: { controller: { proxySetHeaders: { "X-Remote-User": null } } },
        },
      };
    });
    expect((ingressValues(cluster).controller as { proxySetHeaders?: unknown }).proxySetHeaders).toEqual({});
  });

  it("deepMerge keeps a key named __proto__ as data instead of changing the prototype", () => {
    const merged = deepMerge({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(["a", "__proto__"]);
    expect((merged as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe("format predicates", () => {
  it("image references: a tag other than latest, or a digest", () => {
    for (const ref of Object.values(images)) expect(imageReferenceProblem(ref), ref).toBeUndefined();
    expect(imageReferenceProblem(`ghcr.io/a/b:1@sha256:${"0".repeat(64)}`)).toBeUndefined();
    expect(imageReferenceProblem("localhost:5000/x:1.0")).toBeUndefined();
    expect(imageReferenceProblem("localhost:5000/x")).toMatch(/no tag/);
    expect(imageReferenceProblem("x:latest")).toMatch(/latest/);
    for (const bad of ["", "x:", ":1", "X:1", "x::1", "x:1 ", "x@sha256:12", "-x:1", "x:-1", `x:${"a".repeat(129)}`]) {
      expect(imageReferenceProblem(bad), bad).toBe("is not a container image reference");
    }
  });

  it("chart repositories and versions", () => {
    expect(chartRepoProblem("https://charts.example.com/x")).toBeUndefined();
    expect(chartRepoProblem("oci://ghcr.io/org/charts")).toBeUndefined();
    expect(chartRepoProblem("HTTP://x")).toMatch(/https/);
    expect(chartRepoProblem("https://a b")).toBeDefined();
    for (const v of ["1", "1.2", "1.2.3", "v1.20.2", "1.0.0-rc.1+build.7"]) expect(chartVersion.test(v), v).toBe(true);
    for (const v of ["", "latest", "~1.2", ">=1", "1.2.3 || 2", "1.2.3\n", "1.$(x)"])
      expect(chartVersion.test(v), v).toBe(false);
  });

  it("device paths are normalised and stay under /dev", () => {
    for (const d of ["/dev/sda", "/dev/nvme0n1", "/dev/disk/by-id/ata-X_Y-Z", "/dev/mapper/vg-root"]) {
      expect(isDevicePath(d), d).toBe(true);
    }
    for (const d of [
      "/dev",
      "/dev/",
      "/dev/..",
      "/dev/../sda",
      "/dev/./sda",
      "/dev//sda",
      "/dev/sda/",
      "/etc/sda",
      "sda",
    ]) {
      expect(isDevicePath(d), d).toBe(false);
    }
  });

  it("invalidUtf8At agrees with Node's isUtf8, and what precedes the offset is valid", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const at = invalidUtf8At(bytes);
        expect(at === -1).toBe(isUtf8(bytes));
        if (at !== -1) expect(isUtf8(bytes.subarray(0, at))).toBe(true);
      }),
      { numRuns: 5000, seed: 14 },
    );
  });
});
