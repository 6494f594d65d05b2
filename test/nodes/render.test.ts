/** renderNodeFiles: what it emits, and the problems that stop the NixOS side from building. */
import { describe, expect, it } from "vitest";
import { renderNodeFiles } from "../../src/nodes/render.ts";
import { staticModules } from "../../src/nodes/static.ts";
import { exampleCluster, fakeEngine, fakeSecrets } from "./support.ts";

const cluster = await exampleCluster();
const hardware = (hostname: string) => `{ ... }: { networking.hostId = "${hostname}"; }\n`;

describe("renderNodeFiles", () => {
  it("emits the flake, every static module, one JSON and one hardware config per node, secrets, lock and engine", () => {
    const r = renderNodeFiles(cluster, {
      clusterDir: "/c",
      readHardwareConfig: hardware,
      readClusterFile: (p) =>
        p === "secrets.yaml" || p === "secrets.agents.yaml"
          ? fakeSecrets
          : p === "flake.lock"
            ? '{"version":7}\n'
            : null,
      engineBundle: fakeEngine,
    });
    expect(r.problems).toEqual([]);
    const byPath = new Map(r.files.map((f) => [f.path, f.content]));
    expect([...byPath.keys()]).toEqual([
      "flake.nix",
      ...staticModules.map((m) => `nix/${m}`),
      "nodes/node1.json",
      "hosts/node1/hardware-configuration.nix",
      "nodes/node2.json",
      "hosts/node2/hardware-configuration.nix",
      "nodes/node3.json",
      "hosts/node3/hardware-configuration.nix",
      "secrets.yaml",
      "secrets.agents.yaml",
      "flake.lock",
      "engine/nixlab.mjs",
    ]);
    expect(byPath.get("hosts/node2/hardware-configuration.nix")).toBe(hardware("node2"));
    expect(byPath.get("secrets.yaml")).toBe(fakeSecrets);
    expect(byPath.get("secrets.agents.yaml")).toBe(fakeSecrets);
    expect(JSON.parse(byPath.get("nodes/node3.json")!).hostname).toBe("node3");
    expect(r.specs.map((s) => s.hostname)).toEqual(["node1", "node2", "node3"]);
  });

  it("says how to produce a missing hardware configuration, per node", () => {
    const r = renderNodeFiles(cluster, {
      clusterDir: "/home/alice/lab",
      readHardwareConfig: (h) => (h === "node2" ? hardware(h) : null),
      readClusterFile: () => fakeSecrets,
      engineBundle: fakeEngine,
    });
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toContain("node node1: hosts/node1/hardware-configuration.nix is missing");
    expect(r.problems[0]).toContain("/home/alice/lab");
    expect(r.problems[0]).toContain(
      "`nixos-generate-config --show-hardware-config --no-filesystems > hosts/node1/hardware-configuration.nix`",
    );
    expect(r.problems[1]).toContain("node node3:");
    expect(r.files.some((f) => f.path === "hosts/node1/hardware-configuration.nix")).toBe(false);
  });

  it("reports a missing secrets file and a missing engine bundle", () => {
    const r = renderNodeFiles(cluster, { clusterDir: "/c", readHardwareConfig: hardware });
    expect(r.problems).toEqual([
      "secrets.yaml is missing next to the cluster file (in /c); the nodes decrypt their secrets from it. Create it with `nixlab secrets init`.",
      "secrets.agents.yaml is missing next to the cluster file (in /c); the agents decrypt their secrets from it. `nixlab build` derives it from secrets.yaml when one of your age keys opens that file: pass --age-key-file or set SOPS_AGE_KEY_FILE.",
      "the deploy engine was not bundled (engine/nixlab.mjs); the master node1 needs it",
    ]);
    expect(r.files.some((f) => f.path === "flake.lock")).toBe(false);
  });
});
