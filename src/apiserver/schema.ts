/**
 * What kube-apiserver does with a custom resource against its CRD's openAPIV3Schema:
 * prune unknown fields (unless x-kubernetes-preserve-unknown-fields), drop nulls that are
 * not nullable, apply defaults, then validate (types, enums, bounds, required). Messages
 * follow kube-apiserver's wording so tests read the same against either. Integers beyond
 * 2^53−1 arrive as bigints (api/int64.ts) and are integers here like any other.
 */
import { INT64_MAX, INT64_MIN, stringifyJson } from "../api/int64.ts";

export type FieldErrorType =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueTypeInvalid"
  | "FieldValueForbidden"
  | "FieldValueDuplicate"
  | "FieldValueTooLong";

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The text after `<field>: `, as in kube-apiserver's causes. */
  message: string;
}

export type Schema = Record<string, unknown>;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : (stringifyJson(v) ?? String(v));
}

function typeOfJson(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "bigint") return "integer";
  return typeof v;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Prunes and defaults in place; returns the paths of dropped unknown fields. */
export function pruneAndDefault(
  value: unknown,
  schema: Schema,
  path: string,
  unknown: string[],
  isRoot = false,
): unknown {
  if (schema["x-kubernetes-int-or-string"] === true) return value;
  if (Array.isArray(value)) {
    const items = schema["items"];
    if (isObj(items)) {
      for (let i = 0; i < value.length; i++) {
        if (value[i] === null && items["nullable"] !== true) continue;
        value[i] = pruneAndDefault(value[i], items, `${path}[${i}]`, unknown);
      }
    }
    return value;
  }
  if (!isObj(value)) return value;
  const props = isObj(schema["properties"]) ? schema["properties"] : undefined;
  const additional = schema["additionalProperties"];
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const key of Object.keys(value)) {
    if (isRoot && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
    const child = props?.[key];
    const childSchema = isObj(child) ? child : isObj(additional) ? additional : undefined;
    if (childSchema === undefined) {
      if (!preserve && additional !== true) {
        unknown.push(join(path, key));
        delete value[key];
      }
      continue;
    }
    if (value[key] === null && childSchema["nullable"] !== true) {
      delete value[key];
      continue;
    }
    value[key] = pruneAndDefault(value[key], childSchema, join(path, key), unknown);
  }
  if (props !== undefined) {
    for (const [key, child] of Object.entries(props)) {
      if (isRoot && key === "metadata") continue;
      if (!(key in value) && isObj(child) && "default" in child) value[key] = structuredClone(child["default"]);
    }
  }
  return value;
}

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

