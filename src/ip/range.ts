import { formatIP, tryParseIP, type Family } from "./address.ts";
import { InvalidIPRangeError } from "./errors.ts";

/** An inclusive run of addresses of one family. */
export interface IPRange {
  readonly family: Family;
  readonly start: bigint;
  readonly end: bigint;
}

function rangeOrReason(s: string): IPRange | string {
  if (typeof s !== "string") return "not a string";
  if (s.length === 0) return "empty string";
  if (s.includes("/")) return "a range is 'a' or 'a-b' and takes no '/prefix'";
  const dash = s.indexOf("-");
  if (dash < 0) {
    const ip = tryParseIP(s);
    if (ip === undefined) return `'${s}' is not an IP address`;
    return { family: ip.family, start: ip.value, end: ip.value };
  }
  if (s.indexOf("-", dash + 1) >= 0) return "more than one '-'";
  const a = s.slice(0, dash);
  const b = s.slice(dash + 1);
  const start = tryParseIP(a);
  if (start === undefined) return `start '${a}' is not an IP address`;
  const end = tryParseIP(b);
  if (end === undefined) return `end '${b}' is not an IP address`;
  if (start.family !== end.family) return "start and end are of different IP families";
  if (start.value > end.value) return `start '${a}' is greater than end '${b}'`;
  return { family: start.family, start: start.value, end: end.value };
}

/** Parses the spec's IPRange string: `a` or `a-b`. Throws {@link InvalidIPRangeError}. */
export function parseIPRange(s: string): IPRange {
  const r = rangeOrReason(s);
  if (typeof r === "string") throw new InvalidIPRangeError(String(s), r);
  return r;
}

export function tryParseIPRange(s: string): IPRange | undefined {
  const r = rangeOrReason(s);
  return typeof r === "string" ? undefined : r;
}

/** Canonical text: `a` for a single address, else `a-b`. */
export function formatIPRange(r: IPRange): string {
  const a = formatIP(r.family, r.start);
  return r.start === r.end ? a : `${a}-${formatIP(r.family, r.end)}`;
}

export function rangeSize(r: IPRange): bigint {
  return r.end - r.start + 1n;
}
