/**
 * `nixlab doctor`: everything that can go wrong before a deploy, each checked with the
 * functions the other commands use (cluster load, secrets open/check, .sops.yaml rules,
 * the build's plan, kubeconfig loading) and reported as one result with its fix. The
 * machine is reached through `DoctorInputs` (files through the libraries, PATH through
 * `which`, the cluster through `probe`), so every failure is testable on its own.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { Cluster } from "../cluster/model.ts";
import { loadCluster } from "../config/load.ts";
import { UserError } from "../errors.ts";
import { agentSecretNames, agentSecretsFile, masterSecretsFile } from "../nodes/spec.ts";
import { hardwareConfigPath } from "../nodes/render.ts";
import { renderCluster } from "../render/build.ts";
import type { AgeIdentity } from "../secrets/age.ts";
import { creationRuleFor, findConfigFile } from "../secrets/config.ts";
import { openSecrets, type SecretsFile } from "../secrets/file.ts";
import { besideKeyName, discoverIdentities } from "../secrets/identities.ts";
import { checkRequired, secretsFileProblems } from "../secrets/project.ts";
import { requiredSecrets } from "../services/required-secrets.ts";

/** One check's outcome. `fix` says what to do when it is not ok. */
export interface CheckResult {
  id: CheckId;
  status: "ok" | "fail" | "skip";
  /** What was found (ok) or what is wrong (fail), or why it was not checked (skip). */
  detail: string;
  fix?: string;
}

/** Every check, in the order doctor runs and prints them. */
export const checkIds = [
  "cluster-file",
  "hardware-configs",
  "age-key",
  "age-key-mode",
  "secrets-decrypt",
  "secrets-complete",
  "secrets-well-formed",
  "sops-rules",
  "agent-secrets",
  "build-fresh",
  "kubeconfig",
  "api-reachable",
  "helm-controller",
  "node-tools",
] as const;
export type CheckId = (typeof checkIds)[number];

/** What a check shows in the text output. */
export const checkTitles: Record<CheckId, string> = {
  "cluster-file": "cluster file",
  "hardware-configs": "hardware configs",
  "age-key": "age key",
  "age-key-mode": "age key mode",
  "secrets-decrypt": "secrets decrypt",
  "secrets-complete": "secrets complete",
  "secrets-well-formed": "secrets well-formed",
  "sops-rules": ".sops.yaml rules",
  "agent-secrets": "agents' secrets",
  "build-fresh": "build fresh",
  kubeconfig: "kubeconfig",
  "api-reachable": "API reachable",
  "helm-controller": "helm controller",
  "node-tools": "nodes apply tools",
};

/** A connection to the cluster, for the three cluster checks. */
export interface ClusterConnection {
  /** "context NAME → https://…" for the report. */
  describe: string;
  /** The API server's version; throws when it does not answer. */
  version(): Promise<string>;
  /** Whether the API serves `kind` in `apiVersion`. */
  serves(apiVersion: string, kind: string): Promise<boolean>;
  close(): void;
}

export interface DoctorInputs {
  /** --config, else the cluster file in `cwd`. */
  config?: string;
  cwd: string;
  /** --secrets, else secrets.yaml beside the cluster file. */
  secrets?: string;
  ageKeyFile?: string;
  /** The build directory (`nixlab build --out`). */
  buildDir: string;
  env: NodeJS.ProcessEnv;
  /** The path of `tool` on PATH, or null. */
  which(tool: string): string | null;
  /** Loads the kubeconfig and picks the context; throws UserError naming what is wrong. */
  connect(): Promise<ClusterConnection>;
}

/** The tools `nixlab nodes apply` runs on this machine. */
export const nodeApplyTools = ["nixos-rebuild", "nix", "ssh"] as const;

const ok = (id: CheckId, detail: string): CheckResult => ({ id, status: "ok", detail });
const fail = (id: CheckId, detail: string, fix: string): CheckResult => ({ id, status: "fail", detail, fix });
const skip = (id: CheckId, detail: string): CheckResult => ({ id, status: "skip", detail });

