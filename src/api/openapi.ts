/**
 * Turns a TypeBox (JSON Schema 2020-12) schema into the OpenAPI v3 dialect that
 * CustomResourceDefinitions accept: `const` becomes `enum`, `anyOf [T, null]` becomes
 * `nullable`, a union of same-typed constants becomes one `enum`, `patternProperties`
 * for string maps becomes `additionalProperties`, and properties are sorted so the output
 * is stable. The structural lint (structural.ts) checks the result.
 */
export type JsonSchema = { [key: string]: unknown };

function isObject(v: unknown): v is JsonSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function collapseUnion(members: JsonSchema[]): JsonSchema | undefined {
  const nonNull = members.filter((m) => m["type"] !== "null");
  const hasNull = nonNull.length !== members.length;
  if (nonNull.length === 1 && hasNull) return { ...(nonNull[0] as JsonSchema), nullable: true };
  const consts = nonNull.every((m) => "const" in m || Array.isArray(m["enum"]));
  const types = new Set(nonNull.map((m) => m["type"]));
  if (consts && types.size === 1 && nonNull.length > 0) {
    const values = nonNull.flatMap((m) => ("const" in m ? [m["const"]] : (m["enum"] as unknown[])));
    const out: JsonSchema = { type: nonNull[0]?.["type"], enum: values };
    if (hasNull) out["nullable"] = true;
    return out;
  }
  return undefined;
}

export function toOpenAPI(schema: unknown): JsonSchema {
  if (!isObject(schema)) throw new TypeError("schema node is not an object");
  let node: JsonSchema = schema;
  if (Array.isArray(node["anyOf"])) {
    const collapsed = collapseUnion(node["anyOf"] as JsonSchema[]);
    if (collapsed !== undefined) {
      const { anyOf: _drop, ...rest } = node;
      node = { ...rest, ...collapsed };
    }
  }
  const out: JsonSchema = {};
  for (const key of Object.keys(node).sort()) {
    if (key.startsWith("~") || key === "$id" || key === "$schema") continue;
    const value = node[key];
    switch (key) {
      case "const":
        out["enum"] = [value];
        break;
      case "properties": {
        const props: JsonSchema = {};
        for (const name of Object.keys(value as JsonSchema).sort()) {
          props[name] = toOpenAPI((value as JsonSchema)[name]);
        }
        out["properties"] = props;
        break;
      }
      case "patternProperties": {
        const entries = Object.values(value as JsonSchema);
        if (entries.length === 1) out["additionalProperties"] = toOpenAPI(entries[0]);
        else out["patternProperties"] = value;
        break;
      }
      case "items":
      case "not":
        out[key] = Array.isArray(value) ? value.map(toOpenAPI) : toOpenAPI(value);
        break;
      case "additionalProperties":
        out[key] = isObject(value) ? toOpenAPI(value) : value;
        break;
      case "anyOf":
      case "allOf":
      case "oneOf":
        out[key] = (value as unknown[]).map(toOpenAPI);
        break;
      case "required":
        if (Array.isArray(value) && value.length > 0) out[key] = [...(value as string[])].sort();
        break;
      default:
        out[key] = value;
    }
  }
  return sortKeys(out);
}

/** Keys in alphabetical order, as controller-gen writes them, so diffs stay readable. */
export function sortKeys(node: JsonSchema): JsonSchema {
  const sorted: JsonSchema = {};
  for (const key of Object.keys(node).sort()) sorted[key] = node[key];
  return sorted;
}
