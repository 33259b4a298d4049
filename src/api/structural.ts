/**
 * A lint for the structural-schema rules of apiextensions.k8s.io/v1, so a CRD we ship is
 * one the API server accepts and prunes as intended. It checks what the API server
 * checks for structural schemas, plus type/enum/default consistency that the API server
 * would only reveal later as confusing defaulting or validation errors.
 */
import type { JsonSchema } from "./openapi.ts";

export interface LintProblem {
  readonly path: string;
  readonly message: string;
}

const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);
const FORBIDDEN = [
  "$ref",
  "$schema",
  "$id",
  "$defs",
  "const",
  "definitions",
  "dependencies",
  "patternProperties",
  "additionalItems",
  "id",
];
const NOT_IN_JUNCTOR = [
  "type",
  "description",
  "default",
  "nullable",
  "additionalProperties",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
];
const JUNCTORS = ["anyOf", "allOf", "oneOf", "not"];
const FORMATS: Readonly<Record<string, string>> = {
  int32: "integer",
  int64: "integer",
  float: "number",
  double: "number",
  byte: "string",
  binary: "string",
  date: "string",
  "date-time": "string",
  password: "string",
  uri: "string",
  uuid: "string",
  hostname: "string",
  ipv4: "string",
  ipv6: "string",
  cidr: "string",
  mac: "string",
  duration: "string",
  email: "string",
};

function isObject(v: unknown): v is JsonSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function valueMatchesType(type: unknown, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "object":
      return isObject(v);
    default:
      return true;
  }
}

