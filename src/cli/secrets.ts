// `nixlab secrets …`: thin wrappers over src/secrets. Values only ever go to stdout
// for `get`; progress and errors name keys, never values.
import { existsSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { type Command, Option } from "commander";
import { ExitCode, UserError } from "../errors.ts";
import { secretsFilePath } from "../secrets/locate.ts";
import { requiredSecrets } from "../services/required-secrets.ts";
import type { SecretsFile } from "../secrets/index.ts";

/** The secrets library, loaded on first use so other commands do not pay for age and YAML crypto at start-up. */
const lib = () => import("../secrets/index.ts");

/** The cluster file's parser and validator load only for init and check (get, set, list never read it). */
const loadCluster: typeof import("../config/load.ts").loadCluster = async (options) =>
  (await import("../config/load.ts")).loadCluster(options);

/** The options every command on the secrets file takes. */
export interface SecretsOptions {
  secrets?: string;
  /** The old name of --secrets, kept for scripts. */
  file?: string;
  ageKeyFile?: string;
  config?: string;
}

/** Adds --secrets, --age-key-file and --config (the secrets file, the age key, the cluster file). */
export function withCommon(command: Command): Command {
  return (
    command
      .option("--secrets <file>", "the SOPS secrets file (default: secrets.yaml next to the cluster file)")
      // The old names of --secrets, kept for scripts (-f means nothing else anywhere).
      .addOption(new Option("-f, --file <path>").hideHelp())
      .option(
        "--age-key-file <path>",
        "age key file (default: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt)",
      )
      .option("-c, --config <file>", "cluster file (default: the one in the working directory)")
  );
}

/** The secrets file given with --secrets (or its old name --file), resolved; undefined when none was. */
export const givenPath = (options: SecretsOptions): string | undefined => {
  const given = options.secrets ?? options.file;
  return given ? resolve(given) : undefined;
};

async function open(options: SecretsOptions): Promise<SecretsFile> {
  const { discoverIdentities, openSecrets, removeStaleEditDirs } = await lib();
  for (const note of removeStaleEditDirs()) info(note);
  const given = givenPath(options);
  const path = secretsFilePath({
    ...(given ? { file: given } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
  });
  const identities = await discoverIdentities(options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {});
  return openSecrets(path, identities);
}

function keyPath(file: SecretsFile, key: string): string[] {
  // An exact top-level name wins; otherwise dots separate nested keys.
  if (file.has(key) || !key.includes(".")) return [key];
  return key.split(".");
}

/** The value for `set`: asked with hidden input on a terminal (like `gh secret set`), else read from stdin. */
async function readValue(key: string): Promise<string> {
  if (process.stdin.isTTY) {
    const { askSecret } = await import("./prompt.ts");
    const value = await askSecret(`Value of ${key} (hidden; pipe it in for multi-line values)`, "secrets set");
    if (value === "") throw new UserError(`no value given; ${key} is unchanged`);
    return value;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = (await lib()).utf8Exact(Buffer.concat(chunks));
  if (text === null)
    throw new UserError(
      "the value on stdin is not UTF-8 text, and nixlab stores values exactly, so nothing was set; encode binary data first, e.g. `base64 < FILE | nixlab secrets set KEY`",
      { exitCode: ExitCode.invalidInput },
    );
  return text;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const info = (line: string) => process.stderr.write(`${line}\n`);

export function registerSecrets(program: Command): void {
  const secrets = program
    .command("secrets")
    .description("Read and write the SOPS secrets file (age; compatible with sops)");

  withCommon(secrets.command("init"))
    .description("Create the age key (if none), .sops.yaml and the secrets file with every secret the cluster needs")
    .action(async (options: SecretsOptions) => {
      const { newKeyLocation } = await lib();
      const { setUpSecrets } = await import("../secrets/setup.ts");
      const cluster = await loadCluster(options.config === undefined ? {} : { config: options.config });
      const path = givenPath(options) ?? join(dirname(cluster.source), "secrets.yaml");
      const result = await setUpSecrets({
        secretsPath: path,
        requirements: requiredSecrets(cluster),
        // An --age-key-file that does not exist yet is where the new key goes.
        ...(options.ageKeyFile && existsSync(options.ageKeyFile) ? { ageKeyFile: options.ageKeyFile } : {}),
        newKeyPath: newKeyLocation(options.ageKeyFile),
      });
      if (result.createdKey) {
        info(
          `created age key ${result.createdKey.path} (public key ${result.createdKey.recipient}); back it up: it is the only way to decrypt your secrets`,
        );
      }
      if (result.configWritten) info(`wrote a creation rule for ${path} to ${result.configWritten}`);
      if (result.saved) info(`${path}: added ${result.added.length} secret(s): ${result.added.join(", ") || "none"}`);
      else info(`${path}: every required secret is already present`);
      for (const req of result.placeholders) {
        info(
          `  fill in ${req.name}: ${req.source.kind === "user" ? req.source.hint : req.usedBy} (nixlab secrets set ${req.name})`,
        );
      }
    });

  withCommon(secrets.command("edit"))
    .description("Edit the decrypted file in $EDITOR (temp file in memory-backed storage, removed afterwards)")
    .action(async (options: SecretsOptions) => {
      const { editSecrets } = await lib();
      const file = await open(options);
      const result = await editSecrets(file);
      if (result === "changed") info(`${file.path}: saved`);
    });

  withCommon(secrets.command("get"))
    .argument("<key>", "secret name (nested: a.b)")
    .description("Print one decrypted value to stdout")
    .action(async (key: string, options: SecretsOptions) => {
      const file = await open(options);
      const value = file.get(keyPath(file, key));
      if (value === undefined)
        throw new UserError(`${file.path} has no secret ${key}; list the names with \`nixlab secrets list\``);
      const text =
        typeof value === "string"
          ? value
          : JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      // No newline is added for pipes, so `$(nixlab secrets get k)` and files get the exact value.
      process.stdout.write(process.stdout.isTTY && !text.endsWith("\n") ? `${text}\n` : text);
    });

  withCommon(secrets.command("set"))
    .argument("<key>", "secret name (nested: a.b)")
    .option("--keep-newline", "keep a single-line value's trailing newline")
    .description(
      "Set one value: asked with hidden input on a terminal, else read from stdin (never from the command line)",
    )
    .action(async (key: string, options: SecretsOptions & { keepNewline?: boolean }) => {
      const file = await open(options);
      let value = await readValue(key);
      const body = value.replace(/\r?\n$/, "");
      if (!options.keepNewline && !body.includes("\n")) value = body;
      const path = keyPath(file, key);
      if (file.get(path) === value) {
        info(`${key} is unchanged`);
        return;
      }
      file.set(path, value);
      await file.save();
      info(`${file.path}: set ${key}`);
    });

  withCommon(secrets.command("list"))
    .description("Print the secret names (never values)")
    .action(async (options: SecretsOptions) => {
      // Names are stored in clear, but opening also verifies the file and the key.
      const file = await open(options);
      for (const name of file.keys()) out(name);
    });

  withCommon(secrets.command("check"))
    .description("Check that every secret the cluster file needs exists and is filled in")
    .action(async (options: SecretsOptions) => {
      const { checkRequired } = await lib();
      const cluster = await loadCluster(options.config === undefined ? {} : { config: options.config });
      const file = await open({
        ...options,
        secrets: givenPath(options) ?? join(dirname(cluster.source), "secrets.yaml"),
      });
      const report = checkRequired(file, requiredSecrets(cluster));
      const lines = [
        ...report.missing.map((r) => `missing: ${r.name} (${r.usedBy})`),
        ...report.placeholders.map(
          (r) => `placeholder: ${r.name} (${r.source.kind === "user" ? r.source.hint : r.usedBy})`,
        ),
        ...report.notText.map((r) => `not text: ${r.name} (${r.usedBy})`),
        ...report.invalid.map(({ req, problem }) => `invalid: ${req.name} ${problem} (${req.usedBy})`),
      ];
      if (lines.length === 0) {
        out(`ok ${file.path}: all ${requiredSecrets(cluster).length} required secrets are set`);
        return;
      }
      throw new UserError(`${file.path}: ${lines.length} required secret(s) not ready`, {
        details: [
          ...lines.map((l) => `  ${l}`),
          "  fix: `nixlab secrets set NAME` (value on stdin), or `nixlab secrets init` to add missing ones",
        ],
      });
    });

  withCommon(secrets.command("updatekeys"))
    .description("Re-encrypt the data key for the recipients .sops.yaml gives this file (values unchanged)")
    .option("--yes", "change the recipients as shown (without it, a change is only shown)")
    .action(async (options: SecretsOptions & { yes?: boolean }) => {
      const { creationRuleFor, findConfigFile } = await lib();
      const file = await open(options);
      const configPath = findConfigFile(dirname(file.path));
      if (!configPath)
        throw new UserError(`no .sops.yaml found for ${file.path}; create one (nixlab secrets init writes it)`);
      const rule = creationRuleFor(configPath, file.path);
      if (!rule)
        throw new UserError(`no creation rule in ${configPath} matches ${file.path}; add one with its age recipients`);
      const review = await reviewRecipients(file, rule.keyGroups, configPath, options);
      const [shownFile, shownConfig] = [relativePath(file.path), relativePath(configPath)];
      // 0 means every group is needed.
      const [fileThreshold, ruleThreshold] = [
        file.shamirThreshold() || file.keyGroups().length,
        rule.shamirThreshold || rule.keyGroups.length,
      ];
      const thresholdChanges = rule.keyGroups.length > 1 && fileThreshold !== ruleThreshold;
      if (review.lines.length === 0 && !thresholdChanges) {
        info(`${file.path}: recipients already match ${configPath}`);
        return;
      }
      if (!rule.keyGroups.flat().some((r) => review.own.includes(r)))
        review.lines.push(`none of your keys is in ${shownConfig}: afterwards you cannot decrypt ${shownFile}`);
      if (thresholdChanges)
        review.lines.push(
          `key groups needed to decrypt (shamir_threshold): ${fileThreshold} in the file, ${ruleThreshold} in ${shownConfig}`,
        );
      confirmRecipients(options, `${shownFile}: updatekeys changes who can decrypt it`, review.lines);
      file.setRecipients(rule.keyGroups, ruleThreshold);
      await file.save();
      info(`${file.path}: data key re-encrypted for ${rule.keyGroups.flat().join(", ")}`);
    });

  withCommon(secrets.command("rotate"))
    .description("Generate a new data key and re-encrypt every value with it")
    .option("--yes", "rotate even when the file's recipients differ from .sops.yaml (after reviewing them)")
    .action(async (options: SecretsOptions & { yes?: boolean }) => {
      const { creationRuleFor, findConfigFile } = await lib();
      const file = await open(options);
      const configPath = findConfigFile(dirname(file.path));
      const rule = configPath ? creationRuleFor(configPath, file.path) : null;
      const review = await reviewRecipients(file, rule?.keyGroups ?? null, configPath, options);
      const shownFile = relativePath(file.path);
      confirmRecipients(
        options,
        rule && configPath
          ? `${shownFile}: its recipients differ from ${relativePath(configPath)}, and rotate encrypts the new data key to the file's recipients`
          : `${shownFile}: no .sops.yaml rule lists its recipients, and some of them are not your keys`,
        [
          ...review.lines,
          ...(rule && review.lines.length > 0 ? ["`nixlab secrets updatekeys` makes them match .sops.yaml first"] : []),
        ],
      );
      file.rotateDataKey();
      await file.save();
      info(`${file.path}: new data key; ${file.keys().length} top-level value(s) re-encrypted`);
    });
}

/**
 * The file's recipients compared with `reference` (a .sops.yaml rule's key groups; null:
 * only the caller's own keys are expected), as lines for people, plus the caller's keys.
 */
async function reviewRecipients(
  file: SecretsFile,
  reference: string[][] | null,
  configPath: string | null,
  options: SecretsOptions,
): Promise<{ lines: string[]; own: string[] }> {
  const { compareRecipients, describeDifferences, discoverIdentities } = await lib();
  const identities = await discoverIdentities(options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {});
  const own = identities.map((i) => i.recipient);
  const groups = file.keyGroups();
  const differences = compareRecipients(groups, reference ?? groups.map((g) => g.filter((r) => own.includes(r))));
  const labels = { file: basename(file.path), reference: configPath ? relativePath(configPath) : "your keys" };
  return { lines: describeDifferences(differences, labels, own), own };
}

/** Throws UserError listing `lines` unless there are none or the user passed --yes (then they are printed). */
function confirmRecipients(options: { yes?: boolean }, message: string, lines: string[]): void {
  if (lines.length === 0) return;
  if (!options.yes)
    throw new UserError(`${message}; nothing was changed`, {
      details: [...lines.map((l) => `  ${l}`), "  check these keys, then run again with --yes to go ahead"],
    });
  for (const line of lines) info(`  ${line}`);
}

const relativePath = (path: string) => relative(process.cwd(), path) || path;
