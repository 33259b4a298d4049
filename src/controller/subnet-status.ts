/**
 * SpiderSubnet status (ipam-behavior §5.7): `controlledIPPools` rebuilt from the pools the
 * subnet owns, `allocatedIPCount` as the sum of the entries, `totalIPCount` as the size of
 * ips − excludeIPs; adoption of pools with the same CIDR created before the subnet; the
 * finalizer of a Terminating subnet goes only once no pool and no entry is left. Pure: the
 * caller passes every pool and which pool-less application entries to keep, and writes
 * what comes back, preconditioned on resourceVersion.
 */
import { LABEL_OWNER_SPIDER_SUBNET } from "../api/annotations/index.ts";
import { API_VERSION, SPIDER_FINALIZER } from "../api/group.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { sameInt } from "../api/int64.ts";
import {
  controlledSize,
  parseControlledPools,
  renderControlledPools,
  type ControlledPool,
  type SpiderSubnet,
} from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import { effective } from "./webhooks/rules.ts";
import { cappedCount } from "./pool-status.ts";

export type SubnetAction =
  | { kind: "none" }
  | { kind: "status"; next: SpiderSubnet }
  | { kind: "unfinalize"; next: SpiderSubnet }
  | { kind: "adopt"; pool: SpiderIPPool }
  | { kind: "deletePools"; pools: string[] };

const owns = (sub: SpiderSubnet, p: SpiderIPPool): boolean =>
  p.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] === sub.metadata.name && p.spec.subnet === sub.spec.subnet;

/** The first thing to do for this subnet, or none; called again after each write lands. */
export function reconcileSubnet(
  sub: SpiderSubnet,
  pools: readonly SpiderIPPool[],
  keepWithoutPool: (pool: string, application: string) => boolean = () => false,
): SubnetAction {
  const family = sub.spec.ipVersion;
  if (family !== 4 && family !== 6) return { kind: "none" };
  const name = sub.metadata.name ?? "";
  let current: Map<string, ControlledPool>;
  try {
    current = parseControlledPools(sub.status?.controlledIPPools);
  } catch {
    current = new Map();
  }
  const mine = pools.filter((p) => owns(sub, p));
  if (sub.metadata.deletionTimestamp !== undefined) {
    const fins = sub.metadata.finalizers ?? [];
    // As upstream's foreground deletion: the pools go first (each waits, by its own
    // finalizer, for its last address), then the subnet.
    const live = mine.filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => p.metadata.name ?? "");
    if (live.length > 0) return { kind: "deletePools", pools: live };
    if (mine.length > 0 || !fins.includes(SPIDER_FINALIZER)) return { kind: "none" };
    return {
      kind: "unfinalize",
      next: { ...sub, metadata: { ...sub.metadata, finalizers: fins.filter((f) => f !== SPIDER_FINALIZER) } },
    };
  }
  // Pools of the same CIDR created before the subnet, not owned by anything: adopt one at a time.
  const orphan = pools.find(
    (p) =>
      p.spec.subnet === sub.spec.subnet &&
      p.metadata.deletionTimestamp === undefined &&
      p.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] === undefined &&
      !(p.metadata.ownerReferences ?? []).some((o) => o.controller === true),
  );
  if (orphan !== undefined) {
    const adopted: SpiderIPPool = {
      ...orphan,
      metadata: {
        ...orphan.metadata,
        labels: { ...orphan.metadata.labels, [LABEL_OWNER_SPIDER_SUBNET]: name },
        ownerReferences: [
          ...(orphan.metadata.ownerReferences ?? []),
          {
            apiVersion: API_VERSION,
            kind: "SpiderSubnet",
            name,
            uid: sub.metadata.uid ?? "",
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        ...orphan.spec,
        ...(orphan.spec.gateway === undefined && sub.spec.gateway !== undefined ? { gateway: sub.spec.gateway } : {}),
        ...(orphan.spec.routes === undefined && sub.spec.routes !== undefined ? { routes: sub.spec.routes } : {}),
      },
    };
    return { kind: "adopt", pool: adopted };
  }
  const subEff = effective(family, sub.spec) ?? IPRangeSet.empty(family);
  const next = new Map<string, ControlledPool>();
  const byName = new Map(mine.map((p) => [p.metadata.name ?? "", p]));
  // Entries an auto-pool reconcile wrote (with an application) stay while their pool
  // exists, or while the caller says the entry is its live application's pool in the
  // making: the entry is written before the pool, and must not be dropped in between, or
  // its addresses could be carved twice.
  for (const [pool, entry] of current) {
    const app = entry.application;
    if (app !== undefined && app !== "" && (byName.has(pool) || keepWithoutPool(pool, app))) next.set(pool, entry);
  }
  for (const p of mine) {
    const pn = p.metadata.name ?? "";
    if (next.has(pn)) continue;
    const held = (effective(family, p.spec) ?? IPRangeSet.empty(family)).intersect(subEff);
    if (held.isEmpty) continue;
    next.set(pn, { ips: held.toStrings() });
  }
  const text = renderControlledPools(next);
  const status = {
    ...(text !== undefined ? { controlledIPPools: text } : {}),
    totalIPCount: cappedCount(subEff.size),
    allocatedIPCount: cappedCount(controlledSize(family, next)),
  };
  const same =
    (sub.status?.controlledIPPools ?? undefined) === text &&
    sameInt(sub.status?.totalIPCount, status.totalIPCount) &&
    sameInt(sub.status?.allocatedIPCount, status.allocatedIPCount);
  if (same) return { kind: "none" };
  return { kind: "status", next: { ...sub, status } };
}
