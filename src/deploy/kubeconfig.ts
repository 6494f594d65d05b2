/**
 * Kubeconfig loading with kubectl's rules: `--kubeconfig FILE` alone when given (it must
 * exist); otherwise every file in $KUBECONFIG (":"-separated, missing files skipped),
 * otherwise ~/.kube/config. Files merge by name, the first file to define a cluster,
 * user, context or current-context wins; relative paths are relative to the file that
 * names them. Read here (not by @kubernetes/client-node, which is slow to load and
 * merges differently); client-node is only used for exec and auth-provider plugins.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import { ExitCode, UserError } from "../errors.ts";
import { isRecord } from "../guards.ts";

type Entry = Record<string, unknown>;

/** The merged kubeconfig, in kubeconfig's own shape (paths made absolute). */
export interface MergedKubeconfig {
  clusters: Array<{ name: string; cluster: Entry }>;
  users: Array<{ name: string; user: Entry }>;
  contexts: Array<{ name: string; context: Entry }>;
  currentContext?: string;
}

/** The connection a context selects. */
export interface KubeConnection {
  /** Files read, in order (for messages). */
  files: string[];
  context: string;
  server: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  /** Static credentials; `plugin` users (exec, auth-provider) get theirs from client-node per request. */
  auth: { token?: string; tokenFile?: string; basic?: string; plugin: boolean };
  /** The merged config with the selected context current, for client-node (exec, plugins). */
  merged: MergedKubeconfig;
}

/** --kubeconfig, --context and the environment (KUBECONFIG, HOME). */
export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
}

const invalid = (message: string, details: string[] = []) =>
  new UserError(message, { exitCode: ExitCode.invalidInput, details });

/** The kubeconfig files to read, in precedence order. Throws UserError when none exists. */
function kubeconfigFiles(options: KubeconfigOptions): string[] {
  const env = options.env ?? process.env;
  if (options.kubeconfig) {
    const file = resolve(options.kubeconfig);
    if (!existsSync(file)) throw invalid(`the kubeconfig ${options.kubeconfig} (--kubeconfig) does not exist`);
    return [file];
  }
  if (env.KUBECONFIG) {
    const listed = [
      ...new Set(
        env.KUBECONFIG.split(delimiter)
          .filter(Boolean)
          .map((f) => resolve(f)),
      ),
    ];
    const files = listed.filter((f) => existsSync(f));
    if (files.length === 0) {
      throw invalid(`none of the files in KUBECONFIG exists: ${listed.join(", ")}`, [
        "Set KUBECONFIG to your kubeconfig, or pass --kubeconfig FILE (on a k3s master: /etc/rancher/k3s/k3s.yaml).",
      ]);
    }
    return files;
  }
  const file = join(env.HOME || homedir(), ".kube", "config");
  if (!existsSync(file)) {
    throw invalid(`no kubeconfig: ${file} does not exist and KUBECONFIG is not set`, [
      "Pass --kubeconfig FILE or set KUBECONFIG (on a k3s master: /etc/rancher/k3s/k3s.yaml).",
    ]);
  }
  return [file];
}

const pathFields = ["certificate-authority", "client-certificate", "client-key", "tokenFile"];

