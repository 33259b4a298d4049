/**
 * SpiderIPPool status and finalizer (ipam-behavior §6.2, §4.5): `totalIPCount` is the size of
 * ips − excludeIPs (reserved IPs not subtracted, capped at int64), `allocatedIPCount` starts
 * at 0, and a Terminating pool loses its finalizer only once it holds no record. Writes are
 * preconditioned on the resourceVersion read, so an allocation landing meanwhile makes the
 * write fail and the next event decides again; never does the finalizer go while a record
 * exists.
 */
import { SPIDER_FINALIZER } from "../api/group.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { IPRangeSet } from "../ip/index.ts";
import { parseAllocatedIPs } from "../ipam/pool-state.ts";

export const INT64_MAX = 9223372036854775807n;

export function totalIPCount(pool: SpiderIPPool): number | undefined {
  const family = pool.spec.ipVersion;
  if (family !== 4 && family !== 6) return undefined;
  try {
    const eff = IPRangeSet.parse(family, pool.spec.ips ?? []).subtract(
      IPRangeSet.parse(family, pool.spec.excludeIPs ?? []),
    );
    const n = eff.size > INT64_MAX ? INT64_MAX : eff.size;
    // Known gap: above 2^53 a JavaScript number is not exact, so an IPv6 pool of 2^63
    // addresses is written as 9223372036854775808 (docs/compatibility.md).
    return Number(n);
  } catch {
    return undefined;
  }
}

export type PoolStatusAction =
  { kind: "none" } | { kind: "status"; next: SpiderIPPool } | { kind: "unfinalize"; next: SpiderIPPool };

export function reconcilePool(pool: SpiderIPPool): PoolStatusAction {
  let records: ReadonlyMap<string, unknown>;
  try {
    records = parseAllocatedIPs(pool.status?.allocatedIPs);
  } catch {
    return { kind: "none" };
  }
  if (pool.metadata.deletionTimestamp !== undefined) {
    const fins = pool.metadata.finalizers ?? [];
    if (records.size > 0 || !fins.includes(SPIDER_FINALIZER)) return { kind: "none" };
    return {
      kind: "unfinalize",
      next: { ...pool, metadata: { ...pool.metadata, finalizers: fins.filter((f) => f !== SPIDER_FINALIZER) } },
    };
  }
  const total = totalIPCount(pool);
  const status = pool.status ?? {};
  const wantAllocated = status.allocatedIPCount ?? 0;
  if (total === status.totalIPCount && status.allocatedIPCount !== undefined) return { kind: "none" };
  return {
    kind: "status",
    next: {
      ...pool,
      status: { ...status, ...(total !== undefined ? { totalIPCount: total } : {}), allocatedIPCount: wantAllocated },
    },
  };
}
