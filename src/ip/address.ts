import { InvalidIPError } from "./errors.ts";

export type Family = 4 | 6;

/** An address as its family and its value as an unsigned integer (IPv6 needs 128 bits). */
export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface ParseOptions {
  /** Accept an IPv6 zone id (`fe80::1%eth0`). Off by default: pools never carry zones. */
  readonly allowZone?: boolean;
}

export interface ParsedIP extends IP {
  /** The zone id, when one was given and allowed. */
  readonly zone?: string;
}

export const IPV4_MAX = 0xffff_ffffn;
export const IPV6_MAX = (1n << 128n) - 1n;

export function bitsOf(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function maxOf(family: Family): bigint {
  return family === 4 ? IPV4_MAX : IPV6_MAX;
}

const CH_0 = 48;
const CH_9 = 57;
const CH_A = 65;
const CH_F = 70;
const CH_a = 97;
const CH_f = 102;
const CH_DOT = 46;
const CH_COLON = 58;

function hexDigit(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  if (c >= CH_a && c <= CH_f) return c - CH_a + 10;
  if (c >= CH_A && c <= CH_F) return c - CH_A + 10;
  return -1;
}

/**
 * Parses dotted-quad IPv4 between `from` and `to` of `s`. Returns the 32-bit value or a
 * reason string. Strict: exactly four decimal parts, 0..255, no leading zeros (`01.2.3.4`
 * is ambiguous between octal and decimal across tools, so it is refused, as Go does).
 */
function scanIPv4(s: string, from: number, to: number): number | string {
  let value = 0;
  let parts = 0;
  let i = from;
  while (i <= to) {
    const start = i;
    let part = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      part = part * 10 + (c - CH_0);
      i++;
      if (i - start > 3) return "an IPv4 part has more than 3 digits";
    }
    const len = i - start;
    if (len === 0) {
      return i < to && s.charCodeAt(i) !== CH_DOT ? `unexpected character '${s[i]}'` : "an IPv4 part is empty";
    }
    if (len > 1 && s.charCodeAt(start) === CH_0) return "an IPv4 part has a leading zero";
    if (part > 255) return `IPv4 part ${part} is greater than 255`;
    value = value * 256 + part;
    parts++;
    if (i === to) break;
    if (s.charCodeAt(i) !== CH_DOT) return `unexpected character '${s[i]}'`;
    if (parts === 4) return "more than 4 IPv4 parts";
    i++;
    if (i === to) return "an IPv4 part is empty";
  }
  if (parts !== 4) return "an IPv4 address has 4 parts";
  return value;
}

/** Reused by every parse: the scan is synchronous, so one scratch buffer is safe. */
const scratch = new Array<number>(8).fill(0);

/** The value of an IPv6 literal in `s[0..to)`, or a reason string. */
function scanIPv6(s: string, to: number): bigint | string {
  const g = scratch;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (to < 2) return "too short";
  if (s.charCodeAt(0) === CH_COLON) {
    if (s.charCodeAt(1) !== CH_COLON) return "a leading ':' must be part of '::'";
    gap = 0;
    i = 2;
  }
  while (i < to) {
    const start = i;
    let group = 0;
    while (i < to) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      group = group * 16 + d;
      i++;
    }
    const len = i - start;
    if (i < to && s.charCodeAt(i) === CH_DOT) {
      if (n > 6) return "embedded IPv4 address does not fit";
      const v4 = scanIPv4(s, start, to);
      if (typeof v4 === "string") return `embedded IPv4: ${v4}`;
      g[n++] = Math.floor(v4 / 65536);
      g[n++] = v4 % 65536;
      i = to;
      break;
    }
    if (len === 0) return i < to ? `unexpected character '${s[i]}'` : "empty group";
    if (len > 4) return "a group has more than 4 hex digits";
    if (n === 8) return "more than 8 groups";
    g[n++] = group;
    if (i === to) break;
    if (s.charCodeAt(i) !== CH_COLON) return `unexpected character '${s[i]}'`;
    i++;
    if (i < to && s.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return "'::' appears more than once";
      gap = n;
      i++;
    } else if (i === to) {
      return "trailing ':'";
    }
  }
  if (gap < 0) {
    if (n !== 8) return `${n} groups where 8 are needed`;
  } else {
    if (n > 7) return "'::' must stand for at least one group";
    // Shift the groups after the gap to the end and zero the gap, in place.
    const fill = 8 - n;
    for (let k = n - 1; k >= gap; k--) g[k + fill] = g[k] as number;
    for (let k = gap; k < gap + fill; k++) g[k] = 0;
  }
  // Three BigInt conversions instead of eight: numbers hold 48 bits exactly.
  const a = ((g[0] as number) * 65536 + (g[1] as number)) * 65536 + (g[2] as number);
  const b = ((g[3] as number) * 65536 + (g[4] as number)) * 65536 + (g[5] as number);
  const c = (g[6] as number) * 65536 + (g[7] as number);
  return (BigInt(a) << 80n) | (BigInt(b) << 32n) | BigInt(c);
}

