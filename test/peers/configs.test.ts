import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { renderCluster } from "../../src/render/build.ts";
import { strippedRequestHeaders } from "../../src/services/core/ingress-nginx.ts";
import { ddnsScript } from "../../src/services/dns/ddns-script.ts";
import { exampleCluster } from "../support/example.ts";
import { requireTool, run } from "../support/peers.ts";

const execFileAsync = promisify(execFile);
const cluster = exampleCluster((v) => {
  v.wireguardUsers["dave-y"] = {
    ip: "10.0.100.9",
    group: "family",
    publicKeySecret: "dave_y_key",
    allowedIPs: "192.168.1.0/24",
    nextcloudUser: "dave.y@home",
  };
});
const { files } = renderCluster(cluster);
const objects = (key: string) =>
  parseAllDocuments(files.find((f) => f.path === `manifests/${key}.yaml`)!.content).map((d) => d.toJS());
const wgData: Record<string, string> = objects("wireguard-config")[0].data;
const tmp = () => mkdtempSync(join(tmpdir(), "nixlab-peer-"));

describe("Caddy accepts the VPN SSO Caddyfile (caddy adapt)", () => {
  it("adapts, with one route per SSO user, and the header set from the config", (ctx) => {
    const caddy = requireTool("caddy", ctx);
    const dir = tmp();
    writeFileSync(join(dir, "Caddyfile"), wgData.Caddyfile!);
    const r = run(caddy, ["adapt", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.apps.http.servers.srv0.listen).toEqual([":443"]);
    const text = JSON.stringify(json.apps.http.servers.srv0.routes);
    expect(text).toContain('"ranges":["10.0.100.9"]');
    expect(text).toContain('"X-Remote-User":["dave.y@home"]');
    expect(text).toContain('"X_Remote_User"');
    expect(text).toContain("VPN user not recognized");
  });
});

describe("nginx accepts the Signal proxy config (nginx -t)", () => {
  it("tests ok with the stream module and a certificate", (ctx) => {
    const nginx = requireTool("nginx", ctx);
    const openssl = requireTool("openssl", ctx);
    const dir = tmp();
    expect(
      run(openssl, [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=signal.home.example.com",
        "-keyout",
        join(dir, "tls.key"),
        "-out",
        join(dir, "tls.crt"),
      ]).status,
    ).toBe(0);
    const conf = objects("signal-proxy").find((o) => o.kind === "ConfigMap").data["nginx.conf"] as string;
    const module = "/usr/lib/nginx/modules/ngx_stream_module.so";
    const testable = `${existsSync(module) ? `load_module ${module};\n` : ""}pid ${dir}/nginx.pid;\n${conf.replaceAll("/etc/ssl/signal", dir).replace("/dev/stdout", `${dir}/access.log`)}`;
    writeFileSync(join(dir, "nginx.conf"), testable);
    const r = run(nginx, ["-t", "-e", "stderr", "-p", dir, "-c", join(dir, "nginx.conf")]);
    expect(r.stderr, r.stderr).toContain("test is successful");
  });
});

describe("the ingress strips a client-sent X-Remote-User (nginx with the directives proxySetHeaders renders)", () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it("never forwards X-Remote-User or X_Remote_User", async (ctx) => {
    const nginx = requireTool("nginx", ctx);
    const seen: Array<Record<string, unknown>> = [];
    const upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.end("ok");
    });
    servers.push(upstream);
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const upPort = (upstream.address() as { port: number }).port;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dir = tmp();
    // ingress-nginx renders each proxySetHeaders entry as `proxy_set_header <name> "<value>";`
    // and maps enable-underscores-in-headers=false to nginx's default underscores_in_headers off.
    const directives = Object.entries(strippedRequestHeaders)
      .map(([k, v]) => `proxy_set_header ${k} "${v}";`)
      .join("\n");
    writeFileSync(
      join(dir, "nginx.conf"),
      `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n access_log off;\n server {\n  listen 127.0.0.1:${port};\n  underscores_in_headers off;\n  location / {\n   proxy_pass http://127.0.0.1:${upPort};\n   ${directives}\n  }\n }\n}\n`,
    );
    const child = execFile(nginx, ["-e", "stderr", "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"]);
    try {
      let body = "";
      for (let i = 0; i < 50 && body !== "ok"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        body = await fetch(`http://127.0.0.1:${port}/`, {
          headers: { "X-Remote-User": "admin", X_Remote_User: "admin", "X-Other": "kept" },
        }).then(
          (r) => r.text(),
          () => "",
        );
      }
      expect(body).toBe("ok");
      expect(seen.at(-1)).toMatchObject({ "x-other": "kept" });
      expect(Object.keys(seen.at(-1)!).filter((h) => h.replace(/_/g, "-").toLowerCase() === "x-remote-user")).toEqual(
        [],
      );
    } finally {
      child.kill();
    }
  });
});

