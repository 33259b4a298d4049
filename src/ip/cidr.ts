import { bitsOf, formatIP, maxOf, tryParseIP, type Family } from "./address.ts";
import { InvalidCIDRError, NonCanonicalCIDRError } from "./errors.ts";

/** A parsed `address/prefix`. `ip` is the address as written; `network`..`last` the block. */
export interface CIDR {
  readonly family: Family;
  readonly ip: bigint;
  readonly prefix: number;
  readonly network: bigint;
  readonly last: bigint;
}

function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefix)) - 1n;
}

function prefixOrReason(text: string, max: number): number | string {
  if (text.length === 0) return "empty prefix length";
  if (!/^[0-9]+$/.test(text)) return `prefix length '${text}' is not a decimal number`;
  if (text.length > 1 && text.startsWith("0")) return `prefix length '${text}' has a leading zero`;
  const n = Number(text);
  if (n > max) return `prefix length ${n} is greater than ${max}`;
  return n;
}

/** Parses `address/prefix` strictly (no zone, no leading zeros). Throws {@link InvalidCIDRError}. */
export function parseCIDR(s: string): CIDR {
  if (typeof s !== "string") throw new InvalidCIDRError(String(s), "not a string");
  const slash = s.indexOf("/");
  if (slash < 0) throw new InvalidCIDRError(s, "missing '/prefix'");
  if (s.indexOf("/", slash + 1) >= 0) throw new InvalidCIDRError(s, "more than one '/'");
  const ip = tryParseIP(s.slice(0, slash));
  if (ip === undefined) throw new InvalidCIDRError(s, `'${s.slice(0, slash)}' is not an IP address`);
  const prefix = prefixOrReason(s.slice(slash + 1), bitsOf(ip.family));
  if (typeof prefix === "string") throw new InvalidCIDRError(s, prefix);
  const mask = hostMask(ip.family, prefix);
  const network = ip.value & (maxOf(ip.family) ^ mask);
  return { family: ip.family, ip: ip.value, prefix, network, last: network | mask };
}

export function tryParseCIDR(s: string): CIDR | undefined {
  try {
    return parseCIDR(s);
  } catch {
    return undefined;
  }
}

/** `network/prefix` text of the block. */
export function formatCIDR(c: Pick<CIDR, "family" | "network" | "prefix">): string {
  return `${formatIP(c.family, c.network)}/${c.prefix}`;
}

/** True when `s` is a CIDR written as its own network address (`10.0.0.0/24`, not `10.0.0.1/24`). */
export function isCanonicalCIDR(s: string): boolean {
  const c = tryParseCIDR(s);
  return c !== undefined && c.ip === c.network && formatCIDR(c) === s;
}

/**
 * Parses a CIDR that must be written exactly in its canonical network form, as the
 * upstream webhook requires (it compares the text with Go's String()): host bits and
 * other spellings (`2001:DB8::/32`) are refused, and the error names the canonical text.
 */
export function parseCanonicalCIDR(s: string): CIDR {
  const c = parseCIDR(s);
  const canonical = formatCIDR(c);
  if (canonical !== s) throw new NonCanonicalCIDRError(s, canonical);
  return c;
}

/** Number of addresses in the block (an IPv6 /64 has 2^64). */
export function cidrSize(c: Pick<CIDR, "family" | "prefix">): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

export function cidrContainsIP(c: CIDR, family: Family, value: bigint): boolean {
  return c.family === family && value >= c.network && value <= c.last;
}

/** True when either block contains the other (CIDR blocks never partially overlap). */
export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  return a.family === b.family && a.network <= b.last && b.network <= a.last;
}
