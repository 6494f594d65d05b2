// The SOPS format pieces on their own: value typing, the cipher, Shamir, metadata,
// .sops.yaml rules, identity discovery, and document round trips.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import { generateAgeKey } from "../../src/secrets/age.ts";
import { decryptValue, encryptValue, newDataKey } from "../../src/secrets/cipher.ts";
import { creationRuleFor, goRegExp } from "../../src/secrets/config.ts";
import {
  createSecrets,
  discoverIdentities,
  encryptPlaintext,
  openSecrets,
  parseIdentities,
} from "../../src/secrets/index.ts";
import { JsonDocument } from "../../src/secrets/json-store.ts";
import { YamlDocument } from "../../src/secrets/yaml-store.ts";
import { macAdditionalData, parseMetadata, serializeMetadata } from "../../src/secrets/metadata.ts";
import { combine, split } from "../../src/secrets/shamir.ts";
import { shouldBeEncrypted } from "../../src/secrets/tree.ts";
import { canonicalize, formatGoFloat, resolveJsonNumber, resolvePlainYaml } from "../../src/secrets/values.ts";
import { fixtures, tempDir, removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);

describe("value typing (go-yaml / Go strconv semantics)", () => {
  it("formats floats like strconv.FormatFloat(f, 'f', -1, 64)", () => {
    expect(formatGoFloat(1)).toBe("1");
    expect(formatGoFloat(1.5)).toBe("1.5");
    expect(formatGoFloat(1e21)).toBe("1000000000000000000000");
    expect(formatGoFloat(1e-7)).toBe("0.0000001");
    expect(formatGoFloat(-0)).toBe("-0");
    expect(formatGoFloat(123.456)).toBe("123.456");
    expect(formatGoFloat(Number.NaN)).toBe("NaN");
    expect(formatGoFloat(-Infinity)).toBe("-Inf");
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (f) => Object.is(Number(formatGoFloat(f)), f) || (f === 0 && Number(formatGoFloat(f)) === 0),
      ),
    );
  });

  it("types plain YAML scalars like go-yaml v3 decoding into interface{}", () => {
    const t = (s: string) => {
      const r = resolvePlainYaml(s);
      return r.kind === "value" ? `${r.value.type}:${r.value.text}` : r.kind;
    };
    expect(t("8080")).toBe("int:8080");
    expect(t("0x1F")).toBe("int:31");
    expect(t("0777")).toBe("int:511");
    expect(t("0o17")).toBe("int:15");
    expect(t("08")).toBe("float:8");
    expect(t("1_000")).toBe("int:1000");
    expect(t("+12")).toBe("int:12");
    expect(t("1.0")).toBe("float:1");
    expect(t("1e10")).toBe("float:10000000000");
    expect(t(".5")).toBe("float:0.5");
    expect(t(".inf")).toBe("float:+Inf");
    expect(t("true")).toBe("bool:True");
    expect(t("False")).toBe("bool:False");
    expect(t("yes")).toBe("str:yes");
    expect(t("~")).toBe("null");
    expect(t("2024-01-01")).toBe("str:2024-01-01");
    expect(t("12:30")).toBe("str:12:30");
    expect(t("valueOf")).toBe("str:valueOf");
    expect(t("__proto__")).toBe("str:__proto__");
    expect(t("18446744073709551615")).toBe("unsupported");
  });

  it("types JSON numbers like sops' JSON store", () => {
    expect(resolveJsonNumber("42")).toEqual({ type: "int", text: "42" });
    expect(resolveJsonNumber("1.0")).toEqual({ type: "float", text: "1" });
    expect(resolveJsonNumber("1e2")).toEqual({ type: "float", text: "100" });
    expect(resolveJsonNumber("12345678901234567890")).toEqual({
      type: "float",
      text: "12345678901234567000",
    });
  });

  it("hashes decrypted values in sops' canonical form", () => {
    expect(canonicalize({ type: "bool", text: "true" })).toEqual({ type: "bool", text: "True" });
    expect(canonicalize({ type: "int", text: "+007" })).toEqual({ type: "int", text: "7" });
    expect(() => canonicalize({ type: "int", text: "x" })).toThrow();
  });
});

