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
import { effective } from "./webhooks/rules.ts";
import { parseAllocatedIPs } from "../ipam/pool-state.ts";

export const INT64_MAX = 9223372036854775807n;

/** An address count as the int64 the API carries (the CRD field is int64). */
export function cappedCount(n: bigint): number {
  // Known gap: above 2^53 a JavaScript number is not exact, so an IPv6 pool of 2^63
  // addresses is written as 9223372036854775808 (docs/compatibility.md).
  return Number(n > INT64_MAX ? INT64_MAX : n);
}

export function totalIPCount(pool: SpiderIPPool): number | undefined {
  const family = pool.spec.ipVersion;
  if (family !== 4 && family !== 6) return undefined;
  const eff = effective(family, pool.spec);
  return eff === undefined ? undefined : cappedCount(eff.size);
}

export type PoolStatusAction =
  { kind: "none" } | { kind: "status"; next: SpiderIPPool } | { kind: "unfinalize"; next: SpiderIPPool };

export function reconcilePool(pool: SpiderIPPool): PoolStatusAction {
  if (pool.metadata.deletionTimestamp !== undefined) {
    const fins = pool.metadata.finalizers ?? [];
    if (!fins.includes(SPIDER_FINALIZER)) return { kind: "none" };
    // Records are parsed only here: a live pool's status changes with every allocation.
    let held: number;
    try {
      held = parseAllocatedIPs(pool.status?.allocatedIPs).size;
    } catch {
      return { kind: "none" };
    }
    if (held > 0) return { kind: "none" };
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
