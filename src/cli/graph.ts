import { type Command, Option } from "commander";
import { renderCluster } from "../render/build.ts";
import { type FlowEdge, measureFlow } from "../render/flow.ts";
import type { DeployPlan } from "../render/plan-types.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions } from "./common.ts";

const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, "_");
const fileNode = (path: string) => path.replace(/^manifests\//, "").replace(/\.yaml$/, "");

export function groupsMermaid(plan: DeployPlan): string {
  const lines = ["graph TD"];
  for (const g of plan.groups) lines.push(`  g_${id(g.name)}["<b>${g.name}</b><br/>${g.charts.join("<br/>")}"]`);
  for (const g of plan.groups) for (const d of g.dependsOn) lines.push(`  g_${id(d)} --> g_${id(g.name)}`);
  return `${lines.join("\n")}\n`;
}

export function groupsDot(plan: DeployPlan): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph nixlab {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"];
  for (const g of plan.groups) lines.push(`  ${q(g.name)} [label=${q(`${g.name}\n${g.charts.join("\n")}`)}];`);
  for (const g of plan.groups) for (const d of g.dependsOn) lines.push(`  ${q(d)} -> ${q(g.name)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function flowMermaid(edges: FlowEdge[]): string {
  const lines = ["graph LR"];
  for (const f of [...new Set(edges.map((e) => e.field))]) lines.push(`  v_${id(f)}(["${f}"])`);
  for (const o of [...new Set(edges.map((e) => e.file))]) lines.push(`  o_${id(o)}["${fileNode(o)}"]`);
  for (const e of edges) lines.push(`  v_${id(e.field)} --> o_${id(e.file)}`);
  return `${lines.join("\n")}\n`;
}

export function flowDot(edges: FlowEdge[]): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph flow {", "  rankdir=LR;", "  node [fontname=Helvetica];"];
  for (const f of [...new Set(edges.map((e) => e.field))]) lines.push(`  ${q(`vars.${f}`)} [shape=ellipse];`);
  for (const o of [...new Set(edges.map((e) => e.file))]) lines.push(`  ${q(o)} [shape=box, label=${q(fileNode(o))}];`);
  for (const e of edges) lines.push(`  ${q(`vars.${e.field}`)} -> ${q(e.file)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

const graphFormats = ["mermaid", "dot"] as const;
type GraphFormat = (typeof graphFormats)[number];

export function registerGraph(program: Command): void {
  addConfigOption(
    program
      .command("graph")
      .description("Print the deploy groups' DAG, or with --flow which cluster-file fields reach which outputs")
      .addOption(new Option("-o, --output <format>", "mermaid or dot").choices(graphFormats).default("mermaid"))
      // The old name, kept for scripts.
      .addOption(new Option("--format <format>").choices(graphFormats).hideHelp())
      .option("--flow", "the vars → outputs flow instead of the groups DAG"),
  ).action(async (options: ConfigOptions & { output: GraphFormat; format?: GraphFormat; flow?: boolean }) => {
    const format = options.format ?? options.output;
    const cluster = await loadFromOptions(options);
    if (options.flow) {
      const edges = measureFlow(cluster, (c) => renderCluster(c).files);
      process.stdout.write(format === "dot" ? flowDot(edges) : flowMermaid(edges));
      return;
    }
    const { plan } = renderCluster(cluster);
    process.stdout.write(format === "dot" ? groupsDot(plan) : groupsMermaid(plan));
  });
}
