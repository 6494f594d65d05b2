/** The groups DAG and the vars → outputs flow as Mermaid or Graphviz text. Pure. */
import type { DeployPlan } from "../plan/schema.ts";
import type { FlowEdge } from "./flow.ts";

const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, "_");
const fileNode = (path: string) => path.replace(/^manifests\//, "").replace(/\.yaml$/, "");

/** The groups DAG as a Mermaid flowchart (each node lists its charts). */
export function groupsMermaid(plan: DeployPlan): string {
  const lines = ["graph TD"];
  for (const g of plan.groups) lines.push(`  g_${id(g.name)}["<b>${g.name}</b><br/>${g.charts.join("<br/>")}"]`);
  for (const g of plan.groups) for (const d of g.dependsOn) lines.push(`  g_${id(d)} --> g_${id(g.name)}`);
  return `${lines.join("\n")}\n`;
}

/** The groups DAG as Graphviz dot. */
export function groupsDot(plan: DeployPlan): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph nixlab {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"];
  for (const g of plan.groups) lines.push(`  ${q(g.name)} [label=${q(`${g.name}\n${g.charts.join("\n")}`)}];`);
  for (const g of plan.groups) for (const d of g.dependsOn) lines.push(`  ${q(d)} -> ${q(g.name)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Which cluster-file fields reach which output files, as Mermaid. */
export function flowMermaid(edges: FlowEdge[]): string {
  const lines = ["graph LR"];
  for (const f of [...new Set(edges.map((e) => e.field))]) lines.push(`  v_${id(f)}(["${f}"])`);
  for (const o of [...new Set(edges.map((e) => e.file))]) lines.push(`  o_${id(o)}["${fileNode(o)}"]`);
  for (const e of edges) lines.push(`  v_${id(e.field)} --> o_${id(e.file)}`);
  return `${lines.join("\n")}\n`;
}

/** Which cluster-file fields reach which output files, as Graphviz dot. */
export function flowDot(edges: FlowEdge[]): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph flow {", "  rankdir=LR;", "  node [fontname=Helvetica];"];
  for (const f of [...new Set(edges.map((e) => e.field))]) lines.push(`  ${q(`vars.${f}`)} [shape=ellipse];`);
  for (const o of [...new Set(edges.map((e) => e.file))]) lines.push(`  ${q(o)} [shape=box, label=${q(fileNode(o))}];`);
  for (const e of edges) lines.push(`  ${q(`vars.${e.field}`)} -> ${q(e.file)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
