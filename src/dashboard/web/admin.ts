/** The admin's page: the whole cluster at a glance, rendered from one snapshot. */
import type { CertificateView, GroupView, NodeView, Snapshot, VpnUserView } from "../model.ts";
import { dagSvg, stateLabel } from "./dag.ts";
import { type Child, ago, h, when } from "./dom.ts";

/** What stays the same between refreshes: the group whose details are open. */
export interface AdminState {
  selected: string | null;
}

function table(headers: readonly string[], rows: readonly HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((x) => h("th", {}, x)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function note(text: string | undefined): Child {
  return text ? h("p", { class: "note" }, text) : null;
}

function apiBanner(snap: Snapshot): Child {
  const { api } = snap;
  if (api.state === "reachable") return null;
  const head =
    api.state === "unreachable"
      ? `Cannot read the cluster${api.server ? ` at ${api.server}` : ""}:`
      : "No Kubernetes cluster is configured:";
  return h(
    "div",
    { class: "banner", role: "alert", "data-api": api.state },
    h("strong", {}, head),
    " ",
    api.message ?? "",
    " Group states below are the last ones recorded on this machine; live sections are empty.",
  );
}

function summary(groups: readonly GroupView[]): HTMLElement {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
  return h(
    "ul",
    { class: "summary" },
    [...counts].map(([state, n]) =>
      h("li", { class: `pill state-${state}` }, `${n} ${stateLabel[state as GroupView["state"]]}`),
    ),
  );
}

/** A drift's problem, with its detail when that says more. */
function driftText(d: GroupView["drift"][number]): string {
  return d.detail && d.detail !== d.problem ? `${d.problem}: ${d.detail}` : d.problem;
}

/** "3 created, 1 configured, 12 unchanged". */
function changeCounts(entries: ReadonlyArray<{ action: string }>): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
  return [...counts].map(([action, n]) => `${n} ${action}`).join(", ") || "no objects";
}

function groupDetails(g: GroupView): HTMLElement {
  const changes = g.lastChanges;
  return h(
    "div",
    { class: "details", "data-details": g.name },
    h("h3", {}, g.name, " ", h("span", { class: `pill state-${g.state}` }, stateLabel[g.state])),
    g.reason ? h("p", { class: "reason" }, g.reason) : null,
    h(
      "dl",
      {},
      h("dt", {}, "Depends on"),
      h("dd", {}, g.dependsOn.join(", ") || "—"),
      h("dt", {}, "Recorded"),
      h(
        "dd",
        {},
        g.recorded
          ? `${g.recorded.status}; applied ${when(g.recorded.appliedAt)}; ready ${when(g.recorded.readyAt)}`
          : "never deployed from this machine",
      ),
      h("dt", {}, "Plan"),
      h("dd", {}, g.planChanged ? "changed since the last deploy: a deploy would re-apply it" : "as deployed"),
      h("dt", {}, "Waits for"),
      h("dd", {}, g.waitFor.join(", ") || "—"),
    ),
    h("h4", {}, "Charts"),
    g.charts.map((c) =>
      h(
        "details",
        { class: "chart" },
        h(
          "summary",
          {},
          h("strong", {}, c.key),
          ` in ${c.namespace}`,
          c.helm ? ` — Helm ${c.helm.chart} ${c.helm.version}` : ` — ${c.objects.length} objects`,
        ),
        h(
          "ul",
          { class: "objects" },
          c.objects.map((o) => h("li", {}, o)),
        ),
      ),
    ),
    g.notReady.length > 0
      ? [
          h("h4", {}, "Not ready"),
          h(
            "ul",
            {},
            g.notReady.map((n) => h("li", {}, `${n.object}: ${n.reason}`)),
          ),
        ]
      : null,
    g.drift.length > 0
      ? [
          h("h4", {}, "Drift"),
          h(
            "ul",
            {},
            g.drift.map((d) => h("li", {}, `${d.object}: ${driftText(d)}`)),
          ),
        ]
      : null,
    h("h4", {}, "Last deploy's changes"),
    changes
      ? [
          h("p", { class: "note" }, `at ${when(changes.at)}: ${changeCounts(changes.entries)}`),
          table(
            ["Object", "Action", ""],
            changes.entries.map((e) =>
              h(
                "tr",
                { class: `action-${e.action}` },
                h("td", {}, e.object),
                h("td", {}, e.action),
                h("td", {}, e.message ?? ""),
              ),
            ),
            "nothing changed",
          ),
        ]
      : h("p", { class: "empty" }, "not recorded on this machine"),
  );
}

function groupRows(groups: readonly GroupView[], state: AdminState, rerender: () => void): HTMLTableRowElement[] {
  return groups.map((g) =>
    h(
      "tr",
      {
        "data-group": g.name,
        "data-state": g.state,
        class: state.selected === g.name ? "selected" : undefined,
        onclick: () => {
          state.selected = state.selected === g.name ? null : g.name;
          rerender();
        },
      },
      h("td", {}, h("button", { type: "button", class: "link" }, g.name)),
      h("td", {}, h("span", { class: `pill state-${g.state}` }, stateLabel[g.state])),
      h("td", { class: "reason" }, g.reason ?? ""),
      h("td", {}, g.drift.length > 0 ? `${g.drift.length}` : ""),
    ),
  );
}

function driftRows(groups: readonly GroupView[]): HTMLTableRowElement[] {
  return groups.flatMap((g) =>
    g.drift.map((d) => h("tr", {}, h("td", {}, g.name), h("td", {}, d.object), h("td", {}, driftText(d)))),
  );
}

function certRows(certs: readonly CertificateView[]): HTMLTableRowElement[] {
  return certs.map((c) => {
    const urgency = c.daysLeft === null ? "" : c.daysLeft < 0 ? "expired" : c.daysLeft < 14 ? "soon" : "ok";
    return h(
      "tr",
      { "data-certificate": c.name, class: urgency ? `expiry-${urgency}` : undefined },
      h("td", {}, c.name),
      h("td", {}, c.dnsNames.join(", ")),
      h("td", {}, c.ready ? "ready" : `not ready: ${c.reason ?? ""}`),
      h("td", {}, c.notAfter ? `${when(c.notAfter)} (${c.daysLeft} days)` : "—"),
      h("td", {}, when(c.renewalTime)),
    );
  });
}

function nodeRows(nodes: readonly NodeView[]): HTMLTableRowElement[] {
  return nodes.map((n) =>
    h(
      "tr",
      { "data-node": n.name },
      h("td", {}, n.name),
      h("td", {}, n.hostname),
      h("td", {}, n.role === "server" ? "master (k3s server)" : "worker (k3s agent)"),
      h("td", {}, n.tags.join(", ") || "—"),
      h("td", {}, n.ready === null ? (n.reason ?? "unknown") : n.ready ? "Ready" : `not Ready: ${n.reason ?? ""}`),
      h("td", {}, n.kubeletVersion ?? ""),
    ),
  );
}

function vpnRows(users: readonly VpnUserView[], nowMs: number): HTMLTableRowElement[] {
  return users.map((u) =>
    h(
      "tr",
      { "data-vpn-user": u.name, class: u.enabled ? undefined : "disabled" },
      h("td", {}, u.name),
      h("td", {}, u.ip),
      h("td", {}, u.group),
      h("td", {}, u.enabled ? "yes" : "no"),
      h("td", {}, u.expires ?? "never"),
      h("td", {}, u.lastHandshake === null ? "—" : ago(u.lastHandshake, nowMs)),
    ),
  );
}

/** The whole admin page for `snap`. `rerender` draws it again (after a selection changed). */
export function adminPage(snap: Snapshot, state: AdminState, rerender: () => void): HTMLElement {
  const select = (name: string) => {
    state.selected = state.selected === name ? null : name;
    rerender();
  };
  const selected = snap.groups.find((g) => g.name === state.selected);
  const now = Date.parse(snap.generatedAt);
  return h(
    "main",
    {},
    h(
      "header",
      {},
      h("h1", {}, snap.title),
      h(
        "p",
        { class: "updated" },
        `updated ${when(snap.generatedAt)}`,
        snap.lastRun ? ` · last deploy ${when(snap.lastRun.startedAt)}: ${snap.lastRun.result ?? "running"}` : "",
      ),
    ),
    apiBanner(snap),
    snap.warnings.map((w) => h("p", { class: "warning" }, w)),
    h(
      "section",
      { id: "groups" },
      h("h2", {}, "Deploy groups"),
      summary(snap.groups),
      h("div", { class: "dag-wrap" }, dagSvg(snap.groups, select)),
    ),
    selected
      ? groupDetails(selected)
      : h("p", { class: "hint" }, "Select a group for its charts, objects and last changes."),
    h(
      "section",
      {},
      table(["Group", "State", "Why", "Drift"], groupRows(snap.groups, state, rerender), "The plan has no groups."),
    ),
    h(
      "section",
      { id: "drift" },
      h("h2", {}, "Drift"),
      table(
        ["Group", "Object", "Problem"],
        driftRows(snap.groups),
        snap.api.state === "reachable"
          ? "None: the cluster holds what nixlab applied."
          : "Unknown: the cluster could not be asked.",
      ),
    ),
    h(
      "section",
      { id: "certificates" },
      h("h2", {}, "Certificates"),
      note(snap.certificates.note),
      table(
        ["Certificate", "Names", "State", "Expires", "Renewal"],
        certRows(snap.certificates.items),
        "No certificates.",
      ),
    ),
    h(
      "section",
      { id: "nodes" },
      h("h2", {}, "Nodes"),
      note(snap.nodes.note),
      table(["Node", "Hostname", "Role", "Tags", "k3s", "Version"], nodeRows(snap.nodes.items), "No nodes."),
    ),
    h(
      "section",
      { id: "vpn" },
      h("h2", {}, "VPN users"),
      note(snap.vpnUsers.note),
      note(snap.vpnUsers.handshakes),
      table(
        ["User", "Address", "Group", "Enabled", "Expires", "Last handshake"],
        vpnRows(snap.vpnUsers.items, now),
        "No VPN users.",
      ),
    ),
  );
}