/** A UserError's message and the fix its details give (the "fix:" lines first). */
function fromError(id: CheckId, error: unknown, fallbackFix: string): CheckResult {
  if (!(error instanceof UserError)) throw error;
  const details = error.details.map((d) => d.trim()).filter((d) => d !== "");
  const fixes = details.filter((d) => d.startsWith("fix:")).map((d) => d.slice(4).trim());
  const problems = details.filter((d) => !d.startsWith("fix:"));
  const first = problems[0] ? `: ${problems[0]}` : "";
  return fail(id, `${error.message}${first}`, fixes[0] ?? (problems.length > 1 ? problems.at(-1)! : fallbackFix));
}

/** Runs every check (those that need a failed one are skipped); never throws for what a user can fix. */
export async function runDoctor(inputs: DoctorInputs): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let cluster: Cluster | undefined;
  try {
    cluster = await loadCluster({ ...(inputs.config ? { config: inputs.config } : {}), cwd: inputs.cwd });
    results.push(
      ok(
        "cluster-file",
        `${relative(inputs.cwd, cluster.source) || cluster.source}: ${cluster.nodes.length} node(s), master ${cluster.master.hostname}`,
      ),
    );
  } catch (error) {
    results.push(
      fromError("cluster-file", error, "fix the cluster file as the message says, then rerun nixlab doctor"),
    );
  }
  const dir = cluster ? dirname(cluster.source) : inputs.cwd;
  results.push(cluster ? hardwareConfigs(cluster, dir) : skip("hardware-configs", "needs a valid cluster file"));
  results.push(...(await secretsChecks(inputs, cluster, dir)));
  results.push(cluster ? buildFresh(cluster, inputs.buildDir) : skip("build-fresh", "needs a valid cluster file"));
  results.push(...(await clusterChecks(inputs)));
  results.push(nodeTools(inputs));
  return results;
}

function hardwareConfigs(cluster: Cluster, dir: string): CheckResult {
  const missing = cluster.nodes.map((n) => hardwareConfigPath(n.hostname)).filter((p) => !existsSync(join(dir, p)));
  if (missing.length === 0) return ok("hardware-configs", `all ${cluster.nodes.length} present`);
  return fail(
    "hardware-configs",
    `missing: ${missing.join(", ")}`,
    "boot each node from the NixOS installer, run `nixos-generate-config --show-hardware-config --no-filesystems` and save its output there",
  );
}

async function secretsChecks(inputs: DoctorInputs, cluster: Cluster | undefined, dir: string): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  let identities: AgeIdentity[] = [];
  try {
    identities = await discoverIdentities({
      ...(inputs.ageKeyFile ? { ageKeyFile: inputs.ageKeyFile } : {}),
      env: inputs.env,
    });
    out.push(
      identities.length > 0
        ? ok("age-key", [...new Set(identities.map((i) => i.source))].join(", "))
        : fail(
            "age-key",
            "no age key found",
            // A key `nixlab init` put beside the cluster file is found only through SOPS_AGE_KEY_FILE.
            existsSync(join(dir, besideKeyName))
              ? `export SOPS_AGE_KEY_FILE=${join(dir, besideKeyName)}`
              : "run nixlab init (it makes one), or export SOPS_AGE_KEY_FILE=/path/to/keys.txt",
          ),
    );
  } catch (error) {
    out.push(fromError("age-key", error, "point SOPS_AGE_KEY_FILE or --age-key-file at your key file"));
  }
  out.push(keyModes(identities));
  const path = inputs.secrets ?? join(dir, masterSecretsFile);
  const rest: CheckId[] = ["secrets-decrypt", "secrets-complete", "secrets-well-formed", "sops-rules", "agent-secrets"];
  if (identities.length === 0) return [...out, ...rest.map((id) => skip(id, "needs an age key"))];
  let file: SecretsFile;
  try {
    file = await openSecrets(path, identities);
    out.push(ok("secrets-decrypt", `${relative(inputs.cwd, path) || path} opens with your key`));
  } catch (error) {
    const fix = existsSync(path)
      ? "use the age key the file is encrypted to, or ask someone who has one to add yours (.sops.yaml, then nixlab secrets updatekeys)"
      : "run nixlab init, or nixlab secrets init for an existing cluster file";
    return [
      ...out,
      fromError("secrets-decrypt", error, fix),
      ...rest.slice(1).map((id) => skip(id, "needs the secrets file open")),
    ];
  }
  out.push(cluster ? secretsComplete(file, cluster) : skip("secrets-complete", "needs a valid cluster file"));
  out.push(cluster ? wellFormed(file, cluster) : skip("secrets-well-formed", "needs a valid cluster file"));
  out.push(sopsRules(file));
  out.push(
    cluster ? await agentSecrets(cluster, dir, file, identities) : skip("agent-secrets", "needs a valid cluster file"),
  );
  return out;
}

