// A VPN test project: a copy of the example cluster (encrypted to its example-only age
// key) in a temp directory, the real CLI, the real sops, and file snapshots.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { nixlab, type Run, repoRoot, sops, tools } from "../secrets/helpers.ts";

export interface Project {
  dir: string;
  env: Record<string, string>;
  run(args: string[], extraEnv?: Record<string, string>): Run;
  read(name: string): string;
  /** Every file's bytes, to prove a failed command changed nothing. */
  snapshot(): Record<string, string>;
  /** The decrypted value of `key` in a SOPS file of the project, by the real sops. */
  sopsGet(file: string, key: string): string;
  remove(): void;
}

/** A new project with `cluster` as the cluster file kind (the others are removed). */
export function project(cluster: "yaml" | "ts" | "nix" = "yaml"): Project {
  const dir = mkdtempSync(join(tmpdir(), "nixlab-vpn-test-"));
  cpSync(join(repoRoot, "examples/homelab"), dir, { recursive: true });
  for (const f of ["nixlab.config.ts", "nixlab.yaml", "vars.nix"]) {
    const keep = { yaml: "nixlab.yaml", ts: "nixlab.config.ts", nix: "vars.nix" }[cluster];
    if (f !== keep) rmSync(join(dir, f));
  }
  const env = { HOME: join(dir, "home"), SOPS_AGE_KEY_FILE: join(dir, "age-key.txt") };
  const self: Project = {
    dir,
    env,
    run: (args, extraEnv = {}) => nixlab(args, { env: { ...env, ...extraEnv }, cwd: dir }),
    read: (name) => readFileSync(join(dir, name), "utf8"),
    snapshot: () =>
      Object.fromEntries(
        readdirSync(dir)
          .filter((f) => !f.startsWith("home") && f !== "hosts")
          .sort()
          .map((f) => [f, readFileSync(join(dir, f), "latin1")]),
      ),
    sopsGet: (file, key) => {
      const r = sops(["decrypt", "--extract", `["${key}"]`, join(dir, file)], env);
      if (r.status !== 0) throw new Error(`sops decrypt ${file} ${key}: ${r.stderr}`);
      return r.stdout;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return self;
}

/** The PrivateKey of a client config. */
export const privateKeyOf = (config: string): string => /^PrivateKey = (.+)$/m.exec(config)![1]!;

export function writeFile(p: Project, name: string, text: string): void {
  writeFileSync(join(p.dir, name), text);
}

export const haveSops = () => Boolean(tools.sops);
export { existsSync };
