/** The bundled example, loaded, and variants of it for tests. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { clusterFromValue } from "../../src/config/load.ts";
import type { Cluster } from "../../src/cluster/model.ts";

export const root = join(import.meta.dirname, "../..");
export const exampleYaml = join(root, "examples/homelab/nixlab.yaml");

/** The example's raw value (a fresh copy each call). */
export function exampleValue(): Record<string, any> {
  return parse(readFileSync(exampleYaml, "utf8"));
}

/** A validated cluster from the example, changed by `edit` first. Throws ConfigError when invalid. */
export function exampleCluster(edit: (v: Record<string, any>) => void = () => {}): Cluster {
  const value = exampleValue();
  edit(value);
  return clusterFromValue(value, "test/nixlab.yaml");
}
