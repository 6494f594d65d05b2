/**
 * Secret values for the plan's Kubernetes Secrets. The engine asks a SecretSource for
 * the raw bytes of a SOPS secret by name and never cares where they come from: the
 * SOPS file through the secrets library, or a directory of decrypted files as sops-nix
 * writes them (/run/secrets/<name>). Values go only into Secret `data` (base64 of the
 * exact bytes) in a request body: never argv, logs, errors or the state dir.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, join, normalize } from "node:path";
import { byteOrder } from "../cluster/model.ts";
import { UserError } from "../errors.ts";
import type { PlanSecret } from "../plan/schema.ts";
import { ApiError, type KubeClient } from "./client.ts";
import { groupLabel, type KObject, managedByLabel } from "./objects.ts";

/** Where secret values come from (a path, never a value, in its description). */
export interface SecretSource {
  /** Where values come from, for messages (a path, never a value). */
  readonly description: string;
  /** The exact bytes of one SOPS secret; throws a UserError naming it when it is missing. */
  get(name: string): Promise<Uint8Array>;
  /**
   * A digest of everything the values come from (e.g. the SOPS file's bytes), when that is
   * cheaper than reading the values: equal fingerprints mean equal values.
   */
  fingerprint?(): Promise<string>;
}

/** A directory of decrypted files, one per secret, as sops-nix writes /run/secrets. */
export class DirSecretSource implements SecretSource {
  readonly description: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.description = `secrets directory ${dir}`;
  }

  async get(name: string): Promise<Uint8Array> {
    // sops-nix nests names with "/" (foo/bar -> /run/secrets/foo/bar); nothing may escape the dir.
    if (!name || isAbsolute(name) || normalize(name).split("/").includes("..")) {
      throw new UserError(`invalid secret name ${JSON.stringify(name)}`);
    }
    try {
      return await readFile(join(this.dir, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UserError(`secret ${name} is missing from ${this.dir} (${code ?? "unreadable"})`, {
        details: ["Declare it in the SOPS file (nixlab secrets set) so sops-nix decrypts it."],
      });
    }
  }
}

/**
 * The SOPS file itself, decrypted in memory by the secrets library with the age
 * identities it discovers (or `ageKeyFile`). Names nest with "/" as in sops-nix. The
 * file is opened (and its MAC verified) on the first `get`: a run whose selected
 * groups need no secret never loads the SOPS code or asks for the age key.
 */
export function sopsSource(path: string, options: { ageKeyFile?: string } = {}): SecretSource {
  let opened: Promise<import("../secrets/index.ts").SecretsFile> | undefined;
  const open = async () => {
    const lib = await import("../secrets/index.ts");
    const identities = await lib.discoverIdentities(options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {});
    return await lib.openSecrets(path, identities);
  };
  return {
    description: `SOPS file ${path}`,
    async fingerprint() {
      try {
        return createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
      } catch (error) {
        throw new UserError(`cannot read the secrets file ${path} (${(error as NodeJS.ErrnoException).code})`);
      }
    },
    async get(name: string): Promise<Uint8Array> {
      opened ??= open();
      const file = await opened;
      const value = file.get(name.split("/"));
      if (value === undefined) {
        throw new UserError(`${path} has no secret ${name}`, {
          details: [`Add it with \`nixlab secrets set ${name}\`.`],
        });
      }
      // sops-nix writes a scalar's text as the file content: strings as is, others printed.
      if (typeof value === "string") return Buffer.from(value, "utf8");
      if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
        return Buffer.from(String(value), "utf8");
      }
      throw new UserError(`${path}: secret ${name} is not a single value`);
    },
  };
}

/** A plan Secret with its values. */
export interface ResolvedSecret {
  plan: PlanSecret;
  /** Secret key -> value bytes. */
  values: Map<string, Uint8Array>;
}