describe("value cipher", () => {
  it("round-trips typed values and binds them to their path", () => {
    const key = newDataKey();
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const enc = encryptValue({ type: "str", text: s }, key, "a:b:");
        expect(decryptValue(enc, key, "a:b:")).toEqual({ type: "str", text: s });
        if (s !== "") expect(() => decryptValue(enc, key, "a:c:")).toThrow(/authentication failed/);
      }),
      { numRuns: 50 },
    );
    expect(encryptValue({ type: "str", text: "" }, key, "x:")).toBe("");
    expect(encryptValue({ type: "int", text: "5" }, key, "x:")).toMatch(
      /^ENC\[AES256_GCM,data:[^,]+,iv:[^,]{44},tag:[^,]{24},type:int\]$/,
    );
    expect(() => decryptValue("ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]", key, "x:")).toThrow();
    expect(() => decryptValue("plain", key, "x:")).toThrow(/not in sops/);
  });
});

describe("Shamir secret sharing", () => {
  it("recovers the secret from any threshold-sized subset", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        (secret, threshold, extra) => {
          const parts = split(secret, threshold + extra, threshold);
          expect(combine(parts.slice(extra))).toEqual(secret);
          expect(combine(parts.slice(0, threshold))).toEqual(secret);
        },
      ),
      { numRuns: 40 },
    );
    expect(() => split(new Uint8Array([1]), 2, 1)).toThrow(/threshold must be at least 2/);
    const parts = split(new Uint8Array([1, 2]), 2, 2);
    expect(() => combine([parts[0]!, parts[0]!])).toThrow(/duplicate/);
  });
});

describe("metadata", () => {
  const raw = {
    age: [
      {
        enc: "-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n",
        recipient: "age1abc",
      },
    ],
    lastmodified: "2026-01-02T03:04:05Z",
    mac: "ENC[…]",
    unencrypted_suffix: "_unencrypted",
    version: "3.9.0",
  };

  it("parses and writes back sops' field order", () => {
    const m = parseMetadata(raw, "f.yaml");
    expect(m.keyGroups).toHaveLength(1);
    expect(Object.keys(serializeMetadata(m))).toEqual(["age", "lastmodified", "mac", "unencrypted_suffix", "version"]);
    const groups = serializeMetadata({
      ...m,
      keyGroups: [m.keyGroups[0]!, m.keyGroups[0]!],
      shamirThreshold: 2,
    });
    expect(Object.keys(groups)).toEqual([
      "key_groups",
      "lastmodified",
      "mac",
      "shamir_threshold",
      "unencrypted_suffix",
      "version",
    ]);
    expect(Object.keys((groups.key_groups as object[])[0]!)).toEqual(["age", "hc_vault"]);
  });

  it("rejects damaged metadata with a UserError that says what to do", () => {
    expect(() => parseMetadata({ ...raw, lastmodified: undefined }, "f.yaml")).toThrow(
      /\(lastmodified is missing\); restore/,
    );
    expect(() => parseMetadata({ lastmodified: raw.lastmodified }, "f.yaml")).toThrow(/no keys found/);
    expect(() => parseMetadata({ ...raw, encrypted_regex: "x" }, "f.yaml")).toThrow(/more than one/);
    expect(() => parseMetadata("nope", "f.yaml")).toThrow(UserError);
  });

  it("formats the MAC's additional data like Go's RFC 3339", () => {
    expect(macAdditionalData("2026-01-02T03:04:05Z")).toBe("2026-01-02T03:04:05Z");
    expect(macAdditionalData("2026-01-02T03:04:05.123456+00:00")).toBe("2026-01-02T03:04:05Z");
    expect(macAdditionalData("2026-01-02T03:04:05+02:00")).toBe("2026-01-02T03:04:05+02:00");
  });

  it("decides what is encrypted like sops", () => {
    expect(shouldBeEncrypted(["a", "b_unencrypted"], { unencryptedSuffix: "_unencrypted" })).toBe(false);
    expect(shouldBeEncrypted(["data", "x"], { encryptedRegex: "^data$" })).toBe(true);
    expect(shouldBeEncrypted(["name"], { encryptedRegex: "^data$" })).toBe(false);
    expect(shouldBeEncrypted(["a_enc"], { encryptedSuffix: "_enc" })).toBe(true);
    expect(shouldBeEncrypted(["pub"], { unencryptedRegex: "^pub" })).toBe(false);
  });
});

