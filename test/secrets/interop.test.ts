// Interop with the real sops (built from the pinned Go module) and age (Debian):
// each tool reads what the other writes, and both reject tampering.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.ts";
import fc from "fast-check";
import {
  createAgeKeyFile,
  createSecrets,
  encryptPlaintext,
  openSecrets,
  parseIdentities,
} from "../../src/secrets/index.ts";
import { JsonDocument } from "../../src/secrets/json-store.ts";
import { YamlDocument } from "../../src/secrets/yaml-store.ts";
import { ageKeygen, fixtures, requireTools, sops, tempDir, tools, removeTempDirs } from "./helpers.ts";

afterAll(removeTempDirs);

const available = requireTools();
const suite = available ? describe : describe.skip;

const richYaml = readFileSync(join(fixtures, "rich.yaml"), "utf8");
const richJson = readFileSync(join(fixtures, "rich.json"), "utf8");
const yamlValues = YamlDocument.parse(richYaml).getAt([]);
const jsonValues = JsonDocument.parse(richJson).getAt([]);

suite("interop with sops and age", () => {
  let dir: string;
  let keyFile: string;
  let recipient: string;
  let env: Record<string, string>;
  const ids = () => parseIdentities(readFileSync(keyFile, "utf8"), keyFile);

  beforeAll(() => {
    dir = tempDir();
    keyFile = join(dir, "key.txt");
    recipient = ageKeygen(keyFile);
    env = { SOPS_AGE_KEY_FILE: keyFile, HOME: dir };
  });

  function sopsEncrypt(plainName: string, text: string, extra: string[] = []): string {
    const plain = join(dir, plainName);
    writeFileSync(plain, text);
    const r = sops(["encrypt", "--age", recipient, ...extra, plain], env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const enc = join(dir, `sops-${plainName}`);
    writeFileSync(enc, r.stdout);
    return enc;
  }

  function sopsDecrypt(path: string): string {
    const r = sops(["decrypt", path], env);
    expect(r.stderr, "sops decrypt must pass its MAC check without warnings").toBe("");
    expect(r.status).toBe(0);
    return r.stdout;
  }

  it("decrypts a YAML file sops encrypted to identical values, with comments", async () => {
    const enc = sopsEncrypt("rich.yaml", richYaml);
    const file = await openSecrets(enc, await ids());
    expect(file.get([])).toEqual(yamlValues);
    expect(file.get(["nested", "big"])).toBe(9007199254740993n);
    expect(file.get("multi")).toBe("line one marker\nline two marker\n");
    expect(file.get("unicode")).toBe("héllo ✓ 日本 emoji 😀 marker");
    expect(file.get("quoted_number")).toBe("12345");
    expect(file.get(["nested", "empty"])).toBe("");
    expect(file.get(["nested", "nothing"])).toBeNull();
    const plaintext = file.toPlaintext();
    for (const c of ["# the join token", "# inline note", "# inside nested", "# before two", "# closing comment"]) {
      expect(plaintext).toContain(c);
    }
    expect(YamlDocument.parse(sopsDecrypt(enc)).getAt([])).toEqual(YamlDocument.parse(plaintext).getAt([]));
  });

  it("keeps comments that close nested blocks readable by both tools", async () => {
    const text = readFileSync(join(fixtures, "comments.yaml"), "utf8");
    const comments = text
      .split("\n")
      .filter((l) => l.trimStart().startsWith("#"))
      .map((l) => l.trim());
    const ours = join(dir, "comments-ours.yaml");
    await encryptPlaintext(ours, text, { keyGroups: [[recipient]] }).save();
    const out = sopsDecrypt(ours);
    for (const c of comments) expect(out).toContain(c);
    const theirs = sopsEncrypt("comments.yaml", text);
    const plain = (await openSecrets(theirs, await ids())).toPlaintext();
    for (const c of comments) expect(plain).toContain(c);
  });

  it("decrypts a JSON file sops encrypted to identical values and key order", async () => {
    const enc = sopsEncrypt("rich.json", richJson);
    const file = await openSecrets(enc, await ids());
    expect(file.get([])).toEqual(jsonValues);
    expect(file.keys()).toEqual(["k3s_token", "2", "1", "nested", "multi", "unicode", "escapes", "plain_unencrypted"]);
    expect(file.get(["nested", "big"])).toBe(9007199254740993n);
  });

  it("writes YAML that sops decrypts (MAC passes) to identical values and comments", async () => {
    const path = join(dir, "ours.yaml");
    await encryptPlaintext(path, richYaml, { keyGroups: [[recipient]] }).save();
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain("s3cr3t-k3s-token");
    expect(text).toContain("plain_unencrypted: visible-by-design");
    const out = sopsDecrypt(path);
    expect(YamlDocument.parse(out).getAt([])).toEqual(yamlValues);
    for (const c of ["# the join token", "# inline note", "# inside nested", "# before two", "# closing comment"]) {
      expect(out).toContain(c);
    }
  });

  it("writes JSON that sops decrypts (MAC passes) to identical values", async () => {
    const path = join(dir, "ours.json");
    await encryptPlaintext(path, richJson, { keyGroups: [[recipient]] }).save();
    expect(JsonDocument.parse(sopsDecrypt(path)).getAt([])).toEqual(jsonValues);
  });

  it("sops reads back arbitrary strings nixlab wrote, in YAML and JSON", async () => {
    const char = fc.oneof(
      fc.constantFrom(
        "\n",
        "\t",
        "\r",
        " ",
        "#",
        ": ",
        '"',
        "'",
        "\\",
        "-",
        "0",
        "1",
        ".",
        "e",
        "~",
        "&",
        "*",
        "!",
        "|",
        ">",
      ),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
    );
    const samples = fc.sample(fc.string({ unit: char, maxLength: 30 }), 60);
    for (const ext of ["yaml", "json"]) {
      const path = join(dir, `random.${ext}`);
      const file = createSecrets(path, { keyGroups: [[recipient]] });
      for (const [i, v] of samples.entries()) file.set(`k${i}`, v);
      await file.save();
      const parse = (t: string) =>
        (ext === "yaml" ? YamlDocument.parse(t) : JsonDocument.parse(t)).getAt([]) as Record<string, unknown>;
      // sops verified the MAC over every value; compare its output with its own round trip of the same plaintext.
      const ours = parse(sopsDecrypt(path));
      const theirs = parse(sopsDecrypt(sopsEncrypt(`random-plain.${ext}`, file.toPlaintext())));
      expect(ours).toEqual(theirs);
      // go-yaml prints a multi-line string that starts with a tab as null (a sops bug, also on its own files).
      samples.forEach((v, i) => {
        if (!(ext === "yaml" && v.startsWith("\t") && v.includes("\n")))
          expect(ours[`k${i}`], JSON.stringify(v)).toBe(v);
      });
    }
  });

  it("edits a sops file so sops still decrypts it; unchanged values keep their ciphertext", async () => {
    const enc = sopsEncrypt("edit.yaml", richYaml);
    const before = readFileSync(enc, "utf8");
    const file = await openSecrets(enc, await ids());
    file.set("k3s_token", "rotated-token-marker");
    file.set(["nested", "added"], "added-marker");
    file.delete("folded");
    await file.save();
    const after = readFileSync(enc, "utf8");
    const userLine = (t: string) => t.split("\n").find((l) => l.trimStart().startsWith("user:"));
    expect(userLine(after)).toBe(userLine(before));
    const values = YamlDocument.parse(sopsDecrypt(enc)).getAt([]) as Record<string, unknown>;
    expect(values.k3s_token).toBe("rotated-token-marker");
    expect((values.nested as Record<string, unknown>).added).toBe("added-marker");
    expect(values.folded).toBeUndefined();
    expect(values.multi).toBe("line one marker\nline two marker\n");
  });

  it("reads a file after sops edited it (sops set)", async () => {
    const path = join(dir, "ours-then-sops.yaml");
    await encryptPlaintext(path, richYaml, { keyGroups: [[recipient]] }).save();
    const r = sops(["set", path, '["nested"]["user"]', '"set-by-sops"'], env);
    expect(r.status).toBe(0);
    const file = await openSecrets(path, await ids());
    expect(file.get(["nested", "user"])).toBe("set-by-sops");
    expect(file.get("k3s_token")).toBe("s3cr3t-k3s-token-7f1e");
  });

  it("rejects a tampered value in both tools", async () => {
    const path = join(dir, "tamper-value.yaml");
    await encryptPlaintext(path, "a: first-value\nb: second-value\n", { keyGroups: [[recipient]] }).save();
    const text = readFileSync(path, "utf8");
    const tampered = text.replace(
      /^(a: ENC\[AES256_GCM,data:)(.)/m,
      (_m, p: string, c: string) => p + (c === "A" ? "B" : "A"),
    );
    expect(tampered).not.toBe(text);
    writeFileSync(path, tampered);
    await expect(openSecrets(path, await ids())).rejects.toThrow(/value of a fails authentication/);
    const r = sops(["decrypt", path], env);
    expect(r.status).not.toBe(0);
    expect(readFileSync(path, "utf8")).toBe(tampered);
  });

  it("rejects a swapped value (valid ciphertext at another path) in both tools", async () => {
    const path = join(dir, "tamper-swap.yaml");
    await encryptPlaintext(path, "a: first-value\nb: second-value\n", { keyGroups: [[recipient]] }).save();
    const lines = readFileSync(path, "utf8").split("\n");
    const a = lines.findIndex((l) => l.startsWith("a: "));
    const b = lines.findIndex((l) => l.startsWith("b: "));
    [lines[a], lines[b]] = [`a: ${lines[b]!.slice(3)}`, `b: ${lines[a]!.slice(3)}`];
    writeFileSync(path, lines.join("\n"));
    await expect(openSecrets(path, await ids())).rejects.toThrow(UserError);
    expect(sops(["decrypt", path], env).status).not.toBe(0);
  });

  it("rejects a tampered MAC in both tools", async () => {
    for (const format of ["yaml", "json"] as const) {
      const path = join(dir, `tamper-mac.${format}`);
      await encryptPlaintext(path, format === "yaml" ? "a: value-one\n" : '{"a": "value-one"}', {
        keyGroups: [[recipient]],
      }).save();
      const text = readFileSync(path, "utf8");
      const tampered = text.replace(
        /(mac"?: "?ENC\[AES256_GCM,data:)(.)/,
        (_m, p: string, c: string) => p + (c === "A" ? "B" : "A"),
      );
      expect(tampered).not.toBe(text);
      writeFileSync(path, tampered);
      await expect(openSecrets(path, await ids())).rejects.toThrow(/integrity check/);
      const r = sops(["decrypt", path], env);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/MAC/);
    }
  });

  it("rejects a value changed to another valid ciphertext of the same path (MAC mismatch) in both tools", async () => {
    const path = join(dir, "mac-mismatch.yaml");
    const file = encryptPlaintext(path, "a: original-value\nb: other\n", { keyGroups: [[recipient]] });
    await file.save();
    const original = readFileSync(path, "utf8");
    file.set("a", "changed-value");
    const changed = await file.encryptedText();
    // Take the new value of `a` but keep the old MAC and lastmodified.
    const newA = changed.split("\n").find((l) => l.startsWith("a: "))!;
    writeFileSync(path, original.replace(/^a: .*$/m, newA));
    await expect(openSecrets(path, await ids())).rejects.toThrow(/MAC mismatch/);
    const r = sops(["decrypt", path], env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/MAC mismatch/);
  });

  it("uses an age-keygen key and sops uses a nixlab key; age encrypts to a nixlab recipient", async () => {
    const ourKeyFile = join(dir, "nixlab-key.txt");
    const ours = await createAgeKeyFile(ourKeyFile);
    const path = join(dir, "nixlab-key.yaml");
    await encryptPlaintext(path, "a: for-nixlab-key\n", { keyGroups: [[ours.recipient]] }).save();
    const r = sops(["decrypt", path], { SOPS_AGE_KEY_FILE: ourKeyFile, HOME: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("for-nixlab-key");
    // age itself, with the nixlab-made key.
    const ageOut = execFileSync(tools.age!, ["-r", ours.recipient, "-a"], { input: "age-payload" });
    const plain = execFileSync(tools.age!, ["-d", "-i", ourKeyFile], { input: ageOut, encoding: "utf8" });
    expect(plain).toBe("age-payload");
    expect(execFileSync(tools.ageKeygen!, ["-y", ourKeyFile], { encoding: "utf8" }).trim()).toBe(ours.recipient);
  });

  it("reads and writes key groups with a Shamir threshold like sops", async () => {
    const key2 = join(dir, "key2.txt");
    const r2 = ageKeygen(key2);
    const both = join(dir, "both.txt");
    writeFileSync(both, readFileSync(keyFile, "utf8") + readFileSync(key2, "utf8"));
    writeFileSync(
      join(dir, ".sops.yaml"),
      `creation_rules:\n  - path_regex: groups\\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age: [${recipient}]\n      - age: [${r2}]\n`,
    );
    const plain = join(dir, "groups.yaml");
    writeFileSync(plain, "a: shamir-value\n");
    const r = sops(["encrypt", "-i", plain], { SOPS_AGE_KEY_FILE: both, HOME: dir }, undefined, dir);
    expect(r.status).toBe(0);
    const all = await parseIdentities(readFileSync(both, "utf8"), both);
    const file = await openSecrets(plain, all);
    expect(file.get("a")).toBe("shamir-value");
    await expect(openSecrets(plain, await ids())).rejects.toThrow(/2 of 2 key groups needed, 1 opened/);
    const ours = join(dir, "groups-ours.yaml");
    await encryptPlaintext(ours, "b: written-with-groups\n", {
      keyGroups: [[recipient], [r2]],
      shamirThreshold: 2,
    }).save();
    const d = sops(["decrypt", ours], { SOPS_AGE_KEY_FILE: both, HOME: dir });
    expect(d.status).toBe(0);
    expect(d.stdout).toBe("b: written-with-groups\n");
    expect(sops(["decrypt", ours], { SOPS_AGE_KEY_FILE: keyFile, HOME: dir }).status).not.toBe(0);
  });

  it("honours encrypted_regex, unencrypted_suffix and mac_only_encrypted both ways", async () => {
    const text = "data:\n  password: pw-marker\nname: plain-name\nport: 80\n";
    // mac_only_encrypted has no flag; it comes from a creation rule.
    const macOnlyDir = join(dir, "mac-only");
    mkdirSync(macOnlyDir);
    writeFileSync(
      join(macOnlyDir, ".sops.yaml"),
      `creation_rules:\n  - age: ${recipient}\n    encrypted_regex: ^data$\n    mac_only_encrypted: true\n`,
    );
    writeFileSync(join(macOnlyDir, "rules.yaml"), text);
    const macOnly = sops(["encrypt", "-i", "rules.yaml"], env, undefined, macOnlyDir);
    expect(macOnly.status).toBe(0);
    expect(readFileSync(join(macOnlyDir, "rules.yaml"), "utf8")).toContain("mac_only_encrypted: true");
    const encrypted = [
      sopsEncrypt("rules-regex.yaml", text, ["--encrypted-regex", "^(data|password)$"]),
      sopsEncrypt("rules-suffix.yaml", text, ["--unencrypted-suffix", "name"]),
      join(macOnlyDir, "rules.yaml"),
    ];
    for (const enc of encrypted) {
      const file = await openSecrets(enc, await ids());
      expect(file.get([])).toEqual({ data: { password: "pw-marker" }, name: "plain-name", port: 80 });
      file.set("port", 81);
      await file.save();
      expect(readFileSync(enc, "utf8")).not.toContain("pw-marker");
      expect(YamlDocument.parse(sopsDecrypt(enc)).getAt(["port"])).toBe(81);
    }
    const ours = join(dir, "rules-ours.yaml");
    await encryptPlaintext(ours, text, {
      keyGroups: [[recipient]],
      encryptedRegex: "^data$",
      macOnlyEncrypted: true,
    }).save();
    const written = readFileSync(ours, "utf8");
    expect(written).toContain("name: plain-name");
    expect(written).not.toContain("pw-marker");
    expect(YamlDocument.parse(sopsDecrypt(ours)).getAt([])).toEqual({
      data: { password: "pw-marker" },
      name: "plain-name",
      port: 80,
    });
  });

  it("handles multi-document YAML like sops", async () => {
    const enc = sopsEncrypt("multi-doc.yaml", "a: doc-one-marker\n---\nb: doc-two-marker\n");
    const file = await openSecrets(enc, await ids());
    expect(file.toPlaintext()).toContain("doc-two-marker");
    const ours = join(dir, "multi-ours.yaml");
    copyFileSync(enc, ours);
    const reopened = await openSecrets(ours, await ids());
    reopened.set("a", "changed-doc-one");
    await reopened.save();
    const out = sopsDecrypt(ours);
    expect(out).toContain("changed-doc-one");
    expect(out).toContain("doc-two-marker");
  });
});
