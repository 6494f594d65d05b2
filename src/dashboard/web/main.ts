/**
 * The dashboard page: asks the server who is looking (/api/me), then shows the admin
 * the cluster (polling /api/snapshot, redrawn in place) or anyone else their devices.
 * Talks only to the server it came from; no reload is ever needed.
 */
import type { DevicesView, MeView, Snapshot } from "../model.ts";
import { type AdminState, adminPage } from "./admin.ts";
import { devicesPage } from "./devices.ts";
import { h } from "./dom.ts";

/** How often the admin page asks for a new snapshot. */
const refreshMs = 5000;

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).trim() || res.statusText}`);
  return (await res.json()) as T;
}

function show(el: HTMLElement): void {
  document.getElementById("app")!.replaceChildren(el);
}

function serverGone(error: unknown, last: HTMLElement | null): HTMLElement {
  const banner = h(
    "div",
    { class: "banner", role: "alert", "data-server": "unreachable" },
    h("strong", {}, "The dashboard server does not answer."),
    ` ${error instanceof Error ? error.message : String(error)}. Retrying every ${refreshMs / 1000} s.`,
  );
  return last ? h("div", {}, banner, last) : h("main", {}, banner);
}

async function runAdmin(): Promise<void> {
  const state: AdminState = { selected: null };
  let snap: Snapshot | null = null;
  let page: HTMLElement | null = null;
  const draw = () => {
    if (!snap) return;
    page = adminPage(snap, state, draw);
    show(page);
  };
  for (;;) {
    try {
      snap = await getJson<Snapshot>("/api/snapshot");
      draw();
      document.body.dataset.loaded = snap.generatedAt;
    } catch (error) {
      show(serverGone(error, page));
    }
    await new Promise((resolve) => setTimeout(resolve, refreshMs));
  }
}

async function start(): Promise<void> {
  try {
    const me = await getJson<MeView>("/api/me");
    document.body.dataset.mode = me.mode;
    if (me.viewer.admin) return await runAdmin();
    const view = await getJson<DevicesView>("/api/me/devices");
    show(devicesPage(view));
    document.body.dataset.loaded = "devices";
  } catch (error) {
    show(serverGone(error, null));
  }
}

void start();
