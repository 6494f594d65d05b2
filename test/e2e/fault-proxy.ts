/**
 * A TCP proxy of our own between the engine and the apiserver that misbehaves on
 * purpose, chosen per connection by a seeded random generator (so a run can be
 * replayed): a connection is passed through, dropped (closed at once), reset (RST at a
 * random byte offset of either direction), stalled (forwarding stops at a random offset
 * for a while, or for good: a black hole the client must time out), or slowed (small
 * chunks with delays). TLS passes through untouched: the engine talks to the real
 * apiserver with its real certificates, through an unreliable network.
 */
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { parse, stringify } from "yaml";

export type Fault = "pass" | "drop" | "reset" | "stall" | "blackhole" | "slow";

export interface FaultOptions {
  seed: number;
  /** Chance of each fault per connection; the rest pass. */
  rates: Partial<Record<Exclude<Fault, "pass">, number>>;
  /** Longest stall (ms) of a "stall" fault; a "blackhole" stalls for good. */
  maxStallMs?: number;
  /** Faults strike within the first `maxOffset` bytes of a direction. */
  maxOffset?: number;
}

export interface FaultProxy {
  port: number;
  /** Counts of connections by the fault they got. */
  readonly stats: Record<Fault, number>;
  /** Turns faults on (with these options) or off (everything passes). */
  setFaults(options: FaultOptions | null): void;
  /** Writes a copy of `kubeconfig` whose server is this proxy; returns its path. */
  kubeconfigFor(kubeconfig: string, out: string): string;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, enough to replay a fault sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(upstream: { host: string; port: number }): Promise<FaultProxy> {
  const stats: Record<Fault, number> = { pass: 0, drop: 0, reset: 0, stall: 0, blackhole: 0, slow: 0 };
  let options: FaultOptions | null = null;
  let random = seededRandom(1);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const pick = (): Fault => {
    if (!options) return "pass";
    let r = random();
    for (const [fault, rate] of Object.entries(options.rates) as Array<[Fault, number]>) {
      if (r < rate) return fault;
      r -= rate;
    }
    return "pass";
  };

  /** Forwards from → to, applying the fault at `offset` bytes (when this direction carries it). */
  const pipe = (from: net.Socket, to: net.Socket, fault: Fault, offset: number, kill: () => void) => {
    let sent = 0;
    let stalled = false;
    const queue: Buffer[] = [];
    const flush = () => {
      while (queue.length > 0 && !stalled && !to.destroyed) to.write(queue.shift()!);
    };
    from.on("data", (chunk: Buffer) => {
      if (stalled || fault === "pass" || sent + chunk.length <= offset || fault === "slow") {
        if (fault === "slow") return slowWrite(chunk);
        sent += chunk.length;
        if (stalled) queue.push(chunk);
        else to.write(chunk);
        return;
      }
      // The fault strikes inside this chunk: forward up to the offset first.
      const head = chunk.subarray(0, Math.max(0, offset - sent));
      const tail = chunk.subarray(head.length);
      sent += chunk.length;
      if (head.length > 0) to.write(head);
      if (fault === "reset") return kill();
      // stall: resumes after a while; blackhole: never (the client must give up).
      stalled = true;
      queue.push(tail);
      if (fault === "stall") {
        later(Math.floor(random() * (options?.maxStallMs ?? 3000)), () => {
          stalled = false;
          flush();
        });
      }
    });
    let slowChain = Promise.resolve();
    const slowWrite = (chunk: Buffer) => {
      slowChain = slowChain.then(async () => {
        for (let i = 0; i < chunk.length && !to.destroyed; i += 512) {
          to.write(chunk.subarray(i, i + 512));
          await new Promise((r) => later(5, () => r(undefined)));
        }
      });
    };
    from.on("end", () => (stalled ? undefined : to.end()));
  };

  const server = net.createServer((client) => {
    sockets.add(client);
    const fault = pick();
    stats[fault]++;
    if (fault === "drop") {
      client.destroy();
      return;
    }
    const up = net.connect(upstream.port, upstream.host);
    sockets.add(up);
    const kill = () => {
      client.resetAndDestroy();
      up.resetAndDestroy();
    };
    const cleanup = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on("error", cleanup);
    up.on("error", cleanup);
    client.on("close", cleanup);
    up.on("close", cleanup);
    const offset = Math.floor(random() * (options?.maxOffset ?? 4096));
    // Most faults strike the answers (the apiserver's direction), some the requests.
    const downstream = random() < 0.7;
    pipe(client, up, downstream ? "pass" : fault, offset, kill);
    pipe(up, client, downstream ? fault : "pass", offset, kill);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    stats,
    setFaults(next) {
      options = next;
      if (next) random = seededRandom(next.seed);
    },
    kubeconfigFor(kubeconfig, out) {
      const kc = parse(readFileSync(kubeconfig, "utf8")) as { clusters: Array<{ cluster: { server: string } }> };
      for (const c of kc.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
      writeFileSync(out, stringify(kc));
      return out;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
