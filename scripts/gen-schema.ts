// Regenerates what is derived from the zod schema: schema/nixlab.schema.json (editors use
// it for nixlab.yaml) and the configuration reference in README.md. Tests check both.
import { readFileSync, writeFileSync } from "node:fs";
import { configReference } from "../src/config/reference.ts";
import { clusterJsonSchema } from "../src/config/schema.ts";

writeFileSync(
  new URL("../schema/nixlab.schema.json", import.meta.url),
  `${JSON.stringify(clusterJsonSchema(), null, 2)}\n`,
);
const readmeUrl = new URL("../README.md", import.meta.url);
const readme = readFileSync(readmeUrl, "utf8");
const start = "<!-- config-reference:start -->\n";
const end = "<!-- config-reference:end -->";
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < 0) throw new Error("README.md has no config-reference markers");
writeFileSync(readmeUrl, `${readme.slice(0, from + start.length)}${configReference()}${readme.slice(to)}`);
