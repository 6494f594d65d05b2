import { describe, expect, it } from "vitest";
import { box, columns, layoutDag } from "../../src/dashboard/web/layout.ts";

const example = [
  { name: "core-infrastructure", dependsOn: [] },
  { name: "core-config", dependsOn: ["core-infrastructure"] },
  { name: "networking-services", dependsOn: ["core-config"] },
  { name: "dns-services", dependsOn: ["networking-services"] },
  { name: "external-access", dependsOn: ["core-config"] },
  { name: "external-dns", dependsOn: ["external-access"] },
  { name: "external-ingress", dependsOn: ["dns-services", "external-dns"] },
  { name: "vpn-services", dependsOn: ["external-access", "networking-services"] },
  { name: "apps", dependsOn: ["vpn-services"] },
];

describe("DAG layout", () => {
  it("a group's column is its deploy step", () => {
    expect(Object.fromEntries(columns(example))).toEqual({
      "core-infrastructure": 0,
      "core-config": 1,
      "networking-services": 2,
      "external-access": 2,
      "dns-services": 3,
      "external-dns": 3,
      "vpn-services": 3,
      "external-ingress": 4,
      apps: 4,
    });
  });

  it("one node per group and one edge per dependency, edges left to right, no overlapping boxes", () => {
    const layout = layoutDag(example);
    expect(layout.nodes.map((n) => n.name)).toEqual(example.map((g) => g.name));
    expect(layout.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(
      example.flatMap((g) => g.dependsOn.map((d) => `${d}->${g.name}`)).sort(),
    );
    const at = new Map(layout.nodes.map((n) => [n.name, n]));
    for (const e of layout.edges) expect(at.get(e.from)!.x).toBeLessThan(at.get(e.to)!.x);
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = Math.abs(a.x - b.x) >= box.width || Math.abs(a.y - b.y) >= box.height;
        expect(apart, `${a.name} overlaps ${b.name}`).toBe(true);
      }
      expect(a.x + box.width).toBeLessThanOrEqual(layout.width);
      expect(a.y + box.height).toBeLessThanOrEqual(layout.height);
    }
  });

  it("is deterministic and ignores dependencies on unknown groups; a cycle throws", () => {
    expect(layoutDag(example)).toEqual(layoutDag(example));
    expect(layoutDag([{ name: "a", dependsOn: ["gone"] }]).edges).toEqual([]);
    expect(() =>
      layoutDag([
        { name: "a", dependsOn: ["b"] },
        { name: "b", dependsOn: ["a"] },
      ]),
    ).toThrow(/cycle/);
    expect(layoutDag([])).toMatchObject({ nodes: [], edges: [] });
  });
});
