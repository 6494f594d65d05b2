import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleAssets } from "../../src/dashboard/assets.ts";
import {
  type DashboardBackend,
  loopbackHosts,
  type RunningServer,
  serveDashboard,
  throttled,
} from "../../src/dashboard/server.ts";

/** A GET with any Host header (fetch does not let a test choose it). */
function get(url: string, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Host: host } }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

const backend: DashboardBackend = {
  mode: "local",
  viewer: () => ({ name: "local", admin: true }),
  snapshot: async () => {
    throw new Error("no cluster here");
  },
  devices: async (viewer) => ({ viewer: viewer.name, devices: [] }),
  deviceConfig: async () => null,
  deviceQr: async () => null,
};

let server: RunningServer;
beforeAll(async () => {
  server = await serveDashboard({
    host: "127.0.0.1",
    port: 0,
    assets: await bundleAssets(),
    backend,
    allowedHosts: loopbackHosts,
  });
});
afterAll(() => server?.close());

describe("the local server", () => {
  it("serves the page with a policy that allows only itself", async () => {
    const page = await get(server.url, `127.0.0.1:${server.port}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/app.js"></script>');
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const js = await get(new URL("/app.js", server.url).href, `localhost:${server.port}`);
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toMatch(/^text\/javascript/);
    // The bundle fetches only paths of its own server.
    expect(js.body).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it("refuses other Host names (DNS rebinding)", async () => {
    const res = await get(server.url, `evil.example.com:${server.port}`);
    expect(res.status).toBe(421);
  });

  it("reports a failing backend as a 500 with the reason, and unknown paths as 404", async () => {
    const res = await get(new URL("/api/snapshot", server.url).href, `127.0.0.1:${server.port}`);
    expect(res.status).toBe(500);
    expect(res.body).toContain("no cluster here");
    expect((await get(new URL("/etc/passwd", server.url).href, `127.0.0.1:${server.port}`)).status).toBe(404);
    expect((await get(new URL("/api/nothing", server.url).href, `127.0.0.1:${server.port}`)).status).toBe(404);
  });
});

describe("throttled", () => {
  it("shares one computation and keeps its result for the given time; failures are not kept", async () => {
    let t = 0;
    let calls = 0;
    const f = throttled(
      async () => {
        calls++;
        return calls;
      },
      1000,
      () => t,
    );
    const [a, b] = await Promise.all([f(), f()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    t = 999;
    expect(await f()).toBe(1);
    t = 1000;
    expect(await f()).toBe(2);
    let fail = true;
    const g = throttled(
      async () => {
        if (fail) throw new Error("x");
        return "ok";
      },
      1000,
      () => 0,
    );
    await expect(g()).rejects.toThrow("x");
    fail = false;
    expect(await g()).toBe("ok");
  });
});
