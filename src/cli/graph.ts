import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { renderCluster } from "../render/build.ts";
import { measureFlow } from "../render/flow.ts";
import { flowDot, flowMermaid, groupsDot, groupsMermaid } from "../render/graph.ts";
import { type ConfigOptions, addConfigOption, loadFromOptions } from "./common.ts";

export function registerGraph(program: Command): void {
  addConfigOption(
    program
      .command("graph")
      .description("Print the deploy groups' DAG, or with --flow which cluster-file fields reach which outputs")
      .option("-f, --format <format>", "mermaid or dot", "mermaid")
      .option("--flow", "the vars → outputs flow instead of the groups DAG"),
  ).action(async (options: ConfigOptions & { format: string; flow?: boolean }) => {
    if (options.format !== "mermaid" && options.format !== "dot") {
      throw new UserError(`unknown --format ${JSON.stringify(options.format)}`, {
        exitCode: 2,
        details: ["  use mermaid or dot"],
      });
    }
    const cluster = await loadFromOptions(options);
    if (options.flow) {
      const edges = measureFlow(cluster, (c) => renderCluster(c).files);
      process.stdout.write(options.format === "dot" ? flowDot(edges) : flowMermaid(edges));
      return;
    }
    const { plan } = renderCluster(cluster);
    process.stdout.write(options.format === "dot" ? groupsDot(plan) : groupsMermaid(plan));
  });
}