/** Fetches every value the plan's Secrets need (each SOPS secret read once). */
export async function resolveSecrets(secrets: readonly PlanSecret[], source: SecretSource): Promise<ResolvedSecret[]> {
  const cache = new Map<string, Promise<Uint8Array>>();
  const read = (name: string) => {
    let v = cache.get(name);
    if (!v) {
      v = source.get(name);
      cache.set(name, v);
    }
    return v;
  };
  return await Promise.all(
    secrets.map(async (plan) => {
      const values = new Map<string, Uint8Array>();
      for (const k of plan.keys) values.set(k.key, await read(k.sopsSecret));
      return { plan, values };
    }),
  );
}

/** "namespace/name" of a plan Secret. */
export function secretId(s: { namespace: string; name: string }): string {
  return `${s.namespace}/${s.name}`;
}

/** The Secret object applied for a plan Secret: all its keys in one server-side apply. */
export function secretObject(secret: ResolvedSecret): KObject {
  const data: Record<string, string> = {};
  for (const [k, v] of [...secret.values].sort(([a], [b]) => byteOrder(a, b))) {
    data[k] = Buffer.from(v).toString("base64");
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: secret.plan.name,
      namespace: secret.plan.namespace,
      labels: { [managedByLabel]: "nixlab", [groupLabel]: secret.plan.group },
    },
    type: "Opaque",
    data,
  };
}

/**
 * Keyed digest of secret values. Keyed (HMAC, see clusterHashKey) because it is stored in
 * the state dir and in pod annotations, where a plain hash of a weak password could be
 * guessed offline.
 */
export function secretsDigest(hmacKey: Uint8Array, secrets: readonly ResolvedSecret[]): string {
  const h = createHmac("sha256", hmacKey);
  for (const s of [...secrets].sort((a, b) => byteOrder(secretId(a.plan), secretId(b.plan)))) {
    h.update(`${secretId(s.plan)}\0`);
    for (const [k, v] of [...s.values].sort(([a], [b]) => byteOrder(a, b))) {
      h.update(`${k}\0${v.length}\0`);
      h.update(v);
    }
  }
  return h.digest("hex");
}

const hashKeyRef = { apiVersion: "v1", kind: "Secret", namespace: "kube-system", name: "nixlab-hash-key" };

/**
 * The HMAC key for secret digests, kept in the cluster (created once, at random) so the
 * master and every workstation compute the same digests: the same values never roll pods
 * twice, and no plain hash of a weak password is ever stored. With `create: false`
 * (diff: no writes) an absent key gives null.
 */
export async function clusterHashKey(kube: KubeClient, options: { create?: boolean } = {}): Promise<Buffer | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const cur = await kube.get(hashKeyRef);
    const data = cur?.data?.key as string | undefined;
    if (data) return Buffer.from(data, "base64");
    if (options.create === false) return null;
    try {
      await kube.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: hashKeyRef.name, namespace: hashKeyRef.namespace, labels: { [managedByLabel]: "nixlab" } },
        type: "Opaque",
        data: { key: randomBytes(32).toString("base64") },
      });
    } catch (error) {
      // Another deploy created it first: read theirs.
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }
  throw new Error("could not read or create the Secret kube-system/nixlab-hash-key");
}

/**
 * Removes every secret value (raw and base64) from a message before it is printed: the
 * apiserver may echo request content in validation errors.
 */
export class Redactor {
  private readonly needles = new Set<string>();

  add(value: Uint8Array): void {
    const text = Buffer.from(value).toString("utf8");
    // Very short values would redact ordinary words; they cannot be told apart anyway.
    if (text.length >= 4) {
      this.needles.add(text);
      this.needles.add(JSON.stringify(text).slice(1, -1));
    }
    if (value.length > 0) this.needles.add(Buffer.from(value).toString("base64"));
  }

  redact(message: string): string {
    let out = message;
    for (const n of [...this.needles].sort((a, b) => b.length - a.length)) out = out.split(n).join("<redacted>");
    return out;
  }
}
