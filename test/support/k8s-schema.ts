// Validates rendered Kubernetes objects against the real API schemas fetched by
// scripts/setup.d/15-schemas.sh: the Kubernetes OpenAPI v3 spec for built-in kinds and
// each CRD's openAPIV3Schema for cert-manager, MetalLB and k3s HelmChart objects.
//
// Stricter than a plain JSON Schema check in the ways the apiserver would silently
// lose data: a field the schema does not declare is an error (the apiserver prunes it
// or, for built-ins, drops it with at most a warning), so is null where the schema
// does not say nullable. An apiVersion/kind the schemas do not know is an error too.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";

export interface K8sValidator {
  /** Problems with one object, each naming apiVersion/kind/name, the JSON path and the problem; [] when valid. */
  validate(obj: unknown): string[];
  /** Every "apiVersion/Kind" of the loaded CRDs (built-in kinds are looked up on demand). */
  readonly crdKinds: readonly string[];
}

export interface SchemaPaths {
  openapiDir: string;
  crdDir: string;
}

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export const defaultSchemaPaths: SchemaPaths = {
  openapiDir: join(repoRoot, ".testbed/schemas/openapi"),
  crdDir: join(repoRoot, ".testbed/crds"),
};

/** Whether setup has fetched the schemas (tests skip or fail on this, depending on NIXLAB_E2E). */
export function schemasPresent(paths: SchemaPaths = defaultSchemaPaths): boolean {
  return (
    existsSync(join(paths.openapiDir, "api__v1_openapi.json")) &&
    existsSync(paths.crdDir) &&
    readdirSync(paths.crdDir).some((f) => f.endsWith(".yaml"))
  );
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

// Ajv ids only; nothing is ever fetched from them.
const ID_BASE = "https://k8s-schema.invalid";
const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const coreId = `${ID_BASE}/api/v1`;
const objectMetaRef: Schema = { $ref: `${coreId}#/components/schemas/${OBJECT_META}` };

// Keys that document or drive client tooling but never constrain a value.
const DROPPED = new Set([
  "description",
  "default",
  "example",
  "externalDocs",
  "x-kubernetes-group-version-kind",
  "x-kubernetes-unions",
  "x-kubernetes-patch-strategy",
  "x-kubernetes-patch-merge-key",
  "x-kubernetes-map-type",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "nullable",
]);

function isSchema(v: Json | undefined): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Rewrites one Kubernetes schema into plain JSON Schema with the apiserver's semantics:
 * - undeclared fields are errors, except under x-kubernetes-preserve-unknown-fields
 *   (for built-ins, an object schema with no properties at all is an opaque type such as
 *   RawExtension or FieldsV1 and stays free-form; for CRDs it is structural and prunes
 *   everything, so it admits nothing);
 * - x-kubernetes-int-or-string becomes integer|string, nullable becomes a null branch;
 * - x-kubernetes-embedded-resource gets the implied apiVersion/kind/metadata.
 */
function normalize(s: Schema, crd: boolean): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROPPED.has(k)) continue;
    if (k === "properties" && isSchema(v)) {
      const props: Schema = {};
      for (const [name, sub] of Object.entries(v)) if (isSchema(sub)) props[name] = normalize(sub, crd);
      out.properties = props;
    } else if ((k === "items" || k === "additionalProperties" || k === "not") && isSchema(v)) {
      out[k] = normalize(v, crd);
    } else if ((k === "allOf" || k === "anyOf" || k === "oneOf") && Array.isArray(v)) {
      out[k] = v.map((sub) => (isSchema(sub) ? normalize(sub, crd) : sub));
    } else {
      out[k] = v;
    }
  }

  if (s["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    if (!out.anyOf && !out.oneOf) out.anyOf = [{ type: "integer" }, { type: "string" }];
  }

  if (s["x-kubernetes-embedded-resource"] === true) {
    const props = isSchema(out.properties) ? out.properties : {};
    props.apiVersion ??= { type: "string" };
    props.kind ??= { type: "string" };
    props.metadata = objectMetaRef;
    out.properties = props;
    const required = Array.isArray(out.required) ? out.required : [];
    out.required = [...new Set([...required, "apiVersion", "kind"])];
  }

  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  const isObject = out.type === "object" || (out.type === undefined && isSchema(out.properties));
  if (isObject && out.additionalProperties === undefined && !preserve) {
    if (crd || isSchema(out.properties)) out.additionalProperties = false;
  }

  if (s.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: "null" }];
    else if (Array.isArray(out.oneOf)) out.oneOf = [...out.oneOf, { type: "null" }];
  }
  return out;
}