/** Validates a pruned, defaulted value; appends kube-style field errors. */
export function validateValue(
  value: unknown,
  schema: Schema,
  path: string,
  errors: FieldError[],
  isRoot = false,
): void {
  const at = path === "" ? "<root>" : path;
  if (value === null) {
    if (schema["nullable"] !== true) {
      errors.push({
        type: "FieldValueTypeInvalid",
        field: at,
        message: `Invalid value: "null": ${at} in body must be of type ${String(schema["type"] ?? "object")}: "null"`,
      });
    }
    return;
  }
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (typeof value !== "string" && typeOfJson(value) !== "integer") {
      errors.push({
        type: "FieldValueTypeInvalid",
        field: at,
        message: `Invalid value: ${show(value)}: ${at} in body must be of type integer or string`,
      });
    }
    return;
  }
  const type = schema["type"];
  const actual = typeOfJson(value);
  if (typeof type === "string") {
    const ok = type === actual || (type === "number" && actual === "integer");
    if (!ok) {
      errors.push({
        type: "FieldValueTypeInvalid",
        field: at,
        message: `Invalid value: "${actual}": ${at} in body must be of type ${type}: "${actual}"`,
      });
      return;
    }
  }
  if (
    Array.isArray(schema["enum"]) &&
    !(schema["enum"] as unknown[]).some((e) => stringifyJson(e) === stringifyJson(value))
  ) {
    const supported = (schema["enum"] as unknown[]).map((e) => `"${String(e)}"`).join(", ");
    errors.push({
      type: "FieldValueNotSupported",
      field: at,
      message: `Unsupported value: ${show(value)}: supported values: ${supported}`,
    });
  }
  if (typeof value === "number" || typeof value === "bigint") {
    const min = schema["minimum"];
    const max = schema["maximum"];
    if (typeof min === "number" && (schema["exclusiveMinimum"] === true ? value <= min : value < min)) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${value}: ${at} in body should be greater than ${schema["exclusiveMinimum"] === true ? "" : "or equal to "}${min}`,
      });
    }
    if (typeof max === "number" && (schema["exclusiveMaximum"] === true ? value >= max : value > max)) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${value}: ${at} in body should be less than ${schema["exclusiveMaximum"] === true ? "" : "or equal to "}${max}`,
      });
    }
    if (schema["format"] === "int32" && (value < INT32[0] || value > INT32[1])) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${value}: ${at} in body must be of type int32`,
      });
    }
    if (schema["format"] === "int64" && (value < INT64_MIN || value > INT64_MAX)) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${value}: ${at} in body must be of type int64`,
      });
    }
  }
  if (typeof value === "string") {
    const maxLength = schema["maxLength"];
    const minLength = schema["minLength"];
    if (typeof maxLength === "number" && value.length > maxLength) {
      errors.push({ type: "FieldValueTooLong", field: at, message: `Too long: may not be longer than ${maxLength}` });
    }
    if (typeof minLength === "number" && value.length < minLength) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${show(value)}: ${at} in body should be at least ${minLength} chars long`,
      });
    }
    const pattern = schema["pattern"];
    if (typeof pattern === "string" && !new RegExp(pattern, "u").test(value)) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${show(value)}: ${at} in body should match '${pattern}'`,
      });
    }
  }
  if (Array.isArray(value)) {
    const maxItems = schema["maxItems"];
    const minItems = schema["minItems"];
    if (typeof maxItems === "number" && value.length > maxItems) {
      errors.push({
        type: "FieldValueTooLong",
        field: at,
        message: `Too many: ${value.length}: must have at most ${maxItems} items`,
      });
    }
    if (typeof minItems === "number" && value.length < minItems) {
      errors.push({
        type: "FieldValueInvalid",
        field: at,
        message: `Invalid value: ${value.length}: ${at} in body should have at least ${minItems} items`,
      });
    }
    const items = schema["items"];
    if (isObj(items)) value.forEach((v, i) => validateValue(v, items, `${path}[${i}]`, errors));
    return;
  }
  if (isObj(value)) {
    const props = isObj(schema["properties"]) ? schema["properties"] : {};
    for (const req of (schema["required"] as string[] | undefined) ?? []) {
      if (!(req in value))
        errors.push({ type: "FieldValueRequired", field: join(path, req), message: "Required value" });
    }
    const additional = schema["additionalProperties"];
    for (const [k, v] of Object.entries(value)) {
      if (isRoot && (k === "apiVersion" || k === "kind" || k === "metadata")) continue;
      const child = props[k];
      if (isObj(child)) validateValue(v, child, join(path, k), errors);
      else if (isObj(additional)) validateValue(v, additional, `${path}[${k}]`, errors);
    }
  }
}

export interface PreparedObject {
  errors: FieldError[];
  unknownFields: string[];
}

/** Prunes, defaults and validates a whole custom resource in place. */
export function prepareCustomResource(obj: Record<string, unknown>, schema: Schema): PreparedObject {
  const unknownFields: string[] = [];
  pruneAndDefault(obj, schema, "", unknownFields, true);
  const errors: FieldError[] = [];
  validateValue(obj, schema, "", errors, true);
  return { errors, unknownFields };
}