describe("the WireGuard init script (real sh, real wg keys, wg-quick strip)", () => {
  const keypair = (wg: string) => {
    const priv = run(wg, ["genkey"]).stdout.trim();
    return { priv, pub: run(wg, ["pubkey"], { input: `${priv}\n` }).stdout.trim() };
  };

  function prepare(wg: string) {
    const dir = tmp();
    const tpl = join(dir, "tpl");
    const secrets = join(dir, "secrets");
    const peerKeys = join(dir, "peers");
    const out = join(dir, "config"); // a fresh PVC: no wg_confs yet (defect 28)
    for (const d of [tpl, secrets, peerKeys, out]) mkdirSync(d);
    for (const [k, v] of Object.entries(wgData)) writeFileSync(join(tpl, k), v);
    const server = keypair(wg);
    writeFileSync(join(secrets, "server-private-key"), `${server.priv}\n`);
    writeFileSync(join(secrets, "server-public-key"), server.pub);
    writeFileSync(join(secrets, "wg-server-endpoint"), "vpn.home.example.com");
    const peers: Record<string, string> = {};
    for (const u of cluster.vpn.enabledUsers) {
      peers[u.name] = keypair(wg).pub;
      writeFileSync(join(peerKeys, u.publicKeySecret), peers[u.name]!);
    }
    const env = { ...process.env, TEMPLATE_DIR: tpl, SECRETS_DIR: secrets, PEERS_DIR: peerKeys, CONFIG_DIR: out };
    return { dir, tpl, secrets, peerKeys, out, server, peers, env };
  }

  it("builds a wg0.conf wg-quick accepts, with every peer, and client configs", (ctx) => {
    const wg = requireTool("wg", ctx);
    const wgQuick = requireTool("wg-quick", ctx);
    const p = prepare(wg);
    const r = run("sh", [join(p.tpl, "setup.sh")], { env: p.env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("WireGuard config ready with 4 users (0 expired)\n");
    const conf = readFileSync(join(p.out, "wg_confs/wg0.conf"), "utf8");
    const stripped = run(wgQuick, ["strip", join(p.out, "wg_confs/wg0.conf")]);
    expect(stripped.status).toBe(0);
    expect(stripped.stdout).toContain(`PrivateKey = ${p.server.priv}`);
    expect(stripped.stdout).toContain("ListenPort = 51820");
    for (const u of cluster.vpn.enabledUsers) {
      expect(stripped.stdout).toContain(`PublicKey = ${p.peers[u.name]}\nAllowedIPs = ${u.ip}/32`);
    }
    expect(conf).not.toMatch(/__[A-Z_]+__/);
    const dave = readFileSync(join(p.out, "clients/dave-y.conf"), "utf8");
    expect(dave).toContain(`PublicKey = ${p.server.pub}`);
    expect(dave).toContain("Endpoint = vpn.home.example.com:51820");
    // The client's DNS is the VPN's own, so its split tunnel routes 10.0.100.1 too.
    expect(dave).toContain("AllowedIPs = 192.168.1.0/24, 10.0.100.1/32");
    expect(run(wgQuick, ["strip", join(p.out, "clients/dave-y.conf")]).status).toBe(0);
  });

  it("refuses a malformed key or endpoint and writes no config", (ctx) => {
    const wg = requireTool("wg", ctx);
    const p = prepare(wg);
    writeFileSync(join(p.peerKeys, "dave_y_key"), "not-a-key|rm -rf /");
    const r = run("sh", [join(p.tpl, "setup.sh")], { env: p.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("secret key dave_y_key is not a WireGuard key");
    expect(existsSync(join(p.out, "wg_confs/wg0.conf"))).toBe(false);
    writeFileSync(join(p.peerKeys, "dave_y_key"), p.peers["dave-y"]!);
    writeFileSync(join(p.secrets, "wg-server-endpoint"), "evil|host");
    const r2 = run("sh", [join(p.tpl, "setup.sh")], { env: p.env });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain("wg-server-endpoint must be a host name or address");
  });

  it("every shell script we render parses (sh -n)", () => {
    for (const name of ["setup.sh", "caddy-run.sh", "reconcile.sh"])
      expect(run("sh", ["-n", "-c", wgData[name]!]).status, name).toBe(0);
    const signal = objects("signal-proxy").find((o) => o.kind === "Deployment").spec.template.spec.containers[0]
      .command[2];
    expect(run("sh", ["-n", "-c", signal]).status).toBe(0);
  });
});

describe("the DDNS job (real python3 against a Cloudflare API stand-in on 127.0.0.1)", () => {
  interface Record_ {
    id: string;
    name: string;
    content: string;
  }
  function fakeCloudflare(state: { ip: string; records: Record_[]; failPatch?: boolean; writes: string[] }) {
    const server = createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const send = (result: unknown, success = true) =>
          res.end(JSON.stringify({ success, errors: success ? [] : [{ message: "bad request" }], result }));
        if (req.headers.authorization !== "Bearer tok3n") return send(null, false);
        if (url.pathname === "/ip") return res.end(state.ip);
        if (url.pathname === "/client/v4/zones")
          return send(url.searchParams.get("name") === "example.com" ? [{ id: "z1" }] : []);
        if (url.pathname === "/client/v4/zones/z1/dns_records" && req.method === "GET") {
          return send(state.records.filter((r) => r.name === url.searchParams.get("name")));
        }
        state.writes.push(`${req.method} ${url.pathname} ${body}`);
        if (req.method === "POST") {
          const b = JSON.parse(body);
          state.records.push({ id: `r${state.records.length + 1}`, name: b.name, content: b.content });
          return send({});
        }
        if (req.method === "PATCH") {
          if (state.failPatch) return send(null, false);
          const r = state.records.find((x) => url.pathname.endsWith(`/${x.id}`))!;
          r.content = JSON.parse(body).content;
          return send({});
        }
        send(null, false);
      });
    });
    return server;
  }

  async function runDdns(python: string, port: number) {
    const dir = tmp();
    writeFileSync(join(dir, "ddns.py"), ddnsScript);
    writeFileSync(join(dir, "token"), "tok3n\n");
    const env = {
      ...process.env,
      DDNS_API: `http://127.0.0.1:${port}/client/v4`,
      DDNS_IP_URL: `http://127.0.0.1:${port}/ip`,
      DDNS_ZONE_HINT: "home.example.com",
      DDNS_RECORDS: "vpn.home.example.com,signal.home.example.com",
      DDNS_TOKEN_FILE: join(dir, "token"),
    };
    try {
      const r = await execFileAsync(python, [join(dir, "ddns.py")], { env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e: any) {
      return { code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
    }
  }

  it("finds the zone of a sub-domain, creates, updates, then leaves records alone; fails loudly", async (ctx) => {
    const python = requireTool("python3", ctx);
    // The IP endpoint needs no token in reality; the stand-in checks it on the API paths only.
    const state: { ip: string; records: Record_[]; failPatch?: boolean; writes: string[] } = {
      ip: "93.184.216.34",
      records: [{ id: "r1", name: "signal.home.example.com", content: "1.2.3.4" }],
      writes: [],
    };
    const server = fakeCloudflare(state);
    const origEmit = server.emit.bind(server);
    server.emit = ((event: string, req: any, res: any) => {
      if (event === "request" && req.url === "/ip") req.headers.authorization = "Bearer tok3n";
      return origEmit(event, req, res);
    }) as typeof server.emit;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const first = await runDdns(python, port);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("Zone: example.com");
      expect(first.stdout).toContain("Updated vpn.home.example.com to 93.184.216.34");
      expect(state.writes.map((w) => w.split(" ").slice(0, 2).join(" "))).toEqual([
        "POST /client/v4/zones/z1/dns_records",
        "PATCH /client/v4/zones/z1/dns_records/r1",
      ]);
      const again = await runDdns(python, port);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("IP unchanged for signal.home.example.com: 93.184.216.34");
      expect(state.writes).toHaveLength(2);

      state.ip = "";
      const empty = await runDdns(python, port);
      expect(empty.code).toBe(1);
      expect(empty.stderr).toContain("not an IPv4 address");
      state.ip = "10.1.2.3";
      const privateIp = await runDdns(python, port);
      expect(privateIp.code).toBe(1);
      expect(privateIp.stderr).toContain("not a public address");
      expect(state.writes).toHaveLength(2);

      state.ip = "93.184.216.35";
      state.failPatch = true;
      const refused = await runDdns(python, port);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Cloudflare refused: bad request");
      expect(refused.stdout).not.toContain("Updated signal");
    } finally {
      server.close();
    }
  });
});
