/** What deploy, diff and status share: connection, plan, state and secrets options, and --json errors. */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { DeploySink } from "../deploy/events.ts";
import { HttpKube } from "../deploy/http-kube.ts";
import { loadKubeconfig } from "../deploy/kubeconfig.ts";
import { DirSecretSource, type SecretSource, sopsSource } from "../deploy/secrets.ts";
import { secs } from "../deploy/summary.ts";
import { ExitCode, UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { type LoadedPlan, loadPlan } from "../plan/load.ts";
import { checkPlanSource } from "../plan/source.ts";
import { secretsFilePath } from "../secrets/locate.ts";
import { jsonOption, type OutputOptions, outputOption, printResult, structured } from "./output.ts";

/** The options addKubeOptions adds. */
export interface KubeOptions extends OutputOptions {
  kubeconfig?: string;
  context?: string;
  plan: string;
  state: string;
  config?: string;
  apiTimeout: string;
}

/** The options addSecretOptions adds. */
export interface SecretOptions {
  secrets?: string;
  secretsDir?: string;
  ageKeyFile?: string;
}

/**
 * Adds the options that say which cluster, plan, cluster file and state dir a command
 * works on, and how long it waits for the API (`apiTimeout`: its default and meaning).
 */
export function addConnectionOptions(
  command: Command,
  apiTimeout = { seconds: "10", help: "how long the Kubernetes API may be unreachable before giving up" },
): Command {
  return command
    .option("--kubeconfig <file>", "kubeconfig to use (default: the files in $KUBECONFIG, merged, or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current context)")
    .option("--plan <file>", "deploy plan written by `nixlab build`", "build/deploy-plan.json")
    .option(
      "-c, --config <file>",
      "cluster file the plan must have been built from (default: the one in the working directory, else next to the build directory)",
    )
    .option("--state <dir>", "state dir: last results and the lock (/var/lib/nixlab on the master)", ".nixlab/state")
    .option("--api-timeout <seconds>", apiTimeout.help, apiTimeout.seconds);
}

/** Adds the options every cluster command has: addConnectionOptions and the output format (-o, --json). */
export function addKubeOptions(command: Command): Command {
  return addConnectionOptions(command).addOption(outputOption()).addOption(jsonOption());
}

/** Adds the options that say where secret values come from. */
export function addSecretOptions(command: Command, purpose: string): Command {
  return command
    .option(
      "--secrets <file>",
      `SOPS file with the secret values ${purpose} (default: secrets.yaml next to the cluster file)`,
    )
    .option("--secrets-dir <dir>", "directory of decrypted secrets, one file per name (sops-nix: /run/secrets)")
    .option(
      "--age-key-file <file>",
      "age identity for the SOPS file (default: SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt)",
    );
}

/** A whole number of seconds in milliseconds; UserError (exit 2) naming the flag otherwise. */
export function secondsOption(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new UserError(`${flag} must be a number of seconds, got ${value}`, { exitCode: ExitCode.invalidInput });
  }
  return Math.round(n * 1000);
}

/**
 * The plan, refused when the cluster file it was built from has changed since (see
 * plan/source.ts); the state dir remembers the last file content verified.
 */
export async function planFromOptions(
  options: KubeOptions,
): Promise<{ loaded: LoadedPlan; clusterFile: string | null }> {
  const loaded = await loadPlan(options.plan);
  const file = join(options.state, "source-check");
  const cache = {
    read: () => (existsSync(file) ? readFileSync(file, "utf8").trim() : null),
    write: (key: string) => {
      mkdirSync(options.state, { recursive: true, mode: 0o700 });
      writeFileAtomic(file, `${key}\n`, 0o600);
    },
  };
  const { clusterFile } = await checkPlanSource(loaded.plan, options.plan, options.config, { cache });
  return { loaded, clusterFile };
}

/** A client for the kubeconfig context the options select (kubectl's loading rules). */
export function kubeFromOptions(options: KubeOptions): HttpKube {
  return new HttpKube(
    loadKubeconfig({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context ? { context: options.context } : {}),
    }),
  );
}

/**
 * Where secret values come from: --secrets FILE, --secrets-dir DIR, else secrets.yaml
 * next to the cluster file (as the `secrets` commands find it) when it exists; else none.
 */
export function secretsFromOptions(options: SecretOptions, clusterFile: string | null): SecretSource | undefined {
  if (options.secrets && options.secretsDir) {
    throw new UserError("pass either --secrets or --secrets-dir, not both", { exitCode: ExitCode.invalidInput });
  }
  if (options.secretsDir) return new DirSecretSource(options.secretsDir);
  const age = options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {};
  if (options.secrets) {
    if (!existsSync(options.secrets)) {
      throw new UserError(`the secrets file ${options.secrets} (--secrets) does not exist`, {
        exitCode: ExitCode.invalidInput,
      });
    }
    return sopsSource(options.secrets, age);
  }
  const found = secretsFilePath(clusterFile ? { config: clusterFile } : {});
  return existsSync(found) ? sopsSource(found, age) : undefined;
}

/**
 * Runs a command's body; with --json a UserError is also printed as JSON on stdout
 * ({command, result: "error", exitCode, error}) before it is reported on stderr.
 */
export async function withJsonErrors(command: string, output: OutputOptions, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (structured(output) && error instanceof UserError) {
      printResult(
        {
          command,
          result: "error",
          exitCode: error.exitCode,
          error: { message: error.message, details: error.details },
        },
        output,
      );
    }
    throw error;
  }
}

/** For diff and status: each retry of an unreachable API is said on stderr, with its reason. */
export const reportRetries: DeploySink = (event) => {
  if (event.type === "retry") process.stderr.write(`${event.reason}; retrying in ${secs(event.delayMs)}\n`);
};