describe(".sops.yaml creation rules", () => {
  it("takes the first rule matching the path relative to the config", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    const config = join(dir, ".sops.yaml");
    writeFileSync(
      config,
      "creation_rules:\n  - path_regex: (?i)^prod/\n    age: age1prod\n  - path_regex: sub/.*\\.yaml$\n    age: 'age1one, age1two'\n    encrypted_regex: ^data$\n  - key_groups:\n      - age: [age1g1]\n      - age: [age1g2]\n    shamir_threshold: 2\n",
    );
    expect(creationRuleFor(config, join(dir, "sub/s.yaml"))).toMatchObject({
      keyGroups: [["age1one", "age1two"]],
      encryptedRegex: "^data$",
    });
    expect(creationRuleFor(config, join(dir, "PROD/x.json"))).toMatchObject({ keyGroups: [["age1prod"]] });
    expect(creationRuleFor(config, join(dir, "other.json"))).toMatchObject({
      keyGroups: [["age1g1"], ["age1g2"]],
      shamirThreshold: 2,
    });
    expect(goRegExp("(?i)abc").test("ABC")).toBe(true);
    writeFileSync(config, "creation_rules:\n  - path_regex: x$\n    age: not-a-key\n");
    expect(() => creationRuleFor(config, join(dir, "x"))).toThrow(/not an age recipient/);
  });
});

describe("age identities", () => {
  let dir: string;
  let keyA: { secret: string; recipient: string };
  let keyB: { secret: string; recipient: string };
  beforeAll(async () => {
    dir = tempDir();
    keyA = await generateAgeKey();
    keyB = await generateAgeKey();
  });

  it("collects SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, the user key file and the node key file", async () => {
    const file = join(dir, "a.txt");
    writeFileSync(file, `# comment\n\n${keyA.secret}\n`);
    mkdirSync(join(dir, "xdg/sops/age"), { recursive: true });
    writeFileSync(join(dir, "xdg/sops/age/keys.txt"), `${keyB.secret}\n`);
    const node = join(dir, "node-keys.txt");
    writeFileSync(node, `${keyA.secret}\n`);
    const ids = await discoverIdentities({
      env: {
        SOPS_AGE_KEY: `${keyB.secret} ${keyA.secret}`,
        SOPS_AGE_KEY_FILE: file,
        XDG_CONFIG_HOME: join(dir, "xdg"),
      },
      nodeKeyFile: node,
    });
    expect(ids.map((i) => [i.recipient, i.source])).toEqual([
      [keyB.recipient, "SOPS_AGE_KEY"],
      [keyA.recipient, "SOPS_AGE_KEY"],
      [keyA.recipient, file],
      [keyB.recipient, join(dir, "xdg/sops/age/keys.txt")],
      [keyA.recipient, node],
    ]);
    expect(await discoverIdentities({ ageKeyFile: file, env: { SOPS_AGE_KEY: keyB.secret } })).toHaveLength(1);
    expect(await discoverIdentities({ env: { HOME: join(dir, "nohome") }, nodeKeyFile: join(dir, "none") })).toEqual(
      [],
    );
  });

  it("rejects a broken key file without quoting it", async () => {
    const bad = join(dir, "bad.txt");
    const broken = `${keyA.secret.slice(0, -3)}QQQ`;
    writeFileSync(bad, `${broken}\n`);
    const error = await discoverIdentities({ ageKeyFile: bad }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/line 1 of .*bad.txt is not a valid age secret key/);
    expect((error as Error).message).not.toContain(broken.slice(20));
  });
});

