/** `nixlab doctor`: one line per check with its fix; exit 1 when any fails. */
import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import pc from "picocolors";
import { ExitCode } from "../errors.ts";
import { type CheckResult, type ClusterConnection, checkTitles, runDoctor } from "../doctor/checks.ts";
import { addOutputOption, type OutputOptions, outputFormat, printStructured } from "./output.ts";

interface DoctorOptions extends OutputOptions {
  config?: string;
  secrets?: string;
  ageKeyFile?: string;
  kubeconfig?: string;
  context?: string;
  build: string;
}

const which = (tool: string): string | null => {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** The cluster through the deploy engine's kubeconfig loading (kubectl's rules) and client. */
async function connect(options: DoctorOptions): Promise<ClusterConnection> {
  const { loadKubeconfig } = await import("../deploy/kubeconfig.ts");
  const { HttpKube } = await import("../deploy/http-kube.ts");
  const connection = loadKubeconfig({
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.context ? { context: options.context } : {}),
  });
  const kube = new HttpKube(connection, { requestTimeoutMs: 5000 });
  return {
    describe: `context ${connection.context} → ${connection.server} (${connection.files.join(", ")})`,
    version: async () => (await kube.version({ timeoutMs: 5000 })).gitVersion ?? "(no version)",
    serves: async (apiVersion, kind) => (await kube.resource(apiVersion, kind)) !== null,
    close: () => kube.close(),
  };
}

function line(result: CheckResult, width: number): string {
  const mark = result.status === "ok" ? pc.green("ok  ") : result.status === "fail" ? pc.red("FAIL") : pc.dim("skip");
  const text = `${mark} ${checkTitles[result.id].padEnd(width)}  ${result.detail}`;
  return result.fix ? `${text}\n     ${" ".repeat(width)}  ${pc.cyan("fix:")} ${result.fix}` : text;
}

export function registerDoctor(program: Command): void {
  addOutputOption(
    program
      .command("doctor")
      .description("Check everything a deploy needs, one line per check with its fix (exit 1 when any fails)")
      .option(
        "-c, --config <file>",
        "cluster file (default: nixlab.config.ts, nixlab.yaml, … in the working directory)",
      )
      .option("--secrets <file>", "the SOPS secrets file (default: secrets.yaml next to the cluster file)")
      .option(
        "--age-key-file <file>",
        "age key file (default: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt)",
      )
      .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
      .option("--context <name>", "kubeconfig context (default: its current context)")
      .option("--build <dir>", "the build directory `nixlab build` wrote", "build"),
  ).action(async (options: DoctorOptions) => {
    const results = await runDoctor({
      ...(options.config ? { config: options.config } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(options.ageKeyFile ? { ageKeyFile: options.ageKeyFile } : {}),
      cwd: process.cwd(),
      buildDir: options.build,
      env: process.env,
      which,
      connect: () => connect(options),
    });
    const failed = results.filter((r) => r.status === "fail");
    process.exitCode = failed.length > 0 ? ExitCode.failure : ExitCode.ok;
    const format = outputFormat(options);
    if (format !== "table") return printStructured({ ok: failed.length === 0, checks: results }, format);
    const width = Math.max(...results.map((r) => checkTitles[r.id].length));
    for (const result of results) process.stdout.write(`${line(result, width)}\n`);
    process.stdout.write(
      failed.length === 0
        ? `${pc.green("ready")}: nixlab deploy\n`
        : `${failed.length} of ${results.length} checks failed; fix them top to bottom and run nixlab doctor again\n`,
    );
  });
}
