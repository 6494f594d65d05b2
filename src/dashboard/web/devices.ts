/** "My devices": a VPN user's own devices, each with its config and QR code to set up a new phone. */
import type { DeviceView, DevicesView } from "../model.ts";
import { h } from "./dom.ts";

function deviceCard(d: DeviceView): HTMLElement {
  const base = `/api/me/devices/${encodeURIComponent(d.name)}`;
  return h(
    "article",
    { class: "device", "data-device": d.name },
    h("h2", {}, d.name),
    h(
      "dl",
      {},
      h("dt", {}, "Address"),
      h("dd", {}, d.ip),
      h("dt", {}, "Access group"),
      h("dd", {}, d.group),
      h("dt", {}, "Enabled"),
      h("dd", {}, d.enabled ? "yes" : "no (ask your admin)"),
      h("dt", {}, "Works until"),
      h("dd", {}, d.expires ?? "no end date"),
    ),
    d.config
      ? [
          h("p", {}, "To set up a new phone: open the WireGuard app, add a tunnel, and scan this code."),
          h("img", {
            class: "qr",
            src: `${base}/qr.svg`,
            alt: `QR code of ${d.name}'s VPN config`,
            width: 264,
            height: 264,
          }),
          h("details", {}, h("summary", {}, "Show the config as text"), h("pre", {}, d.config)),
          h("p", {}, h("a", { href: `${base}/config`, download: `${d.name}.conf` }, `Download ${d.name}.conf`)),
          h("p", { class: "note" }, "This code lets a device into the VPN as you: show it to no one."),
        ]
      : h("p", { class: "note" }, d.configNote ?? "No config is available here."),
  );
}

/** The page for `view`. */
export function devicesPage(view: DevicesView): HTMLElement {
  return h(
    "main",
    { class: "devices" },
    h(
      "header",
      {},
      h("h1", {}, "My devices"),
      h("p", { class: "updated" }, `Signed in through the VPN as ${view.viewer}`),
    ),
    view.devices.length > 0 ? view.devices.map(deviceCard) : h("p", { class: "empty" }, "No devices."),
  );
}
