/**
 * A pool's addresses and records as the allocator sees them, and the two pure steps on
 * them: pick the lowest free address for a pod (or the one it already holds), and drop a
 * pod's records on release. `status.allocatedIPs` stays the JSON string upstream stores.
 */
import type { IPPoolSpec } from "../api/ippool.ts";
import type { Route } from "../api/meta.ts";
import { cappedInt64, type IntValue } from "../api/int64.ts";
import { formatIP, IPRangeSet, parseCIDR, parseIPRange, tryParseIP, type CIDR, type IPRange } from "../ip/index.ts";
import { allocationFailed, recordCapExceeded, usedOut } from "./errors.ts";
import type { Draft } from "./record-set.ts";

export interface PoolRecord {
  pod: string;
  podUid: string;
}

/** Parses `status.allocatedIPs`; absent or empty means no records. Keys become canonical IP text. */
export function parseAllocatedIPs(text: string | undefined): Map<string, PoolRecord> {
  const out = new Map<string, PoolRecord>();
  if (text === undefined || text === "" || text === "null") return out;
  const raw = JSON.parse(text) as Record<string, { pod?: string; podUid?: string }> | null;
  for (const [ip, rec] of Object.entries(raw ?? {})) {
    const parsed = tryParseIP(ip);
    out.set(parsed === undefined ? ip : formatIP(parsed.family, parsed.value), {
      pod: rec?.pod ?? "",
      podUid: rec?.podUid ?? "",
    });
  }
  return out;
}

/** Renders records as upstream does; no records is `undefined` (the field is omitted). */
export function renderAllocatedIPs(records: ReadonlyMap<string, PoolRecord>): string | undefined {
  if (records.size === 0) return undefined;
  const obj: Record<string, PoolRecord> = {};
  for (const [ip, r] of records) obj[ip] = { pod: r.pod, podUid: r.podUid };
  return JSON.stringify(obj);
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

export interface Pick {
  ip: string;
  /** True when the pod already held this address in the pool (an idempotent retry). */
  reused: boolean;
}

/**
 * Spec §1.10: the address this pod already holds in the pool, else the lowest address of
 * the effective set that is neither reserved nor recorded. The record cap counts records.
 */
export function pickAddress(
  pool: string,
  addrs: PoolAddresses,
  records: ReadonlyMap<string, PoolRecord>,
  reserved: IPRangeSet,
  podUid: string,
  maxRecords: number,
): Pick {
  for (const [ip, r] of records) if (r.podUid === podUid) return { ip, reused: true };
  const used = new Set<bigint>();
  for (const ip of records.keys()) {
    const p = tryParseIP(ip);
    if (p !== undefined && p.family === addrs.family) used.add(p.value);
  }
  const free = addrs.effective
    .subtract(reserved.family === addrs.family ? reserved : IPRangeSet.empty(addrs.family))
    .lowestFree(used);
  if (free === undefined) throw usedOut();
  if (records.size + 1 > maxRecords) throw recordCapExceeded(maxRecords, pool);
  return { ip: formatIP(addrs.family, free), reused: false };
}

/**
 * pickAddress over a planned batch: `available` is the pool's effective set minus reserved
 * addresses, computed once per batch; the draft answers "in use" and "held by this pod"
 * from indexes, so a pick costs in the batch and the run of used addresses it skips.
 */
export function pickInDraft(
  pool: string,
  available: IPRangeSet,
  draft: Draft,
  podUid: string,
  maxRecords: number,
): Pick {
  const held = draft.addressOf(podUid);
  if (held !== undefined) return { ip: held, reused: true };
  let from: bigint | undefined;
  if (!draft.hasRemovals) {
    // Without removals in the draft, every address below the first one the base leaves
    // free is taken: start there, and remember it for the next search of this base.
    const base = draft.base;
    const baseFree = available.lowestFree({ has: (v) => base.isUsed(v) }, base.hintFor(available));
    if (baseFree === undefined) throw usedOut();
    base.setHint(available, baseFree);
    from = baseFree;
  }
  const free = available.lowestFree({ has: (v) => draft.isUsed(v) }, from);
  if (free === undefined) throw usedOut();
  if (draft.size + 1 > maxRecords) throw recordCapExceeded(maxRecords, pool);
  return { ip: formatIP(available.family, free), reused: false };
}

/** Removes the records of `ips` that belong to `podUid`; others are never touched (spec §9.5). */
export function releaseRecords(
  records: ReadonlyMap<string, PoolRecord>,
  ips: readonly string[],
  podUid: string,
): { next: Map<string, PoolRecord>; released: string[] } {
  const next = new Map(records);
  const released: string[] = [];
  for (const ip of ips) {
    const p = tryParseIP(ip.includes("/") ? ip.slice(0, ip.indexOf("/")) : ip);
    const key = p === undefined ? ip : formatIP(p.family, p.value);
    const r = next.get(key);
    if (r !== undefined && r.podUid === podUid) {
      next.delete(key);
      released.push(key);
    }
  }
  return { next, released };
}

export interface PoolCandidate {
  name: string;
  addrs: PoolAddresses;
  records: ReadonlyMap<string, PoolRecord>;
}

/**
 * Tries the pools in order and returns the first that yields an address (spec §1.9:
 * multiple pools are fallbacks). When all fail, the error aggregates each pool's reason.
 */
export function pickFromPools(
  family: 4 | 6,
  nic: string,
  pools: readonly PoolCandidate[],
  reserved: IPRangeSet,
  podUid: string,
  maxRecords: number,
): { pool: string; pick: Pick } {
  const errors: Error[] = [];
  for (const p of pools) {
    try {
      return { pool: p.name, pick: pickAddress(p.name, p.addrs, p.records, reserved, podUid, maxRecords) };
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      errors.push(err);
    }
  }
  throw allocationFailed(
    family,
    nic,
    pools.map((p) => p.name),
    errors,
  );
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
