// Writes schema/nixlab.schema.json from the zod schema (editors use it for nixlab.yaml).
import { writeFileSync } from "node:fs";
import { clusterJsonSchema } from "../src/config/schema.ts";

writeFileSync(new URL("../schema/nixlab.schema.json", import.meta.url), `${JSON.stringify(clusterJsonSchema(), null, 2)}\n`);
