import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { selectNodes } from "../../src/nodes/select.ts";

const nodes = [
  { name: "node1", hostname: "node1", tags: ["master", "storage"] },
  { name: "node2", hostname: "node2", tags: ["worker", "storage"] },
  { name: "node3", hostname: "node3", tags: ["worker"] },
  { name: "pi", hostname: "garage-pi", tags: ["arm"] },
];
const hosts = (selector: string | undefined) => selectNodes(nodes, selector).map((n) => n.hostname);

describe("selectNodes (colmena-style --on)", () => {
  it("selects every node without a selector", () => {
    expect(hosts(undefined)).toEqual(["node1", "node2", "node3", "garage-pi"]);
    expect(hosts(" , ")).toEqual(["node1", "node2", "node3", "garage-pi"]);
  });

  it("selects by name, by hostname and by glob", () => {
    expect(hosts("node2")).toEqual(["node2"]);
    expect(hosts("pi")).toEqual(["garage-pi"]);
    expect(hosts("node*")).toEqual(["node1", "node2", "node3"]);
    expect(hosts("node?")).toEqual(["node1", "node2", "node3"]);
    expect(hosts("*-pi")).toEqual(["garage-pi"]);
  });

  it("selects by @tag, with globs in tags too", () => {
    expect(hosts("@worker")).toEqual(["node2", "node3"]);
    expect(hosts("@stor*")).toEqual(["node1", "node2"]);
  });

  it("unions comma-separated terms, keeping node order and no duplicates", () => {
    expect(hosts("garage-pi, @master,node1")).toEqual(["node1", "garage-pi"]);
    expect(hosts("@worker,@storage")).toEqual(["node1", "node2", "node3"]);
  });

  it("treats glob metacharacters of regular expressions literally", () => {
    expect(() => hosts("node.")).toThrow(UserError);
  });

  it("fails on a term that matches nothing, listing nodes and tags", () => {
    try {
      hosts("node1,@gpu,nope*");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      const e = error as UserError;
      expect(e.message).toBe('--on node1,@gpu,nope*: "@gpu", "nope*" matches no node');
      expect(e.details.join("\n")).toContain("@arm, @master, @storage, @worker");
      expect(e.exitCode).toBe(2);
    }
  });
});
