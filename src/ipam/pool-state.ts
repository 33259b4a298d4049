/**
 * A pool's addresses and records as the allocator sees them, and the two pure steps on
 * them: pick the lowest free address for a pod (or the one it already holds), and drop a
 * pod's records on release. `status.allocatedIPs` stays the JSON string upstream stores.
 */
import type { IPPoolSpec } from "../api/ippool.ts";
import type { Route } from "../api/meta.ts";
import { cappedInt64, type IntValue } from "../api/int64.ts";
import { formatIP, IPRangeSet, parseCIDR, parseIPRange, tryParseIP, type CIDR, type IPRange } from "../ip/index.ts";

export interface PoolRecord {
  pod: string;
  podUid: string;
}

interface AddressKey {
  key: string;
  family: 4 | 6;
  value: bigint;
}

// The same address texts come back in every version of a pool; parsing them once saves
// most of the cost of reading a big pool. Bounded: cleared when it would outgrow memory.
const KEY_MEMO_CAP = 1 << 18;
const keyMemo = new Map<string, AddressKey | null>();

/** An address text's canonical form and value; `undefined` when it is not an address. */
export function parseKey(text: string): AddressKey | undefined {
  const hit = keyMemo.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const p = tryParseIP(text);
  const k = p === undefined ? null : { key: formatIP(p.family, p.value), family: p.family, value: p.value };
  if (keyMemo.size >= KEY_MEMO_CAP) keyMemo.clear();
  keyMemo.set(text, k);
  return k ?? undefined;
}

/** Records a text the caller formatted from `value` as its own canonical key, so parseKey finds it without parsing. */
export function rememberKey(text: string, family: 4 | 6, value: bigint): void {
  if (keyMemo.size >= KEY_MEMO_CAP) keyMemo.clear();
  keyMemo.set(text, { key: text, family, value });
}

export type RawAllocatedIPs = Record<string, { pod?: string; podUid?: string } | null>;

/** `status.allocatedIPs` as written, keys not yet canonical; absent, empty or null is no records. */
export function parseRawAllocatedIPs(text: string | undefined): RawAllocatedIPs {
  if (text === undefined || text === "" || text === "null") return {};
  const raw = JSON.parse(text) as unknown;
  if (raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new TypeError("allocatedIPs is not a JSON object");
  return raw as RawAllocatedIPs;
}

/** Parses `status.allocatedIPs`; absent or empty means no records. Keys become canonical IP text. */
export function parseAllocatedIPs(text: string | undefined): Map<string, PoolRecord> {
  const out = new Map<string, PoolRecord>();
  const raw = parseRawAllocatedIPs(text);
  for (const ip in raw) {
    const rec = raw[ip];
    out.set(parseKey(ip)?.key ?? ip, { pod: rec?.pod ?? "", podUid: rec?.podUid ?? "" });
  }
  return out;
}

export interface PoolAddresses {
  family: 4 | 6;
  subnet: CIDR;
  /** `ips` minus `excludeIPs`. */
  effective: IPRangeSet;
  gateway?: string;
  routes: Route[];
}

/** The address view of a pool spec (computed once per spec version by callers that cache). */
export function poolAddresses(spec: IPPoolSpec): PoolAddresses {
  const subnet = parseCIDR(spec.subnet);
  const family = subnet.family;
  const ips = IPRangeSet.parse(family, spec.ips ?? []);
  const excluded = IPRangeSet.parse(family, spec.excludeIPs ?? []);
  const out: PoolAddresses = { family, subnet, effective: ips.subtract(excluded), routes: spec.routes ?? [] };
  if (spec.gateway !== undefined && spec.gateway !== "") out.gateway = spec.gateway;
  return out;
}

export { INT64_MAX } from "../api/int64.ts";

/**
 * An address count as the int64 the API carries (the CRD fields are int64): capped at
 * 2^63−1, a number while exact and a bigint beyond (api/int64.ts writes it exactly).
 */
export function cappedCount(n: bigint): IntValue {
  return cappedInt64(n);
}

/** Every reserved address of a family, from all non-terminating SpiderReservedIPs. */
export function reservedAddresses(
  family: 4 | 6,
  items: Iterable<{ metadata: { deletionTimestamp?: string }; spec?: { ips?: string[] } }>,
): IPRangeSet {
  const ranges: IPRange[] = [];
  for (const r of items) {
    if (r.metadata.deletionTimestamp !== undefined) continue;
    for (const s of r.spec?.ips ?? []) {
      try {
        const range = parseIPRange(s);
        if (range.family === family) ranges.push(range);
      } catch {
        // The webhook refuses malformed ranges; one that slipped through reserves nothing.
      }
    }
  }
  return IPRangeSet.fromRanges(family, ranges);
}
