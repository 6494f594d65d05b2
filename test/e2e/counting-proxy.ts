/**
 * An HTTP proxy between a client and the testbed's apiserver that counts requests by
 * method, so tests see exactly what the engine sent (writes = anything but GET, except
 * server-side dry runs, which change nothing and are counted apart). The
 * client talks plain HTTP to 127.0.0.1; the proxy authenticates upstream with the
 * testbed's admin certificate. Watches stream through.
 */
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { parse } from "yaml";

export interface CountingProxy {
  kubeconfig: string;
  counts: { reads: number; writes: number; dryRuns: number; byMethod: Record<string, number>; writePaths: string[] };
  reset(): void;
  close(): Promise<void>;
}

interface Kubeconfig {
  clusters: Array<{ cluster: { server: string; "certificate-authority": string } }>;
  users: Array<{ user: { "client-certificate": string; "client-key": string } }>;
}

export async function startCountingProxy(upstreamKubeconfig: string, outPath: string): Promise<CountingProxy> {
  const kc = parse(readFileSync(upstreamKubeconfig, "utf8")) as Kubeconfig;
  const upstream = new URL(kc.clusters[0]!.cluster.server);
  const agent = new https.Agent({
    keepAlive: true,
    ca: readFileSync(kc.clusters[0]!.cluster["certificate-authority"]),
    cert: readFileSync(kc.users[0]!.user["client-certificate"]),
    key: readFileSync(kc.users[0]!.user["client-key"]),
  });
  const counts = {
    reads: 0,
    writes: 0,
    dryRuns: 0,
    byMethod: {} as Record<string, number>,
    writePaths: [] as string[],
  };
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    if (method === "GET") counts.reads++;
    else if (/[?&]dryRun=All/.test(req.url ?? "")) counts.dryRuns++;
    else {
      counts.writes++;
      counts.writePaths.push(`${method} ${req.url}`);
    }
    const up = https.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method, headers: req.headers, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    outPath,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}\n` +
      `users:\n- name: anyone\n  user: {}\ncontexts:\n- name: proxy\n  context: {cluster: proxy, user: anyone}\ncurrent-context: proxy\n`,
  );
  return {
    kubeconfig: outPath,
    counts,
    reset() {
      counts.reads = 0;
      counts.writes = 0;
      counts.dryRuns = 0;
      counts.byMethod = {};
      counts.writePaths.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}
