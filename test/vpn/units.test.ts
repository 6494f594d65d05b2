// The pure parts of `nixlab vpn`: cluster-file edits that keep every other byte,
// address allocation, expiry instants (checked against the system's `date`), QR art.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import QRCode from "qrcode";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { UserError } from "../../src/errors.ts";
import { applyToValue, editClusterText, snippet, type UserEdit } from "../../src/vpn/cluster-edit.ts";
import { expiryEpoch, expiryWarnings, parseDate } from "../../src/vpn/expiry.ts";
import { checkRequestedAddress, nextFreeAddress } from "../../src/vpn/ipam.ts";
import { terminalQr } from "../../src/vpn/qr.ts";
import { exampleCluster, exampleYaml } from "../support/example.ts";

const entry = (ip: string) => ({ ip, publicKeySecret: "x_wg_public_key", description: "a: b # c", enabled: true });

/** A cluster file with the layouts people write: 4-space indents, comments everywhere, flow lists, block scalars. */
const tricky = `# top comment
username: alice   # the admin
nodes:
    node1: {hostname: node1, master: true, disk: /dev/sda}
tags: [ a,b ]
wireguardUsers:
    # alice is me
    alice:
        ip: '10.0.100.2'     # quoted on purpose
        publicKeySecret: alice_wg_public_key
        description: |
            multi
            line
    # bob below
    bob: {ip: 10.0.100.3, publicKeySecret: bob_key}
# after the users
domain: home.example.com
`;

