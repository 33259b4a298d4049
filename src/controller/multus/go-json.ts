/**
 * JSON text as Go's encoding/json writes it, because the NAD's `spec.config` must be byte
 * for byte what upstream writes (a NAD diff would otherwise rewrite every NAD on upgrade):
 * struct fields keep their declared order (plain objects here keep insertion order), maps
 * (a `GoMap`) are written with sorted keys, and `<`, `>`, `&`, U+2028, U+2029 are escaped.
 */

/** A Go map: its keys are written sorted, as encoding/json does. */
export class GoMap {
  readonly entries: Record<string, unknown>;
  constructor(entries: Record<string, unknown>) {
    this.entries = entries;
  }
}

/** A value parsed from JSON text the way Go's `json.Unmarshal` into `interface{}` holds it. */
export function asGoValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asGoValue);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = asGoValue(x);
    return new GoMap(out);
  }
  return v;
}

const ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026" };

function str(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) =>
    c === "\u2028" ? "\\u2028" : c === "\u2029" ? "\\u2029" : (ESCAPES[c] as string),
  );
}

function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

export function goJson(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return str(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (v instanceof GoMap) {
    const keys = Object.keys(v.entries).sort(compareBytes);
    return `{${keys.map((k) => `${str(k)}:${goJson(v.entries[k])}`).join(",")}}`;
  }
  if (typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${str(k)}:${goJson(x)}`);
    return `{${parts.join(",")}}`;
  }
  return "null";
}