interface BuiltinKind {
  schema: string; // components.schemas key
  namespaced: boolean;
}

interface KindValidator {
  check: ValidateFunction;
  namespaced: boolean;
}

interface Crd {
  group: string;
  kind: string;
  scope: string;
  versions: { name: string; served: boolean; schema: Schema }[];
}

function loadCrds(dir: string): Map<string, Crd> {
  const byGvk = new Map<string, Crd>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".yaml") && !file.endsWith(".yml")) continue;
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      const crd = doc.toJS() as {
        kind?: string;
        spec?: {
          group: string;
          scope: string;
          names: { kind: string };
          versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: Schema } }[];
        };
      } | null;
      if (crd?.kind !== "CustomResourceDefinition" || !crd.spec) continue;
      const { group, scope, names, versions } = crd.spec;
      const entry: Crd = {
        group,
        kind: names.kind,
        scope,
        versions: versions.map((v) => ({
          name: v.name,
          served: v.served,
          schema: v.schema?.openAPIV3Schema ?? {},
        })),
      };
      for (const v of versions) byGvk.set(`${group}/${v.name}/${names.kind}`, entry);
    }
  }
  return byGvk;
}

/** "apps/v1" → apis__apps__v1_openapi.json, "v1" → api__v1_openapi.json (the spec's own naming). */
function openapiFile(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `api__${apiVersion}_openapi.json`;
  return `apis__${apiVersion.slice(0, slash)}__${apiVersion.slice(slash + 1)}_openapi.json`;
}

const isRfc3339 = (s: string) =>
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
// Go's base64 decoder (used for []byte fields) skips CR/LF.
const isBase64 = (s: string) =>
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s.replace(/[\r\n]/g, ""));

function newAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false, // x-kubernetes-* keywords sit in every schema
    validateSchema: false,
    unicodeRegExp: false, // CRD patterns are Go RE2, which allows escapes unicode-mode JS rejects
    verbose: true,
  });
  // The formats the schemas in use declare; any other format is not checked by the apiserver either.
  ajv.addFormat("int32", {
    type: "number",
    validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n) => Number.isInteger(n) });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addFormat("float", { type: "number", validate: () => true });
  ajv.addFormat("date-time", { type: "string", validate: isRfc3339 });
  ajv.addFormat("byte", { type: "string", validate: isBase64 });
  ajv.addFormat("int-or-string", true);

  ajv.addKeyword({
    keyword: "x-kubernetes-list-type",
    type: "array",
    schemaType: "string",
    errors: true,
    validate: function listType(listKind: string, data: Json[], parent?: Schema, cxt?: { instancePath: string }) {
      const keys = Array.isArray(parent?.["x-kubernetes-list-map-keys"])
        ? (parent["x-kubernetes-list-map-keys"] as string[])
        : [];
      const identity = (item: Json): string | undefined => {
        if (listKind === "set") return JSON.stringify(item);
        if (listKind === "map" && isSchema(item)) return JSON.stringify(keys.map((k) => item[k] ?? null));
        return undefined;
      };
      const seen = new Map<string, number>();
      const errors: Partial<ErrorObject>[] = [];
      data.forEach((item, i) => {
        const id = identity(item);
        if (id === undefined) return;
        const first = seen.get(id);
        if (first === undefined) seen.set(id, i);
        else
          errors.push({
            keyword: "x-kubernetes-list-type",
            instancePath: `${cxt?.instancePath ?? ""}/${i}`,
            message:
              listKind === "set"
                ? `duplicate entry (same as item ${first}) in a set-type list`
                : `duplicate entry for key ${keys.join("+")} (same as item ${first}) in a map-type list`,
          });
      });
      (listType as { errors?: Partial<ErrorObject>[] }).errors = errors;
      return errors.length === 0;
    },
  });
  ajv.addKeyword({ keyword: "x-kubernetes-list-map-keys" });

  // CEL rules cannot be evaluated here. Transition rules (oldSelf) never run on create, so
  // they are irrelevant to rendered objects; any other rule on a field the object sets is
  // reported rather than passed, so nothing is silently called valid.
  ajv.addKeyword({
    keyword: "x-kubernetes-validations",
    errors: true,
    validate: function celRules(rules: { rule: string }[]) {
      const unchecked = rules.filter((r) => !/\boldSelf\b/.test(r.rule));
      (celRules as { errors?: Partial<ErrorObject>[] }).errors = unchecked.map((r) => ({
        keyword: "x-kubernetes-validations",
        message: `has a CEL rule this validator cannot evaluate: ${r.rule}`,
      }));
      return unchecked.length === 0;
    },
  });
  return ajv;
}

