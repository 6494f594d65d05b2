import { type Command, Option } from "commander";
import { catalogInputs } from "../dashboard/bundle.ts";
import { renderCluster } from "../render/build.ts";
import { measureFlow } from "../render/flow.ts";
import { flowDot, flowMermaid, groupsDot, groupsMermaid } from "../render/graph.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions } from "./common.ts";

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
    const inputs = await catalogInputs(cluster);
    if (options.flow) {
      const edges = measureFlow(cluster, (c) => renderCluster(c, inputs).files);
      process.stdout.write(format === "dot" ? flowDot(edges) : flowMermaid(edges));
      return;
    }
    const { plan } = renderCluster(cluster, inputs);
    process.stdout.write(format === "dot" ? groupsDot(plan) : groupsMermaid(plan));
  });
}
