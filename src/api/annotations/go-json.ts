/**
 * Decoding with Go encoding/json's rules, which upstream's annotations are parsed with and
 * which users' manifests therefore rely on: object keys match field names
 * case-insensitively (an exact match wins), unknown keys are ignored, `null` leaves a field
 * unset, and a value of the wrong type is an error.
 */

export type FieldKind = "string" | "bool" | "stringList";

export type Decoded<S extends Record<string, FieldKind>> = {
  [K in keyof S]?: S[K] extends "string" ? string : S[K] extends "bool" ? boolean : string[];
};

export class DecodeError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

export function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DecodeError("", `invalid JSON: ${(err as Error).message}`);
  }
}

function decodeField(kind: FieldKind, v: unknown, path: string): string | boolean | string[] {
  switch (kind) {
    case "string":
      if (typeof v !== "string") throw new DecodeError(path, `expected a string, got ${describeJson(v)}`);
      return v;
    case "bool":
      if (typeof v !== "boolean") throw new DecodeError(path, `expected true or false, got ${describeJson(v)}`);
      return v;
    case "stringList": {
      if (!Array.isArray(v)) throw new DecodeError(path, `expected a list of strings, got ${describeJson(v)}`);
      return v.map((item, i) => {
        if (typeof item !== "string") {
          throw new DecodeError(`${path}[${i}]`, `expected a string, got ${describeJson(item)}`);
        }
        return item;
      });
    }
  }
}

/**
 * Decodes one JSON object into the fields of `schema`. As Go: a `null` object decodes to
 * the zero value, a `null` list resets the field, a `null` string or bool leaves it.
 */
export function decodeObject<S extends Record<string, FieldKind>>(v: unknown, schema: S, path: string): Decoded<S> {
  if (v === null) return {} as Decoded<S>;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new DecodeError(path, `expected an object, got ${describeJson(v)}`);
  }
  const names = Object.keys(schema);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    // As in Go, every key that names a field (exactly or case-folded) assigns it: the last wins.
    const field = names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (field === undefined) continue;
    if (value === null) {
      if (schema[field] === "stringList") delete out[field];
      continue;
    }
    const fieldPath = path === "" ? field : `${path}.${field}`;
    out[field] = decodeField(schema[field] as FieldKind, value, fieldPath);
  }
  return out as Decoded<S>;
}

/** A JSON list; `null` decodes to an empty list, as Go's nil slice. */
export function decodeArray(v: unknown, path: string): unknown[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(path, `expected a list, got ${describeJson(v)}`);
  return v;
}