function keyModes(identities: readonly AgeIdentity[]): CheckResult {
  const files = [...new Set(identities.map((i) => i.source))].filter((s) => s.startsWith("/") && existsSync(s));
  if (files.length === 0)
    return identities.length === 0
      ? skip("age-key-mode", "no key file")
      : ok("age-key-mode", "key from the environment");
  const open = files.filter((f) => (statSync(f).mode & 0o077) !== 0);
  if (open.length === 0) return ok("age-key-mode", `${files.join(", ")}: 0600`);
  return fail(
    "age-key-mode",
    `${open.map((f) => `${f} is mode ${(statSync(f).mode & 0o777).toString(8).padStart(4, "0")}`).join(", ")}: others can read your key`,
    `chmod 600 ${open.join(" ")}`,
  );
}

function secretsComplete(file: SecretsFile, cluster: Cluster): CheckResult {
  const requirements = requiredSecrets(cluster);
  const report = checkRequired(file, requirements);
  const problems = [
    ...report.missing.map((r) => `${r.name} missing`),
    ...report.placeholders.map((r) => `${r.name} still REPLACE_ME`),
    ...report.notText.map((r) => `${r.name} not text`),
  ];
  if (problems.length === 0) return ok("secrets-complete", `all ${requirements.length} required secrets set`);
  const name = [...report.placeholders, ...report.missing, ...report.notText][0]!.name;
  return fail(
    "secrets-complete",
    problems.join(", "),
    report.missing.length > 0
      ? "nixlab secrets init adds the missing ones"
      : `nixlab secrets set ${name} (and each other one listed)`,
  );
}

/**
 * Values in their format (the checks `nixlab secrets check` runs: crypt hash, WireGuard
 * keys and the server pair, tokens, endpoint) and nothing stored in clear.
 */
function wellFormed(file: SecretsFile, cluster: Cluster): CheckResult {
  const unencrypted = [file.path, join(dirname(file.path), agentSecretsFile)].flatMap(
    (path) =>
      secretsFileProblems(path, [])?.unencrypted.map((part) => `${relative(dirname(file.path), path)}: ${part}`) ?? [],
  );
  if (unencrypted.length > 0) {
    return fail(
      "secrets-well-formed",
      `not fully SOPS-encrypted: ${unencrypted.join("; ")}`,
      "restore the file from version control, set those values again with nixlab secrets set, and change any secret that was in clear",
    );
  }
  const { invalid } = checkRequired(file, requiredSecrets(cluster));
  if (invalid.length === 0) return ok("secrets-well-formed", "every value in its format, nothing in clear");
  return fail(
    "secrets-well-formed",
    invalid.map(({ req, problem }) => `${req.name} ${problem}`).join("; "),
    `nixlab secrets set ${invalid[0]!.req.name}`,
  );
}

const sameGroups = (a: string[][], b: string[][]): boolean =>
  a.length === b.length && a.every((g, i) => [...g].sort().join(",") === [...b[i]!].sort().join(","));

function sopsRules(file: SecretsFile): CheckResult {
  const configPath = findConfigFile(dirname(file.path));
  if (!configPath)
    return fail(
      "sops-rules",
      `no .sops.yaml at or above ${dirname(file.path)}`,
      "nixlab secrets init writes one for your key",
    );
  let rule: ReturnType<typeof creationRuleFor>;
  try {
    rule = creationRuleFor(configPath, file.path);
  } catch (error) {
    return fromError("sops-rules", error, `fix ${configPath}`);
  }
  if (!rule)
    return fail(
      "sops-rules",
      `no creation rule in ${configPath} matches ${file.path}`,
      "nixlab secrets init adds one for your key",
    );
  if (sameGroups(rule.keyGroups, file.keyGroups()))
    return ok("sops-rules", `${file.path.split("/").at(-1)} is encrypted to the recipients ${configPath} lists`);
  const listed = new Set(rule.keyGroups.flat());
  const actual = new Set(file.keyGroups().flat());
  const extra = [...actual].filter((r) => !listed.has(r));
  const absent = [...listed].filter((r) => !actual.has(r));
  return fail(
    "sops-rules",
    `${file.path.split("/").at(-1)}'s recipients differ from ${configPath}${absent.length ? `; not yet encrypted to ${absent.join(", ")}` : ""}${extra.length ? `; still encrypted to ${extra.join(", ")}` : ""}`,
    "nixlab secrets updatekeys (re-encrypts for the rule's recipients)",
  );
}