function jsonPath(instancePath: string): string {
  if (instancePath === "") return "(root)";
  return instancePath
    .split("/")
    .slice(1)
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((seg) =>
      /^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$-]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`,
    )
    .join("");
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function preview(v: unknown): string {
  const json = JSON.stringify(v) ?? String(v);
  const shown = json.length > 80 ? `${json.slice(0, 77)}...` : json;
  return v === null || Array.isArray(v) || typeof v === "object" ? shown : `${typeName(v)} ${shown}`;
}

function describe(errors: ErrorObject[]): string[] {
  // An int-or-string/quantity mismatch fails both branches; say it once as "integer or string".
  const unionPaths = new Set(
    errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf").map((e) => e.instancePath),
  );
  const out: string[] = [];
  for (const e of errors) {
    const at = e.instancePath;
    if (unionPaths.has(at) && e.keyword === "type") continue;
    const child = (name: string) => jsonPath(`${at}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    switch (e.keyword) {
      case "additionalProperties":
        out.push(
          `${child(String(e.params.additionalProperty))}: unknown field (not in the schema; the apiserver would drop it)`,
        );
        break;
      case "required":
        out.push(`${child(String(e.params.missingProperty))}: required field is missing`);
        break;
      case "type":
        out.push(`${jsonPath(at)}: must be ${[e.params.type].flat().join(" or ")}, got ${preview(e.data)}`);
        break;
      case "oneOf":
      case "anyOf": {
        const branches = Array.isArray(e.schema) ? (e.schema as Schema[]) : [];
        const types = branches.map((b) => b.type).filter((t) => typeof t === "string");
        const want =
          types.length === branches.length && types.length > 0 ? types.join(" or ") : "one of the allowed shapes";
        out.push(`${jsonPath(at)}: must be ${want}, got ${preview(e.data)}`);
        break;
      }
      case "enum":
        out.push(`${jsonPath(at)}: ${JSON.stringify(e.data)} is not one of ${JSON.stringify(e.params.allowedValues)}`);
        break;
      default:
        out.push(
          `${jsonPath(at)}: ${e.message ?? e.keyword}${e.keyword.startsWith("x-kubernetes-") ? "" : ` (got ${preview(e.data)})`}`,
        );
    }
  }
  return [...new Set(out)];
}

/**
 * Loads the CRDs now (≈0.3 s of YAML) and each built-in group/version's OpenAPI file,
 * and each kind's compiled validator, on first use.
 */
