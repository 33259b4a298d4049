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
import { sameInt, type IntValue } from "../api/int64.ts";
import { cappedCount, parseAllocatedIPs } from "../ipam/pool-state.ts";

export { cappedCount, INT64_MAX } from "../ipam/pool-state.ts";

export function totalIPCount(pool: SpiderIPPool): IntValue | undefined {
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
  if (sameInt(total, status.totalIPCount) && status.allocatedIPCount !== undefined) return { kind: "none" };
  return {
    kind: "status",
    next: {
      ...pool,
      status: { ...status, ...(total !== undefined ? { totalIPCount: total } : {}), allocatedIPCount: wantAllocated },
    },
  };
}