async function agentSecrets(
  cluster: Cluster,
  dir: string,
  master: SecretsFile,
  identities: readonly AgeIdentity[],
): Promise<CheckResult> {
  if (cluster.agents.length === 0) return ok("agent-secrets", "no agents");
  const path = join(dir, agentSecretsFile);
  if (!existsSync(path))
    return fail(
      "agent-secrets",
      `${agentSecretsFile} is missing; the agents cannot join`,
      "nixlab build writes it from secrets.yaml (with your age key)",
    );
  let agents: SecretsFile;
  try {
    agents = await openSecrets(path, identities);
  } catch (error) {
    return fromError("agent-secrets", error, "ask someone whose key opens it to run nixlab build");
  }
  const stale = agentSecretNames.filter((name) => agents.get(name) !== master.get(name));
  if (stale.length === 0) return ok("agent-secrets", `${agentSecretsFile} matches secrets.yaml`);
  return fail(
    "agent-secrets",
    `${agentSecretsFile} has other values than secrets.yaml for ${stale.join(", ")}`,
    "nixlab build (it copies them over)",
  );
}

function buildFresh(cluster: Cluster, buildDir: string): CheckResult {
  const planPath = join(buildDir, "deploy-plan.json");
  if (!existsSync(planPath)) return fail("build-fresh", `no ${planPath}`, "nixlab build");
  let built: string | undefined;
  try {
    built = (JSON.parse(readFileSync(planPath, "utf8")) as { hash?: string }).hash;
  } catch {
    return fail("build-fresh", `${planPath} is not JSON`, "nixlab build");
  }
  const current = renderCluster(cluster).plan.hash;
  if (built === current)
    return ok("build-fresh", `${planPath} matches the cluster file (plan ${current.slice(0, 12)})`);
  return fail(
    "build-fresh",
    `${planPath} is older than the cluster file (plan ${String(built).slice(0, 12)}, now ${current.slice(0, 12)})`,
    "nixlab build",
  );
}

async function clusterChecks(inputs: DoctorInputs): Promise<CheckResult[]> {
  let connection: ClusterConnection;
  try {
    connection = await inputs.connect();
  } catch (error) {
    return [
      fromError(
        "kubeconfig",
        error,
        "copy /etc/rancher/k3s/k3s.yaml from the master to ~/.kube/config (its server set to https://<master>:6443), or pass --kubeconfig",
      ),
      skip("api-reachable", "needs a kubeconfig"),
      skip("helm-controller", "needs a kubeconfig"),
    ];
  }
  try {
    const out = [ok("kubeconfig", connection.describe)];
    try {
      out.push(ok("api-reachable", `Kubernetes ${await connection.version()}`));
    } catch (error) {
      return [
        ...out,
        fail(
          "api-reachable",
          `${connection.describe} does not answer: ${(error as Error).message}`,
          "is the master up and k3s running? (systemctl status k3s on the master)",
        ),
        skip("helm-controller", "needs the API"),
      ];
    }
    out.push(
      (await connection.serves("helm.cattle.io/v1", "HelmChart"))
        ? ok("helm-controller", "k3s serves helm.cattle.io/v1 HelmChart")
        : fail(
            "helm-controller",
            "the API does not serve helm.cattle.io/v1 HelmChart, so no chart would install",
            "use k3s with its built-in helm controller (nixlab's nodes run it; not --disable-helm-controller)",
          ),
    );
    return out;
  } finally {
    connection.close();
  }
}

function nodeTools(inputs: DoctorInputs): CheckResult {
  const missing = nodeApplyTools.filter((t) => inputs.which(t) === null);
  if (missing.length === 0) return ok("node-tools", nodeApplyTools.join(", "));
  return fail(
    "node-tools",
    `not on PATH: ${missing.join(", ")}`,
    "install Nix with flakes, then `nix profile install nixpkgs#nixos-rebuild`, and an SSH client",
  );
}