export async function loadK8sValidator(paths: SchemaPaths = defaultSchemaPaths): Promise<K8sValidator> {
  if (!schemasPresent(paths)) {
    throw new Error(
      `Kubernetes schemas not found under ${paths.openapiDir} and ${paths.crdDir}; run: bash scripts/setup.d/15-schemas.sh`,
    );
  }
  const crds = loadCrds(paths.crdDir);
  const ajv = newAjv();
  const loadedDocs = new Map<string, Map<string, BuiltinKind> | null>(); // apiVersion → kind → where
  const compiled = new Map<string, KindValidator | string>(); // gvk → validator, or why there is none

  const loadOpenapi = (apiVersion: string): Map<string, BuiltinKind> | null => {
    if (loadedDocs.has(apiVersion)) return loadedDocs.get(apiVersion)!;
    const file = join(paths.openapiDir, openapiFile(apiVersion));
    if (!existsSync(file)) {
      loadedDocs.set(apiVersion, null);
      return null;
    }
    const doc = JSON.parse(readFileSync(file, "utf8")) as {
      components?: { schemas?: Record<string, Schema> };
      paths?: Record<string, Record<string, Schema>>;
    };
    const kinds = new Map<string, BuiltinKind>();
    const schemas: Schema = {};
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      const gvks = schema["x-kubernetes-group-version-kind"];
      if (Array.isArray(gvks)) {
        for (const g of gvks) {
          if (isSchema(g) && g.group === group && g.version === version && typeof g.kind === "string")
            kinds.set(g.kind, { schema: name, namespaced: false });
        }
      }
      schemas[name] = normalize(schema, false);
    }
    // The spec has no scope field; a kind is namespaced when its operations live under /namespaces/{namespace}/.
    for (const [path, ops] of Object.entries(doc.paths ?? {})) {
      if (!path.includes("/namespaces/{namespace}/")) continue;
      for (const op of Object.values(ops)) {
        const g = isSchema(op) ? op["x-kubernetes-group-version-kind"] : undefined;
        if (isSchema(g) && g.group === group && g.version === version && typeof g.kind === "string") {
          const k = kinds.get(g.kind);
          if (k) k.namespaced = true;
        }
      }
    }
    ajv.addSchema({ components: { schemas } }, `${ID_BASE}/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}`);
    loadedDocs.set(apiVersion, kinds);
    return kinds;
  };

  const validatorFor = (apiVersion: string, kind: string): KindValidator | string => {
    const key = `${apiVersion}/${kind}`;
    const cached = compiled.get(key);
    if (cached) return cached;
    let result: KindValidator | string;
    // Every kind may refer to the core ObjectMeta (CR metadata, embedded resources) by absolute $ref.
    loadOpenapi("v1");
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const crd = crds.get(`${group}/${version}/${kind}`);
    if (crd) {
      const v = crd.versions.find((x) => x.name === version)!;
      if (!v.served) result = `version ${version} of ${crd.kind} is not served by its CRD`;
      else {
        const root = normalize(v.schema, true);
        const props = isSchema(root.properties) ? root.properties : {};
        props.metadata = objectMetaRef; // the apiserver validates CR metadata as the real ObjectMeta
        props.apiVersion ??= { type: "string" };
        props.kind ??= { type: "string" };
        root.properties = props;
        result = { check: ajv.compile(root), namespaced: crd.scope === "Namespaced" };
      }
    } else {
      const kinds = loadOpenapi(apiVersion);
      const found = kinds?.get(kind);
      if (!kinds) result = `unknown apiVersion "${apiVersion}" (no OpenAPI spec and no CRD for it)`;
      else if (!found) result = `unknown kind "${kind}" in ${apiVersion}`;
      else {
        const id = `${ID_BASE}/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}`;
        result = {
          check: ajv.compile({ $ref: `${id}#/components/schemas/${found.schema}` }),
          namespaced: found.namespaced,
        };
      }
    }
    compiled.set(key, result);
    return result;
  };

  return {
    crdKinds: [...new Set([...crds.entries()].map(([gvk, c]) => `${c.group}/${gvk.split("/")[1]}/${c.kind}`))].sort(),
    validate(obj: unknown): string[] {
      if (!isSchema(obj as Json)) return [`(object): not a Kubernetes object: ${JSON.stringify(obj)}`];
      const o = obj as Schema;
      const meta = isSchema(o.metadata) ? o.metadata : {};
      const ref = [
        typeof o.apiVersion === "string" ? o.apiVersion : "<no apiVersion>",
        typeof o.kind === "string" ? o.kind : "<no kind>",
        [meta.namespace, meta.name ?? meta.generateName ?? "<no name>"].filter((x) => typeof x === "string").join("/"),
      ].join(" ");
      if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
        return [`${ref}: apiVersion and kind must both be strings`];
      }
      const problems: string[] = [];
      // The apiserver's ObjectMeta validation (not the schema) demands a name.
      if (typeof meta.name !== "string" && typeof meta.generateName !== "string") {
        problems.push(`${ref}: .metadata.name: required field is missing (name or generateName is required)`);
      }
      const validator = validatorFor(o.apiVersion, o.kind);
      if (typeof validator === "string") return [...problems, `${ref}: ${validator}`];
      // For a cluster-scoped kind the apiserver silently clears metadata.namespace.
      if (!validator.namespaced && typeof meta.namespace === "string" && meta.namespace !== "") {
        problems.push(`${ref}: .metadata.namespace: set on a cluster-scoped kind (the apiserver would drop it)`);
      }
      const { check } = validator;
      // Sorted so a report reads in document-path order whatever order the schema walk took.
      if (!check(obj))
        problems.push(
          ...describe(check.errors ?? [])
            .sort()
            .map((p) => `${ref}: ${p}`),
        );
      return problems;
    },
  };
}
