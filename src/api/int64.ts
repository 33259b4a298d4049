/**
 * Exact int64 in JSON. Kubernetes' int64 fields (a pool's `totalIPCount` is 2^63−1 for a
 * large IPv6 range) do not fit a JavaScript number above 2^53, so:
 *
 * - `parseJson` reads an integer literal that is not a safe integer as a bigint, from its
 *   source text (the reviver's `context.source`); every other value is what JSON.parse gives.
 * - `stringifyJson` writes a bigint as its digits (`JSON.rawJSON`), never quoted.
 * - `int64` is the one form an integer takes in our objects: a number while it is a safe
 *   integer, a bigint beyond. Values in that form compare by value with `===`, which is how
 *   the controllers tell an unchanged status; `sameInt` also accepts other forms.
 *
 * Everything that reads or writes API JSON (the client, the embedded API server, the
 * webhooks) goes through here, so a bigint never meets a plain JSON.stringify (which throws).
 */

/** An integer as our objects hold it: a number while exact, a bigint beyond 2^53−1. */
export type IntValue = number | bigint;

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** The canonical form of an integer: a number when it is a safe integer, else a bigint. */
export function int64(n: bigint | number): IntValue {
  if (typeof n === "number") return n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** A count as the int64 the API carries: capped at 2^63−1, in canonical form. */
export function cappedInt64(n: bigint): IntValue {
  return int64(n > INT64_MAX ? INT64_MAX : n);
}

/** Whether two integers (numbers or bigints, in any form) are the same value; otherwise `===`. */
export function sameInt(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ia = typeof a === "bigint" || (typeof a === "number" && Number.isInteger(a));
  const ib = typeof b === "bigint" || (typeof b === "number" && Number.isInteger(b));
  // A number above 2^53 stands for itself only: 2^63 as a double is not 2^63−1.
  return ia && ib && BigInt(a as number | bigint) === BigInt(b as number | bigint);
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Whether `text` has a run of 16 digits, as every integer beyond 2^53−1 has. Texts without
 * one (nearly all) skip the reviver. Any 16 consecutive characters hold one position on a
 * stride of 16, so only those are looked at, and the run around a digit found there
 * measured: a tenth of the cost of /[0-9]{16}/ on a large list.
 */
export function hasLongDigitRun(text: string): boolean {
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    let end = i;
    while (end + 1 < text.length && isDigit(text.charCodeAt(end + 1))) end++;
    if (end - start + 1 >= 16) return true;
    // The next run starts after end + 1; a stride from end still meets any 16 of them.
    i = end;
  }
  return false;
}

const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

function reviveInt(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && INTEGER_TEXT.test(source) ? BigInt(source) : value;
}

/** JSON.parse, with integers beyond 2^53−1 kept exact as bigints. */
export function parseJson(text: string): unknown {
  // The reviver costs a call per value; texts that cannot hold a long integer do without.
  if (!hasLongDigitRun(text)) return JSON.parse(text) as unknown;
  return JSON.parse(text, reviveInt as (this: unknown, key: string, value: unknown) => unknown) as unknown;
}

// Node 24 has it (ES2026); TypeScript's lib does not declare it yet.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * A value as JSON.stringify should see it: a bigint as its digits (a raw JSON value), anything
 * else as it is. For hot paths that know where their bigints are: stringifyJson's fallback
 * for a bigint it meets is a second pass calling a replacer for every value, ten times the
 * cost of the plain one on a pool's object.
 */
export function jsonReady(value: unknown): unknown {
  return typeof value === "bigint" ? rawJSON(value.toString()) : value;
}

function rawBigInt(_key: string, value: unknown): unknown {
  return jsonReady(value);
}

/**
 * JSON.stringify that writes bigints as JSON integers. Like JSON.stringify, it returns
 * undefined (at run time) for undefined and functions.
 */
export function stringifyJson(value: unknown, space?: string | number): string {
  try {
    // The plain call is the fast path; it throws only when a bigint is inside.
    return JSON.stringify(value, undefined, space);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(value, rawBigInt, space);
  }
}
