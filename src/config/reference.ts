/** The configuration reference (a Markdown table) generated from the zod schema's metadata. */
import { clusterJsonSchema } from "./schema.ts";

type Schema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  required?: string[];
  anyOf?: Schema[];
};

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" \\| ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (s.type === "object" && s.properties) return "object";
  if (s.type === "object") return "map";
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

const cell = (v: unknown) => (v === undefined ? "" : `\`${JSON.stringify(v)}\``.replaceAll("|", "\\|"));

/** Rows `| field | type | default | example | description |` for every field, nested ones included. */
export function configReference(): string {
  const rows: string[] = ["| Field | Type | Default | Example | Description |", "|---|---|---|---|---|"];
  const walk = (s: Schema, prefix: string, required: string[]) => {
    for (const [key, field] of Object.entries(s.properties ?? {})) {
      if (key === "$schema") continue;
      const path = `${prefix}${key}`;
      const req = required.includes(key) && field.default === undefined ? " **(required)**" : "";
      rows.push(
        `| \`${path}\` | ${typeOf(field)} | ${cell(field.default)} | ${cell(field.examples?.[0])} | ${(field.description ?? "").replaceAll("|", "\\|")}${req} |`,
      );
      if (field.properties) walk(field, `${path}.`, field.required ?? []);
      const add = typeof field.additionalProperties === "object" ? field.additionalProperties : undefined;
      if (add?.properties) walk(add, `${path}.<name>.`, add.required ?? []);
      if (field.items?.properties) walk(field.items, `${path}[].`, field.items.required ?? []);
    }
  };
  const root = clusterJsonSchema() as Schema;
  walk(root, "", root.required ?? []);
  return `${rows.join("\n")}\n`;
}