function readOne(file: string): Entry {
  let value: unknown;
  try {
    value = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw invalid(`the kubeconfig ${file} is unreadable: ${(error as Error).message.split("\n")[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) throw invalid(`the kubeconfig ${file} is not a mapping`);
  return value;
}

function named(file: string, value: unknown, field: string, inner: string): Array<{ name: string; body: Entry }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`the kubeconfig ${file}: ${field} must be a list`);
  return value.map((item, i) => {
    if (!isRecord(item) || typeof item.name !== "string")
      throw invalid(`the kubeconfig ${file}: ${field}[${i}] has no name`);
    const body = isRecord(item[inner]) ? { ...(item[inner] as Entry) } : {};
    for (const k of pathFields) {
      const v = body[k];
      if (typeof v === "string" && v && !isAbsolute(v)) body[k] = resolve(dirname(file), v);
    }
    return { name: item.name, body };
  });
}

/** Merges files with kubectl's rule: the first file to define a name (or current-context) wins. */
function mergeKubeconfigs(files: readonly string[]): MergedKubeconfig {
  const merged: MergedKubeconfig = { clusters: [], users: [], contexts: [] };
  const seen = { clusters: new Set<string>(), users: new Set<string>(), contexts: new Set<string>() };
  for (const file of files) {
    const doc = readOne(file);
    for (const { name, body } of named(file, doc.clusters, "clusters", "cluster"))
      if (!seen.clusters.has(name) && seen.clusters.add(name)) merged.clusters.push({ name, cluster: body });
    for (const { name, body } of named(file, doc.users, "users", "user"))
      if (!seen.users.has(name) && seen.users.add(name)) merged.users.push({ name, user: body });
    for (const { name, body } of named(file, doc.contexts, "contexts", "context"))
      if (!seen.contexts.has(name) && seen.contexts.add(name)) merged.contexts.push({ name, context: body });
    const current = doc["current-context"];
    if (merged.currentContext === undefined && typeof current === "string" && current) merged.currentContext = current;
  }
  return merged;
}

function bytes(file: string | undefined, data: unknown, what: string): Buffer | undefined {
  if (typeof data === "string" && data) return Buffer.from(data, "base64");
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw invalid(`cannot read the ${what} ${file} named in the kubeconfig (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** Loads, merges and selects a context. Throws UserError (exit 2) naming what is wrong and the choices. */
export function loadKubeconfig(options: KubeconfigOptions = {}): KubeConnection {
  const files = kubeconfigFiles(options);
  const merged = mergeKubeconfigs(files);
  const where = files.length === 1 ? files[0]! : `the merged kubeconfig (${files.join(", ")})`;
  const known = merged.contexts.map((c) => c.name);
  const contextName = options.context ?? merged.currentContext;
  if (!contextName) {
    throw invalid(`${where} has no current context`, [
      known.length > 0 ? `Pass --context NAME; contexts: ${known.join(", ")}.` : "It defines no contexts at all.",
    ]);
  }
  const context = merged.contexts.find((c) => c.name === contextName);
  if (!context) {
    throw invalid(`context "${contextName}" is not in ${where}`, [
      known.length > 0 ? `Known contexts: ${known.join(", ")}.` : "It defines no contexts at all.",
    ]);
  }
  const clusterName = context.context.cluster;
  const cluster = merged.clusters.find((c) => c.name === clusterName)?.cluster;
  if (!cluster || typeof cluster.server !== "string" || !cluster.server) {
    throw invalid(
      `context "${contextName}" names cluster "${String(clusterName)}", which ${where} does not define (with a server)`,
    );
  }
  const userName = context.context.user;
  const user = merged.users.find((u) => u.name === userName)?.user ?? {};
  if (userName !== undefined && !merged.users.some((u) => u.name === userName)) {
    throw invalid(`context "${contextName}" names user "${String(userName)}", which ${where} does not define`);
  }
  const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const tls: KubeConnection["tls"] = {};
  const ca = bytes(
    str(cluster["certificate-authority"]),
    cluster["certificate-authority-data"],
    "certificate authority",
  );
  if (ca) tls.ca = ca;
  const cert = bytes(str(user["client-certificate"]), user["client-certificate-data"], "client certificate");
  if (cert) tls.cert = cert;
  const key = bytes(str(user["client-key"]), user["client-key-data"], "client key");
  if (key) tls.key = key;
  if (cluster["insecure-skip-tls-verify"] === true) tls.rejectUnauthorized = false;
  const servername = str(cluster["tls-server-name"]);
  if (servername) tls.servername = servername;
  const auth: KubeConnection["auth"] = { plugin: isRecord(user.exec) || isRecord(user["auth-provider"]) };
  const token = str(user.token);
  if (token) auth.token = token;
  const tokenFile = str(user.tokenFile);
  if (tokenFile) auth.tokenFile = tokenFile;
  if (str(user.username)) auth.basic = Buffer.from(`${user.username}:${str(user.password) ?? ""}`).toString("base64");
  return {
    files,
    context: contextName,
    server: (cluster.server as string).replace(/\/+$/, ""),
    tls,
    auth,
    merged: { ...merged, currentContext: contextName },
  };
}

/** Where Kubernetes mounts a pod's ServiceAccount credentials. */
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * A pod's own connection, as client-go's in-cluster config makes it: the API at
 * KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, the ServiceAccount's CA, and its token
 * file (read again for every request: the kubelet rotates it). Throws UserError outside a pod.
 */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = serviceAccountDir): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    throw invalid("not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset");
  const ca = bytes(join(dir, "ca.crt"), undefined, "ServiceAccount CA");
  return {
    files: [],
    context: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tls: ca ? { ca } : {},
    auth: { tokenFile: join(dir, "token"), plugin: false },
    merged: { clusters: [], users: [], contexts: [] },
  };
}
