/**
 * A traffic agent that runs inside a network namespace (started by netns.ts as
 * `ip netns exec NS node netns-agent.ts`). It reads one JSON request per line on stdin and
 * answers one JSON line on stdout: `{id, ok, result}` or `{id, ok: false, error}`.
 *
 * Requests (`op`): listen {proto: tcp|udp|http, host, port, status?, body?},
 * tcp {host, port, payload, timeoutMs, bind?} → {connected, error?},
 * udp {host, port, payload, bind?, repeat?} → {},
 * http {host, port, tls?, servername?, path?, headers?, timeoutMs, bind?} → {status, body} | {error},
 * arrivals {} → Arrival[] (everything the listeners recorded, oldest first).
 */
import { createSocket } from "node:dgram";
import { request as httpRequest } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, createServer } from "node:net";
import { createInterface } from "node:readline";
import type { Arrival } from "./netns.ts";

const arrivals: Arrival[] = [];
const closers: Array<() => void> = [];

type Request = Record<string, any> & { id: number; op: string };

async function listen(r: Request): Promise<object> {
  const name = `${r.proto} ${r.host}:${r.port}`;
  if (r.proto === "udp") {
    const socket = createSocket("udp4");
    socket.on("message", (msg, from) =>
      arrivals.push({ listener: name, source: `${from.address}:${from.port}`, payload: msg.toString() }),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(r.port, r.host, () => resolve());
    });
    closers.push(() => socket.close());
    return {};
  }
  const server =
    r.proto === "http"
      ? createHttpServer((req, res) => {
          let body = "";
          req.on("data", (c) => {
            body += c;
          });
          req.on("end", () => {
            arrivals.push({
              listener: name,
              source: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
              payload: body,
              method: req.method,
              path: req.url,
              headers: req.headers,
            });
            res.writeHead(r.status ?? 200, { "content-type": "text/plain" }).end(r.body ?? "ok");
          });
        })
      : createServer((socket) => {
          const arrival: Arrival = {
            listener: name,
            source: `${socket.remoteAddress}:${socket.remotePort}`,
            payload: "",
          };
          arrivals.push(arrival);
          socket.on("data", (c) => {
            arrival.payload += c.toString();
          });
          socket.on("error", () => {});
        });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(r.port, r.host, () => resolve());
  });
  closers.push(() => server.close());
  return {};
}

function tcp(r: Request): Promise<object> {
  return new Promise((resolve) => {
    const socket = connect({ host: r.host, port: r.port, ...(r.bind ? { localAddress: r.bind } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ connected: false, error: "timeout" });
    }, r.timeoutMs ?? 1500);
    socket.on("connect", () => {
      socket.end(r.payload ?? "");
      clearTimeout(timer);
      // Give the payload a moment to leave before reporting.
      setTimeout(() => resolve({ connected: true }), 50);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ connected: false, error: e.code ?? e.message });
    });
  });
}

async function udp(r: Request): Promise<object> {
  const socket = createSocket("udp4");
  if (r.bind) await new Promise<void>((resolve) => socket.bind({ address: r.bind }, () => resolve()));
  for (let i = 0; i < (r.repeat ?? 3); i++) {
    await new Promise<void>((resolve) => socket.send(r.payload, r.port, r.host, () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  socket.close();
  return {};
}

function http(r: Request): Promise<object> {
  return new Promise((resolve) => {
    const send = r.tls ? httpsRequest : httpRequest;
    const req = send(
      {
        host: r.host,
        port: r.port,
        path: r.path ?? "/",
        method: r.method ?? "GET",
        headers: r.headers ?? {},
        ...(r.bind ? { localAddress: r.bind } : {}),
        ...(r.tls ? { servername: r.servername, rejectUnauthorized: false } : {}),
        timeout: r.timeoutMs ?? 3000,
      },
      (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

const ops: Record<string, (r: Request) => Promise<object> | object> = {
  listen,
  tcp,
  udp,
  http,
  arrivals: () => arrivals,
};

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const r = JSON.parse(line) as Request;
  try {
    const op = ops[r.op];
    if (!op) throw new Error(`unknown op ${r.op}`);
    process.stdout.write(`${JSON.stringify({ id: r.id, ok: true, result: await op(r) })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ id: r.id, ok: false, error: (e as Error).message })}\n`);
  }
});
lines.on("close", () => {
  for (const close of closers) close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, result: "ready" })}\n`);