describe("documents", () => {
  let recipient: string;
  let ids: Awaited<ReturnType<typeof parseIdentities>>;
  beforeAll(async () => {
    const key = await generateAgeKey();
    recipient = key.recipient;
    ids = await parseIdentities(key.secret, "test");
  });

  it("keeps YAML comments and key order through open → set → save → open", async () => {
    const dir = tempDir();
    const path = join(dir, "s.yaml");
    const plain = readFileSync(join(fixtures, "rich.yaml"), "utf8");
    await encryptPlaintext(path, plain, { keyGroups: [[recipient]] }).save();
    const file = await openSecrets(path, ids);
    const first = file.toPlaintext();
    // Quoting styles are not stored in an encrypted file (nor by sops); comments and their order are.
    const comments = (t: string) => t.split("\n").filter((l) => l.includes("#") && !l.includes("not # a comment"));
    expect(comments(first)).toEqual(comments(plain));
    expect(file.keys()).toEqual([
      "k3s_token",
      "nested",
      "multi",
      "folded",
      "unicode",
      "quoted_number",
      "quoted_bool",
      "spaces",
      "colon_value",
      "hash_value",
      "private_ssh_key",
      "plain_unencrypted",
    ]);
    file.set("k3s_token", "new-token");
    await file.save();
    const again = await openSecrets(path, ids);
    expect(again.toPlaintext()).toBe(first.replace("s3cr3t-k3s-token-7f1e", "new-token"));
  });

  it("writes values of every type so they read back with the same type", async () => {
    const dir = tempDir();
    for (const ext of ["yaml", "json"]) {
      const path = join(dir, `t.${ext}`);
      const file = createSecrets(path, { keyGroups: [[recipient]] });
      const values = {
        s: "text",
        num_like: "0b101",
        bool_like: "true",
        date_like: "2024-01-01",
        i: 42,
        big: 2n ** 60n,
        f: 2.5,
        whole_f: 1e21,
        t: true,
        n: null,
        multi: "a\nb\n",
        list: ["x", 1, { y: "z" }],
        empty: "",
      };
      for (const [k, v] of Object.entries(values)) file.set(k, v);
      await file.save();
      const back = await openSecrets(path, ids);
      expect(back.get([])).toEqual(values);
    }
  });

  it("round-trips any string through YAML and JSON text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", minLength: 1 }), (value, key) => {
        for (const doc of [YamlDocument.empty(), JsonDocument.empty()]) {
          doc.setAt([key], value);
          const back =
            doc instanceof YamlDocument ? YamlDocument.parse(doc.toString()) : JsonDocument.parse(doc.toString());
          expect(back.getAt([key])).toBe(value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps JSON key order, including integer-like keys", () => {
    const doc = JsonDocument.parse('{"b": 1, "2": 2, "a": {"1": true, "0": null}}');
    expect(doc.keysAt([])).toEqual(["b", "2", "a"]);
    expect(doc.keysAt(["a"])).toEqual(["1", "0"]);
    expect(doc.toString()).toBe('{\n\t"b": 1,\n\t"2": 2,\n\t"a": {\n\t\t"1": true,\n\t\t"0": null\n\t}\n}\n');
    expect(() => JsonDocument.parse('{"a": 1, "a": 2}')).toThrow(/duplicate key/);
  });

  it("offers typed accessors with the documented contracts", async () => {
    const dir = tempDir();
    const path = join(dir, "api.yaml");
    const file = createSecrets(path, { keyGroups: [[recipient]] });
    expect(file.dirty).toBe(true);
    file.set("token", "abc");
    file.set(["nested", "port"], 8080);
    expect(file.keys()).toEqual(["token", "nested"]);
    expect(file.keys(["nested"])).toEqual(["port"]);
    expect(file.get("missing")).toBeUndefined();
    expect(file.has(["nested", "port"])).toBe(true);
    expect(file.getString("token")).toBe("abc");
    expect(() => file.getString("missing")).toThrow(/has no secret missing; add it with `nixlab secrets set missing`/);
    expect(() => file.getString(["nested", "port"])).toThrow(/is not a string/);
    expect(() => file.set(["token", "sub"], "x")).toThrow(/token is not a mapping/);
    expect(file.delete("missing")).toBe(false);
    expect(await file.save()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const reopened = await openSecrets(path, ids);
    expect(await reopened.save()).toBe(false);
    expect(reopened.delete("token")).toBe(true);
    expect(await reopened.save()).toBe(true);
    expect((await openSecrets(path, ids)).keys()).toEqual(["nested"]);
    expect(readdirSync(dir)).toEqual(["api.yaml"]);
  });

  it("refuses files without recipients and comment-regex files", async () => {
    expect(() => createSecrets("x.yaml", { keyGroups: [] })).toThrow(UserError);
    const dir = tempDir();
    const path = join(dir, "c.yaml");
    await encryptPlaintext(path, "a: 1\n", { keyGroups: [[recipient]] }).save();
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace("unencrypted_suffix: _unencrypted", "encrypted_comment_regex: x"),
    );
    await expect(openSecrets(path, ids)).rejects.toThrow(/encrypted_comment_regex.*use sops for this file/);
  });
});