function parseOrReason(s: string, options?: ParseOptions): ParsedIP | string {
  if (typeof s !== "string") return "not a string";
  if (s.length === 0) return "empty string";
  let end = s.length;
  let zone: string | undefined;
  const pct = s.indexOf("%");
  if (pct >= 0) {
    if (!options?.allowZone) return "zone ids are not allowed here";
    zone = s.slice(pct + 1);
    if (zone.length === 0) return "empty zone id";
    if (/\s/.test(zone)) return "zone id contains whitespace";
    end = pct;
  }
  const colon = s.indexOf(":");
  if (colon >= 0 && colon < end) {
    const value = scanIPv6(s, end);
    if (typeof value === "string") return value;
    return zone === undefined ? { family: 6, value } : { family: 6, value, zone };
  }
  if (zone !== undefined) return "zone ids apply only to IPv6";
  const v4 = scanIPv4(s, 0, end);
  if (typeof v4 === "string") return v4;
  return { family: 4, value: BigInt(v4) };
}

/** Parses an IPv4 or IPv6 address strictly. Throws {@link InvalidIPError}. */
export function parseIP(s: string, options?: ParseOptions): ParsedIP {
  const r = parseOrReason(s, options);
  if (typeof r === "string") throw new InvalidIPError(String(s), r);
  return r;
}

/** Like {@link parseIP} but returns undefined instead of throwing. */
export function tryParseIP(s: string, options?: ParseOptions): ParsedIP | undefined {
  const r = parseOrReason(s, options);
  return typeof r === "string" ? undefined : r;
}

/** The family of a valid address string, or undefined when it is not one. */
export function familyOfIP(s: string): Family | undefined {
  return tryParseIP(s)?.family;
}

export function isIP(s: string): boolean {
  return tryParseIP(s) !== undefined;
}

export function isIPv4(s: string): boolean {
  return tryParseIP(s)?.family === 4;
}

export function isIPv6(s: string): boolean {
  return tryParseIP(s)?.family === 6;
}

function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const IPV4_MAPPED_PREFIX = 0xffffn;

/**
 * RFC 5952 text: lowercase hex, no leading zeros, the longest run (first on ties) of two
 * or more zero groups written `::`, and IPv4-mapped addresses (`::ffff:0:0/96`) with a
 * dotted tail as section 5 recommends.
 */
function formatIPv6(v: bigint): string {
  if (v >> 32n === IPV4_MAPPED_PREFIX) {
    return `::ffff:${formatIPv4(Number(v & 0xffff_ffffn))}`;
  }
  const w0 = Number((v >> 96n) & 0xffff_ffffn);
  const w1 = Number((v >> 64n) & 0xffff_ffffn);
  const w2 = Number((v >> 32n) & 0xffff_ffffn);
  const w3 = Number(v & 0xffff_ffffn);
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && g[i] === 0) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestStart = runStart;
        bestLen = len;
      }
      runStart = -1;
    }
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(":");
  const head = g.slice(0, bestStart).map((x) => x.toString(16));
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16));
  return `${head.join(":")}::${tail.join(":")}`;
}

/** Canonical text of an address value (RFC 5952 for IPv6). */
export function formatIP(family: Family, value: bigint): string {
  if (value < 0n || value > maxOf(family)) {
    throw new RangeError(`value ${value} out of range for IPv${family}`);
  }
  return family === 4 ? formatIPv4(Number(value)) : formatIPv6(value);
}

/** Re-writes a valid address string in canonical form. */
export function canonicalIP(s: string): string {
  const ip = parseIP(s);
  return formatIP(ip.family, ip.value);
}
