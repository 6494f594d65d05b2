/** What `nixlab __complete` offers for the bundled example cluster: commands, flags, and values from the cluster file. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/main.ts";
import { complete } from "../../src/completion/complete.ts";
import { clusterValues } from "../../src/completion/values.ts";
import { root } from "../support/example.ts";
import { runCli } from "../support/cli.ts";

const example = join(root, "examples/homelab");
const program = await createProgram();
const values = (...words: string[]) =>
  complete(program, words, clusterValues(example)).then((c) =>
    "shell" in c ? c.shell : c.candidates.map((x) => x.value),
  );

describe("completion candidates", () => {
  it("commands, without hidden ones", async () => {
    const commands = await values("");
    expect(commands).toEqual(
      expect.arrayContaining(["init", "doctor", "check", "build", "deploy", "secrets", "nodes", "completion"]),
    );
    expect(commands).not.toContain("__complete");
    expect(await values("se")).toEqual(["secrets"]);
    expect(await values("secrets", "")).toEqual(expect.arrayContaining(["init", "get", "set", "check"]));
  });

  it("flags of the command being typed", async () => {
    const flags = await values("build", "--");
    expect(flags).toEqual(expect.arrayContaining(["--out", "--config", "--help"]));
    expect(flags).not.toContain("--kubeconfig");
  });

  it("deploy group names from the cluster file, also after a first one", async () => {
    expect(await values("deploy", "--only", "core-")).toEqual(["core-infrastructure", "core-config"]);
    expect(await values("deploy", "--only", "core-infrastructure", "vpn")).toEqual(["vpn-services"]);
    expect(await values("deploy", "--only", "core-infrastructure", "--st")).toEqual(
      expect.arrayContaining(["--state", "--strict"]),
    );
  });

  it("node names and @tags for --on, the last part of a comma list", async () => {
    expect(await values("nodes", "apply", "--on", "@")).toEqual(["@master", "@storage", "@worker"]);
    expect(await values("nodes", "apply", "--on", "node1,@w")).toEqual(["node1,@worker"]);
    expect(await values("nodes", "install", "")).toEqual(["node1", "node2", "node3"]);
  });

  it("VPN users and groups for vpn access", async () => {
    expect(await values("vpn", "access", "")).toEqual(
      expect.arrayContaining(["alice", "bob", "carol", "admin", "family", "friends", "guests"]),
    );
    expect(await values("vpn", "access", "fa")).toEqual(["family"]);
  });

  it("secret names (clear key names, nothing decrypted)", async () => {
    expect(await values("secrets", "get", "alice")).toEqual(["alice_wg_public_key"]);
  });

  it("files and directories are left to the shell", async () => {
    expect(await values("build", "--out", "")).toBe("dir");
    expect(await values("check", "-c", "")).toBe("file");
  });

  it("finds the cluster file given with -c", async () => {
    const c = await complete(
      program,
      ["nodes", "install", "-c", join(example, "nixlab.yaml"), ""],
      clusterValues(root),
    );
    expect("candidates" in c && c.candidates.map((x) => x.value)).toEqual(["node1", "node2", "node3"]);
  });

  it("prints nothing, and succeeds, where there is nothing to offer or no cluster file", async () => {
    const r = await runCli(["__complete", "--", "nodes", "install", ""], "/");
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const odd = await runCli(["__complete", "--", "--no-such-flag", "deploy", "--only", ""], "/");
    expect(odd).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});
