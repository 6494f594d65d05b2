/**
 * Building DOM without HTML strings: every value from the cluster (names, messages) goes
 * in as a text node or an attribute, never parsed as markup, so nothing in the cluster
 * can inject script into the page.
 */

/** What an element may contain: nodes, text, nothing, or lists of those. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];
/** Attributes; `on…` functions become event listeners; false and undefined are left out. */
export type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

const svgNs = "http://www.w3.org/2000/svg";

function fill(el: Element, attrs: Attrs, children: readonly Child[]): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== undefined) el.setAttribute(name, String(value));
  }
  const add = (c: Child): void => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) for (const x of c) add(x);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  for (const c of children) add(c);
}

/** An HTML element. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  fill(el, attrs, children);
  return el;
}

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(svgNs, tag);
  fill(el, attrs, children);
  return el;
}

/** A time as the viewer's clock shows it ("—" when absent). */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString();
}

/** "3 min ago" for a Unix time in seconds, relative to `nowMs`. */
export function ago(unixSeconds: number, nowMs: number): string {
  const s = Math.max(0, Math.round(nowMs / 1000 - unixSeconds));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
