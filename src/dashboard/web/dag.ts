/** The deploy groups as an SVG picture: one box per group coloured by state, one edge per dependency. */
import type { GroupView } from "../model.ts";
import { s } from "./dom.ts";
import { box, layoutDag } from "./layout.ts";

/** What a state is called on the page. */
export const stateLabel: Record<GroupView["state"], string> = {
  ready: "ready",
  applying: "applying",
  "not-ready": "not ready",
  failed: "failed",
  blocked: "blocked",
  "never-deployed": "never deployed",
  unknown: "unknown",
};

/** Shortens `text` to fit a box (the full text is in the box's tooltip). */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The DAG of `groups`; clicking a group calls `onSelect` with its name. */
export function dagSvg(groups: readonly GroupView[], onSelect: (name: string) => void): SVGSVGElement {
  const layout = layoutDag(groups);
  const byName = new Map(groups.map((g) => [g.name, g]));
  const edges = layout.edges.map((e) =>
    s("path", {
      class: `edge edge-${byName.get(e.from)?.state ?? "never-deployed"}`,
      d: e.path,
      "data-edge": `${e.from}->${e.to}`,
      "marker-end": "url(#arrow)",
    }),
  );
  const nodes = layout.nodes.map((n) => {
    const g = byName.get(n.name)!;
    const detail = g.reason ?? (g.live ? "" : "as last recorded");
    const title = `${g.name}: ${stateLabel[g.state]}${g.reason ? ` (${g.reason})` : ""}`;
    return s(
      "g",
      {
        class: `node state-${g.state}${g.live ? "" : " recorded"}`,
        "data-group": g.name,
        "data-state": g.state,
        transform: `translate(${n.x},${n.y})`,
        tabindex: 0,
        role: "button",
        "aria-label": title,
        onclick: () => onSelect(g.name),
        onkeydown: (event: Event) => {
          if ((event as KeyboardEvent).key === "Enter") onSelect(g.name);
        },
      },
      s("title", {}, title),
      s("rect", { width: box.width, height: box.height, rx: 8 }),
      s("text", { x: 12, y: 22, class: "name" }, shorten(g.name, 24)),
      s(
        "text",
        { x: 12, y: 42, class: "state" },
        shorten(detail ? `${stateLabel[g.state]}: ${detail}` : stateLabel[g.state], 30),
      ),
    );
  });
  return s(
    "svg",
    {
      class: "dag",
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      width: layout.width,
      role: "img",
      "aria-label": "Deploy groups and their dependencies",
    },
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: "arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    ),
    s("g", { class: "edges" }, edges),
    s("g", { class: "nodes" }, nodes),
  );
}
