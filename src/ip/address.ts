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

/** Hex value of each ASCII code, -1 for non-hex: one load instead of three compares. */
const HEX = new Int8Array(128).fill(-1);
for (let c = CH_0; c <= CH_9; c++) HEX[c] = c - CH_0;
for (let c = CH_a; c <= CH_f; c++) HEX[c] = c - CH_a + 10;
for (let c = CH_A; c <= CH_F; c++) HEX[c] = c - CH_A + 10;

function hexDigit(c: number): number {
  return c < 128 ? (HEX[c] as number) : -1;
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

/** IPv6 has a ':' within its first six characters (at most 5 hex digits, then ':'); IPv4 never does. */
function looksLikeIPv6(s: string, end: number): boolean {
  const n = end < 6 ? end : 6;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_COLON) return true;
    if (c === CH_DOT) return false;
  }
  return s.indexOf(":") >= 0 && s.indexOf(":") < end;
}

function parseOrReason(s: string, options?: ParseOptions): ParsedIP | string {
  if (typeof s !== "string") return "not a string";
  if (s.length === 0) return "empty string";
  let end = s.length;
  let zone: string | undefined;
  // Zones are rare and refused by default, so only look for '%' when one may be given,
  // or to explain a failure.
  const pct = options?.allowZone ? s.indexOf("%") : -1;
  if (pct >= 0) {
    zone = s.slice(pct + 1);
    if (zone.length === 0) return "empty zone id";
    if (/\s/.test(zone)) return "zone id contains whitespace";
    end = pct;
  }
  if (looksLikeIPv6(s, end)) {
    const value = scanIPv6(s, end);
    if (typeof value === "string")
      return !options?.allowZone && s.includes("%") ? "zone ids are not allowed here" : value;
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
const formatScratch = new Array<number>(8).fill(0);

/**
 * RFC 5952 text: lowercase hex, no leading zeros, the longest run (first on ties) of two
 * or more zero groups written `::`, and IPv4-mapped addresses (`::ffff:0:0/96`) with a
 * dotted tail as section 5 recommends.
 */
function formatIPv6(v: bigint): string {
  if (v >> 32n === IPV4_MAPPED_PREFIX) {
    return `::ffff:${formatIPv4(Number(v & 0xffff_ffffn))}`;
  }
  const g = formatScratch;
  // Four 32-bit words: cheaper than eight BigInt shifts.
  const w0 = Number((v >> 96n) & 0xffff_ffffn);
  const w1 = Number((v >> 64n) & 0xffff_ffffn);
  const w2 = Number((v >> 32n) & 0xffff_ffffn);
  const w3 = Number(v & 0xffff_ffffn);
  g[0] = w0 >>> 16;
  g[1] = w0 & 0xffff;
  g[2] = w1 >>> 16;
  g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16;
  g[5] = w2 & 0xffff;
  g[6] = w3 >>> 16;
  g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && g[i] === 0) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0) {
      if (i - runStart > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart;
      }
      runStart = -1;
    }
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    out += (g[i] as number).toString(16);
    if (i < 7) out += ":";
  }
  return out;
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