describe("cluster file edits keep every other byte", () => {
  it("adds a user after the last one, in the file's own indentation", () => {
    const out = editClusterText(tricky, "yaml", { op: "add", name: "dave", entry: entry("10.0.100.5") }, "f");
    const at = out.indexOf("    dave:\n");
    expect(at).toBeGreaterThan(0);
    expect(out.slice(0, at)).toBe(tricky.slice(0, at));
    expect(out.slice(out.indexOf("# after the users"))).toBe(tricky.slice(tricky.indexOf("# after the users")));
    expect(out).toContain(
      '    dave:\n        ip: 10.0.100.5\n        publicKeySecret: x_wg_public_key\n        description: "a: b # c"\n',
    );
  });

  it("removes a user, and the comments of the others stay", () => {
    const out = editClusterText(tricky, "yaml", { op: "remove", name: "alice" }, "f");
    expect(out).toBe(tricky.replace(/ {4}alice:\n[\s\S]*?line\n/, ""));
    for (const comment of ["# top comment", "# the admin", "# bob below", "# after the users"])
      expect(out).toContain(comment);
  });

  it("sets a field in block and in flow style, in place", () => {
    const a = editClusterText(tricky, "yaml", { op: "set", name: "bob", field: "enabled", value: false }, "f");
    expect(a).toBe(tricky.replace("bob_key}", "bob_key, enabled: false}"));
    const b = editClusterText(a, "yaml", { op: "set", name: "bob", field: "enabled", value: true }, "f");
    expect(b).toBe(tricky.replace("bob_key}", "bob_key, enabled: true}"));
    const c = editClusterText(tricky, "yaml", { op: "set", name: "alice", field: "enabled", value: false }, "f");
    expect(c).toBe(tricky.replace("            line\n", "            line\n        enabled: false\n"));
  });

  it("turns `wireguardUsers: {}` into the first entry and back", () => {
    const empty = "username: a\nwireguardUsers: {} # none yet\ndomain: d\n";
    const added = editClusterText(empty, "yaml", { op: "add", name: "dave", entry: entry("10.0.100.2") }, "f");
    expect(added.startsWith("username: a\nwireguardUsers: # none yet\n  dave:\n")).toBe(true);
    expect(editClusterText(added, "yaml", { op: "remove", name: "dave" }, "f")).toBe(
      "username: a\nwireguardUsers: {} # none yet\ndomain: d\n",
    );
    const absent = "username: a\n";
    expect(editClusterText(absent, "yaml", { op: "add", name: "dave", entry: entry("10.0.100.2") }, "f")).toContain(
      "username: a\nwireguardUsers:\n  dave:\n    ip: 10.0.100.2\n",
    );
  });

  it("refuses a one-line {…} users mapping with a clear error, instead of reformatting it", () => {
    const flow = "wireguardUsers: {a: {ip: 10.0.100.2, publicKeySecret: k}}\n";
    expect(() =>
      editClusterText(flow, "yaml", { op: "add", name: "b", entry: entry("10.0.100.3") }, "nixlab.yaml"),
    ).toThrow(UserError);
  });

  it("edits JSON keeping layout, tabs and one-line objects", () => {
    const json =
      '{\n\t"username": "a",\n\t"tags": [1, 2],\n\t"wireguardUsers": {\n\t\t"al": {"ip": "10.0.100.2"}\n\t}\n}\n';
    const added = editClusterText(json, "json", { op: "add", name: "dave", entry: entry("10.0.100.5") }, "f");
    expect(added).toContain(
      '\t"tags": [1, 2],\n\t"wireguardUsers": {\n\t\t"al": {"ip": "10.0.100.2"},\n\t\t"dave": {\n\t\t\t"ip": "10.0.100.5",',
    );
    const set = editClusterText(added, "json", { op: "set", name: "al", field: "enabled", value: false }, "f");
    expect(set).toContain('"al": {"ip": "10.0.100.2", "enabled": false},');
    expect(
      editClusterText(
        editClusterText(set, "json", { op: "remove", name: "al" }, "f"),
        "json",
        { op: "remove", name: "dave" },
        "f",
      ),
    ).toBe('{\n\t"username": "a",\n\t"tags": [1, 2],\n\t"wireguardUsers": {}\n}\n');
  });

  it("any sequence of adds, sets and removes on the example reads back as the same change to the value", () => {
    const original = readFileSync(exampleYaml, "utf8");
    const op = fc.oneof(
      fc.record({ op: fc.constant("add" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant("remove" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ op: fc.constant("set" as const), n: fc.integer({ min: 0, max: 5 }), v: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        let text = original;
        let value = parse(original);
        for (const o of ops) {
          const names = Object.keys(value.wireguardUsers ?? {});
          const name = o.op === "add" ? `u${o.n}` : names[o.n % Math.max(1, names.length)];
          if (!name || (o.op === "add" && names.includes(name)) || (o.op !== "add" && names.length === 0)) continue;
          const edit: UserEdit =
            o.op === "add"
              ? { op: "add", name, entry: entry(`10.0.100.${10 + o.n}`) }
              : o.op === "remove"
                ? { op: "remove", name }
                : { op: "set", name, field: "enabled", value: (o as { v: boolean }).v };
          text = editClusterText(text, "yaml", edit, "f");
          value = applyToValue(value, edit);
          expect(parse(text)).toEqual(value);
        }
        // Everything above the users is never touched.
        const head = original.slice(0, original.indexOf("wireguardUsers:"));
        expect(text.startsWith(head)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("prints snippets a person pastes into TypeScript and Nix", () => {
    const e = { ip: "10.0.100.5", publicKeySecret: "dave_wg_public_key", enabled: true };
    expect(snippet("ts", { op: "add", name: "dave-y", entry: e })).toBe(
      '    "dave-y": {\n      ip: "10.0.100.5",\n      publicKeySecret: "dave_wg_public_key",\n      enabled: true,\n    },',
    );
    expect(snippet("nix", { op: "add", name: "dave", entry: e })).toBe(
      '    dave = {\n      enabled = true;\n      ip = "10.0.100.5";\n      publicKeySecret = "dave_wg_public_key";\n    };',
    );
  });
});

describe("address allocation", () => {
  it("gives the lowest free address over all users, and says when the subnet is full", () => {
    expect(nextFreeAddress([])).toBe("10.0.100.2");
    expect(nextFreeAddress(["10.0.100.2", "10.0.100.4", "192.168.1.3"])).toBe("10.0.100.3");
    const all = Array.from({ length: 253 }, (_, i) => `10.0.100.${i + 2}`);
    expect(() => nextFreeAddress(all)).toThrow(/the VPN subnet 10\.0\.100\.0\/24 is full/);
    expect(nextFreeAddress(all.slice(1))).toBe("10.0.100.2");
  });

  it("checks an address asked for", () => {
    const holders = new Map([["10.0.100.7", "carol"]]);
    expect(() => checkRequestedAddress("10.0.100.7", holders)).toThrow(/already the address of VPN user carol/);
    for (const bad of ["10.0.100.1", "10.0.100.255", "10.0.101.2", "nope"])
      expect(() => checkRequestedAddress(bad, holders)).toThrow(/is not a user address/);
    expect(() => checkRequestedAddress("10.0.100.8", holders)).not.toThrow();
  });
});

describe("expiry", () => {
  it("rejects dates that do not exist", () => {
    expect(parseDate("2026-02-29")).toBeNull();
    expect(parseDate("2028-02-29")).toEqual({ year: 2028, month: 2, day: 29 });
    expect(parseDate("2026-1-01")).toBeNull();
  });

  it("ends at midnight after the last day in the cluster's time zone, as the system's date computes it", () => {
    const cases: Array<[string, string, string]> = [
      ["2026-12-31", "Europe/Berlin", "2027-01-01 00:00"],
      ["2026-03-28", "Europe/Berlin", "2026-03-29 00:00"], // the night DST starts
      ["2026-10-24", "America/New_York", "2026-10-25 00:00"],
      ["2026-06-30", "UTC", "2026-07-01 00:00"],
      ["2026-06-30", "Asia/Kolkata", "2026-07-01 00:00"],
    ];
    for (const [date, tz, midnight] of cases) {
      const r = spawnSync("date", ["-d", midnight, "+%s"], { env: { TZ: tz }, encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(expiryEpoch(date, tz), `${date} ${tz}`).toBe(Number(r.stdout.trim()));
    }
  });

  it("check warns about users expiring within 7 days and those expired", () => {
    const cluster = exampleCluster((v) => {
      v.timezone = "UTC";
      v.wireguardUsers.bob.expires = "2026-06-10";
      v.wireguardUsers.carol.expires = "2026-06-01";
      v.wireguardUsers.alice.expires = "2026-07-30";
    });
    const now = Date.parse("2026-06-05T12:00:00Z");
    expect(expiryWarnings(cluster, now)).toEqual([
      "VPN user bob expires on 2026-06-10 (within 6 days); change wireguardUsers.bob.expires to extend it, or remove the user with `nixlab vpn remove bob`",
      "VPN user carol expired on 2026-06-01: the server no longer accepts it; change wireguardUsers.carol.expires to extend it, or remove the user with `nixlab vpn remove carol`",
    ]);
  });
});

describe("terminal QR code", () => {
  it("draws exactly the modules of the QR code, with a quiet zone, on a forced white background", async () => {
    const text = "[Interface]\nPrivateKey = x\n";
    const art = await terminalQr(text);
    const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" });
    // Back from half blocks (upper half = row y, lower half = row y+1) to dark modules.
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
    const rows = art
      .replace(ansi, "")
      .split("\n")
      .filter((l) => l.length > 0);
    const dark = (x: number, y: number): boolean => {
      const line = rows[Math.floor((y + 1) / 2)]!;
      const ch = line[x + 1]!;
      const upper = (y + 1) % 2 === 0;
      return ch === "█" || (upper ? ch === "▀" : ch === "▄");
    };
    for (let y = 0; y < modules.size; y++)
      for (let x = 0; x < modules.size; x++) expect(dark(x, y), `${x},${y}`).toBe(modules.get(y, x) === 1);
    expect(art.startsWith("\x1b[47m\x1b[30m")).toBe(true);
  });
});