function lintNode(node: unknown, path: string, inJunctor: boolean, out: LintProblem[]): void {
  const report = (message: string, at = path): void => void out.push({ path: at, message });
  if (!isObject(node)) {
    report("schema is not an object");
    return;
  }
  for (const key of FORBIDDEN) if (key in node) report(`'${key}' is not allowed in a structural schema`);
  for (const key of Object.keys(node)) {
    if (key.startsWith("x-kubernetes-") || key.startsWith("~")) continue;
    if (key.startsWith("x-")) report(`unknown extension '${key}'`);
  }

  const type = node["type"];
  const preserve = node["x-kubernetes-preserve-unknown-fields"];
  const intOrString = node["x-kubernetes-int-or-string"];
  if (preserve !== undefined && preserve !== true) report("x-kubernetes-preserve-unknown-fields must be true when set");
  if (intOrString !== undefined && intOrString !== true) report("x-kubernetes-int-or-string must be true when set");

  if (inJunctor) {
    for (const key of NOT_IN_JUNCTOR) if (key in node) report(`'${key}' must not be set inside anyOf/allOf/oneOf/not`);
  } else if (type === undefined) {
    if (intOrString !== true && preserve !== true) report("type is required (structural schema)");
  } else if (Array.isArray(type)) {
    report("type must be a single string, not a list");
  } else if (typeof type !== "string" || !TYPES.has(type)) {
    report(`type '${String(type)}' is not one of ${[...TYPES].join(", ")}`);
  }

  if ("nullable" in node && typeof node["nullable"] !== "boolean") report("nullable must be a boolean");
  for (const key of ["exclusiveMinimum", "exclusiveMaximum"]) {
    if (key in node && typeof node[key] !== "boolean") report(`${key} must be a boolean in OpenAPI v3.0`);
  }
  if (typeof node["format"] === "string" && !inJunctor) {
    const want = FORMATS[node["format"]];
    if (want === undefined) report(`unknown format '${node["format"]}'`);
    else if (type !== undefined && want !== type)
      report(`format '${node["format"]}' applies to ${want}, not ${String(type)}`);
  }
  if ("enum" in node) {
    const values = node["enum"];
    if (!Array.isArray(values) || values.length === 0) report("enum must be a non-empty list");
    else if (type !== undefined) {
      values.forEach((v, i) => {
        if (!valueMatchesType(type, v))
          report(`enum value ${JSON.stringify(v)} is not of type ${String(type)}`, `${path}.enum[${i}]`);
      });
    }
  }
  if ("default" in node && type !== undefined) {
    const d = node["default"];
    if (!valueMatchesType(type, d)) report(`default ${JSON.stringify(d)} is not of type ${String(type)}`);
    else if (Array.isArray(node["enum"]) && !(node["enum"] as unknown[]).some((e) => e === d)) {
      report(`default ${JSON.stringify(d)} is not one of the enum values`);
    }
    if (typeof d === "number" && typeof node["minimum"] === "number" && d < node["minimum"])
      report("default is below minimum");
    if (typeof d === "number" && typeof node["maximum"] === "number" && d > node["maximum"])
      report("default is above maximum");
  }

  const listType = node["x-kubernetes-list-type"];
  if (listType !== undefined) {
    if (!["atomic", "set", "map"].includes(String(listType)))
      report(`x-kubernetes-list-type '${String(listType)}' is not atomic, set or map`);
    if (type !== "array") report("x-kubernetes-list-type applies only to arrays");
  }
  const mapType = node["x-kubernetes-map-type"];
  if (mapType !== undefined) {
    if (!["atomic", "granular"].includes(String(mapType)))
      report(`x-kubernetes-map-type '${String(mapType)}' is not atomic or granular`);
    if (type !== "object") report("x-kubernetes-map-type applies only to objects");
  }

  const props = node["properties"];
  const additional = node["additionalProperties"];
  if (props !== undefined && additional !== undefined)
    report("properties and additionalProperties are mutually exclusive");
  if (additional === false) report("additionalProperties: false is not allowed; unknown fields are pruned instead");
  if (props !== undefined) {
    if (!isObject(props)) report("properties must be an object");
    else {
      if (type !== undefined && type !== "object") report(`properties set on a schema of type ${String(type)}`);
      for (const [name, child] of Object.entries(props)) lintNode(child, `${path}.properties.${name}`, inJunctor, out);
    }
  }
  if (isObject(additional)) lintNode(additional, `${path}.additionalProperties`, inJunctor, out);

  if ("required" in node) {
    const req = node["required"];
    if (!Array.isArray(req) || !req.every((r) => typeof r === "string")) report("required must be a list of strings");
    else if (isObject(props)) {
      for (const r of req as string[]) if (!(r in props)) report(`required field '${r}' is not in properties`);
    }
  }

  const items = node["items"];
  if (type === "array" && items === undefined && !inJunctor) report("arrays must declare items");
  if (items !== undefined) {
    if (Array.isArray(items)) report("items must be a single schema, not a list (tuple validation is not structural)");
    else lintNode(items, `${path}.items`, inJunctor, out);
  }

  for (const j of JUNCTORS) {
    if (!(j in node)) continue;
    const v = node[j];
    if (j === "not") lintNode(v, `${path}.not`, true, out);
    else if (!Array.isArray(v)) report(`${j} must be a list`);
    else v.forEach((child, i) => lintNode(child, `${path}.${j}[${i}]`, true, out));
  }
}

/**
 * Lints the root openAPIV3Schema of a CRD version. Besides the per-node rules, the root
 * must be an object and `metadata` may restrict only `name` and `generateName`.
 */
export function lintStructural(root: JsonSchema): LintProblem[] {
  const out: LintProblem[] = [];
  if (root["type"] !== "object") out.push({ path: "", message: "the root schema must be of type object" });
  const metadata = isObject(root["properties"]) ? root["properties"]["metadata"] : undefined;
  if (isObject(metadata)) {
    const mprops = metadata["properties"];
    if (isObject(mprops)) {
      for (const k of Object.keys(mprops)) {
        if (k !== "name" && k !== "generateName") {
          out.push({
            path: `.properties.metadata.properties.${k}`,
            message: "metadata may restrict only name and generateName",
          });
        }
      }
    }
    if ("default" in metadata) out.push({ path: ".properties.metadata", message: "metadata must not have a default" });
  }
  lintNode(root, "", false, out);
  return out;
}
