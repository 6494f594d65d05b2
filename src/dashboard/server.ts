/**
 * The dashboard's HTTP server (node:http): the page's three files and a read-only JSON
 * API. It never writes anywhere and answers GET and HEAD only. Every answer carries a
 * Content-Security-Policy that lets the page load and fetch from this server alone,
 * and no-store (a device config must not linger in a cache). Who is asking is decided by
 * the backend (`viewer`): locally the person at the workstation, in the cluster the VPN
 * user the sign-in proxy vouches for (see cluster.ts). Admins get /api/snapshot; everyone
 * gets /api/me and their own devices.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Assets } from "./assets.ts";
import type { DevicesView, MeView, Snapshot, Viewer } from "./model.ts";

/** Where the data comes from and who may see it. */
export interface DashboardBackend {
  mode: MeView["mode"];
  /** Who sent the request; null: nobody we know (403). */
  viewer(request: http.IncomingMessage): Viewer | null;
  /** The whole cluster (admins only). */
  snapshot(): Promise<Snapshot>;
  /** The viewer's own devices. */
  devices(viewer: Viewer): Promise<DevicesView>;
  /** One of the viewer's own devices' config, or null when it is not theirs or there is none. */
  deviceConfig(viewer: Viewer, device: string): Promise<string | null>;
  /** The QR code (SVG) of one of the viewer's own devices' config, or null like deviceConfig. */
  deviceQr(viewer: Viewer, device: string): Promise<string | null>;
}

/** How to serve. */
export interface ServeOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  assets: Assets;
  backend: DashboardBackend;
  /** Host headers accepted, given the port (loopbackHosts); null: any (not on a loopback address). */
  allowedHosts: ((port: number) => string[]) | null;
}

/** A running server. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const securityHeaders: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Host addresses that reach only this machine. */
export const loopbackAddresses: readonly string[] = ["127.0.0.1", "localhost", "::1"];

/**
 * The Host headers a server on a loopback address accepts (against DNS rebinding: a web
 * page elsewhere must not reach it through a name that resolves to 127.0.0.1).
 */
export function loopbackHosts(port: number): string[] {
  return ["127.0.0.1", "localhost", "[::1]"].map((n) => `${n}:${port}`);
}

type Answer = { status: number; type: string; body: string | Buffer; headers?: Record<string, string> };

const text = (status: number, body: string): Answer => ({
  status,
  type: "text/plain; charset=utf-8",
  body: `${body}\n`,
});
const json = (value: unknown): Answer => ({ status: 200, type: "application/json", body: JSON.stringify(value) });

/** Answers one request (no I/O of its own: the backend reads, this decides). */
async function route(req: http.IncomingMessage, options: ServeOptions): Promise<Answer> {
  const { assets, backend } = options;
  const path = new URL(req.url ?? "/", "http://dashboard").pathname;
  if (path === "/" || path === "/index.html")
    return { status: 200, type: "text/html; charset=utf-8", body: assets.html };
  if (path === "/app.js") return { status: 200, type: "text/javascript; charset=utf-8", body: assets.js };
  if (path === "/app.css") return { status: 200, type: "text/css; charset=utf-8", body: assets.css };
  if (path === "/favicon.ico") return { status: 204, type: "text/plain", body: "" };
  if (!path.startsWith("/api/")) return text(404, "not found");
  const viewer = backend.viewer(req);
  if (!viewer) return text(403, "who you are is unknown: open the dashboard through the VPN");
  if (path === "/api/me") return json({ mode: backend.mode, viewer } satisfies MeView);
  if (path === "/api/snapshot") {
    return viewer.admin ? json(await backend.snapshot()) : text(403, "only admins see the whole cluster");
  }
  if (path === "/api/me/devices") return json(await backend.devices(viewer));
  const device = /^\/api\/me\/devices\/([a-z0-9-]+)\/(config|qr\.svg)$/.exec(path);
  if (device) {
    const [, name, what] = device as unknown as [string, string, string];
    if (what === "config") {
      const config = await backend.deviceConfig(viewer, name);
      if (config === null) return text(404, "no such device of yours");
      return {
        status: 200,
        type: "text/plain; charset=utf-8",
        body: config,
        headers: { "Content-Disposition": `attachment; filename="${name}.conf"` },
      };
    }
    const svg = await backend.deviceQr(viewer, name);
    return svg === null ? text(404, "no such device of yours") : { status: 200, type: "image/svg+xml", body: svg };
  }
  return text(404, "not found");
}

/** Starts serving; resolves once listening. Throws (EADDRINUSE, EACCES …) when it cannot listen. */
export async function serveDashboard(options: ServeOptions): Promise<RunningServer> {
  let port = options.port;
  const server = http.createServer((req, res) => {
    const send = (a: Answer) => {
      res.writeHead(a.status, { ...securityHeaders, "Content-Type": a.type, ...a.headers });
      res.end(req.method === "HEAD" ? undefined : a.body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send({ ...text(405, "read-only: GET only"), headers: { Allow: "GET, HEAD" } });
      return;
    }
    const hosts = options.allowedHosts?.(port);
    if (hosts && !hosts.includes((req.headers.host ?? "").toLowerCase())) {
      send(text(421, `this server answers to ${hosts[0]} only`));
      return;
    }
    route(req, options).then(send, (error: unknown) => {
      send(text(500, `the dashboard failed: ${error instanceof Error ? error.message : String(error)}`));
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shown = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * `fn`, computed at most once per `ms` after its last result: callers meanwhile (or while
 * it runs) share one result, so many open pages cost the cluster one set of reads.
 * Failures are not kept.
 */
export function throttled<T>(fn: () => Promise<T>, ms: number, nowMs: () => number = Date.now): () => Promise<T> {
  let cached: { at: number; value: T } | null = null;
  let running: Promise<T> | null = null;
  return () => {
    if (running) return running;
    if (cached && nowMs() - cached.at < ms) return Promise.resolve(cached.value);
    running = fn()
      .then((value) => {
        cached = { at: nowMs(), value };
        return value;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
}
