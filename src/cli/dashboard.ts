import { spawn } from "node:child_process";
import type { Command } from "commander";
import pc from "picocolors";
import type { KubeClient } from "../deploy/client.ts";
import { ExitCode, UserError } from "../errors.ts";
import {
  addConnectionOptions,
  type KubeOptions,
  kubeFromOptions,
  planFromOptions,
  secondsOption,
} from "./kube-options.ts";

interface DashboardOptions extends Omit<KubeOptions, "json"> {
  port: string;
  host: string;
  open?: boolean;
}

export function registerDashboard(program: Command): void {
  addConnectionOptions(
    program
      .command("dashboard")
      .description(
        "Serve a read-only web page of the cluster: the deploy DAG live, groups, drift, certificates, nodes, VPN users",
      )
      .option("--port <port>", "port to listen on (0: any free port)", "8080")
      .option(
        "--host <address>",
        "address to listen on (the page has no sign-in: keep it on this machine)",
        "127.0.0.1",
      )
      .option("--open", "open the page in the default browser"),
    { seconds: "3", help: "how long one refresh waits for the Kubernetes API before the page says it is unreachable" },
  ).action((options: DashboardOptions) => run(options));
}

function portOption(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UserError(`--port must be a port number (0–65535), got ${value}`, { exitCode: ExitCode.invalidInput });
  }
  return port;
}

/** The client, or why there is none (the page says so instead of failing). */
function kubeOrReason(options: DashboardOptions): KubeClient | { error: string } {
  try {
    return kubeFromOptions({ ...options, json: false });
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { error: [error.message, ...error.details].join(" ") };
  }
}

/** Opens `url` with the desktop's opener (argv, no shell); a failure is only a note. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["explorer.exe", [url]]
        : ["xdg-open", [url]];
  const child = spawn(cmd, args, { stdio: "ignore", detached: true });
  child.on("error", () => process.stderr.write(`${pc.yellow("note:")} could not open a browser; open ${url}\n`));
  child.unref();
}

async function run(options: DashboardOptions): Promise<void> {
  const port = portOption(options.port);
  const apiTimeoutMs = secondsOption(options.apiTimeout, "--api-timeout");
  const { clusterFile } = await planFromOptions({ ...options, json: false });
  // The page's code is loaded only for this command.
  const [{ bundleAssets }, { localBackend }, { loopbackAddresses, loopbackHosts, serveDashboard, throttled }] =
    await Promise.all([
      import("../dashboard/assets.ts"),
      import("../dashboard/data.ts"),
      import("../dashboard/server.ts"),
    ]);
  const kube = kubeOrReason(options);
  const backend = localBackend({ planPath: options.plan, stateDir: options.state, clusterFile, kube, apiTimeoutMs });
  backend.snapshot = throttled(backend.snapshot.bind(backend), 2000);
  let server: Awaited<ReturnType<typeof serveDashboard>>;
  try {
    server = await serveDashboard({
      host: options.host,
      port,
      assets: await bundleAssets(),
      backend,
      allowedHosts: loopbackAddresses.includes(options.host) ? loopbackHosts : null,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new UserError(`port ${port} on ${options.host} is in use`, {
        details: ["  pass --port N (or --port 0 for any free port)"],
      });
    }
    if (code === "EADDRNOTAVAIL" || code === "EACCES" || code === "ENOTFOUND") {
      throw new UserError(`cannot listen on ${options.host}:${port} (${code})`, { exitCode: ExitCode.invalidInput });
    }
    throw error;
  }
  process.stdout.write(`${pc.green("dashboard")} ${server.url} (read-only; Ctrl-C stops it)\n`);
  if (!loopbackAddresses.includes(options.host)) {
    process.stderr.write(
      `${pc.yellow("warning:")} the page has no sign-in: anyone who reaches ${options.host}:${server.port} sees the cluster\n`,
    );
  }
  if (options.open) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  if (!("error" in kube)) kube.close();
}
