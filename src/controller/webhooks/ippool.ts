/**
 * SpiderIPPool admission (spec §2.1, ipam-behavior §6.1): defaulting that never rejects, then
 * validation in the spec's order, with upstream's messages. Pure over what the caller lists.
 */
import {
  AUTO_POOL_AFFINITY_KEYS,
  cidrLabelValue,
  LABEL_IPPOOL_CIDR,
  LABEL_OWNER_APPLICATION_NAME,
  LABEL_OWNER_SPIDER_SUBNET,
  LABEL_SUBNET_CIDR,
} from "../../api/annotations/index.ts";
import { SPIDER_FINALIZER, API_VERSION } from "../../api/group.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import { requirementsOf } from "../../api/selector.ts";
import { parseControlledPools, type ControlledPool, type SpiderSubnet } from "../../api/subnet.ts";
import { cidrsOverlap, IPRangeSet, tryParseCIDR, tryParseIP, type CIDR } from "../../ip/index.ts";
import { parseAllocatedIPs } from "../../ipam/pool-state.ts";
import {
  checkGateway,
  checkRangesWithin,
  checkRoutes,
  checkSubnet,
  checkUpdate,
  checkVersion,
  effective,
  familyOfSubnet,
  mergeList,
  type FamilyConfig,
} from "./rules.ts";
import { checkPoolSanity } from "./pool-sanity.ts";
import { alreadyExists, forbidden, invalid, required, type Verdict } from "./verdict.ts";

export interface PoolWebhookConfig extends FamilyConfig {
  enableSpiderSubnet: boolean;
  enableValidatingResourcesDeletedWebhook: boolean;
}

/** Defaulting (spec §2.1 mutation); failures stop the steps, never reject. */
export function mutatePool(
  input: SpiderIPPool,
  subnets: readonly SpiderSubnet[],
  cfg: PoolWebhookConfig,
): SpiderIPPool {
  const pool = structuredClone(input);
  if (pool.metadata.deletionTimestamp !== undefined) return pool;
  const fins = pool.metadata.finalizers ?? [];
  if (!fins.includes(SPIDER_FINALIZER)) pool.metadata.finalizers = [...fins, SPIDER_FINALIZER];
  if (pool.spec.ipVersion === undefined) {
    const f = familyOfSubnet(pool.spec.subnet);
    if (f === undefined) return pool;
    pool.spec.ipVersion = f;
  }
  pool.metadata.labels = { ...pool.metadata.labels, [LABEL_IPPOOL_CIDR]: cidrLabelValue(pool.spec.subnet) };
  if (cfg.enableSpiderSubnet) {
    const owner = pool.metadata.ownerReferences?.find((o) => o.controller === true);
    if (owner === undefined || owner.name !== pool.metadata.labels[LABEL_OWNER_SPIDER_SUBNET]) {
      const sub = subnets.find((s) => s.metadata.labels?.[LABEL_SUBNET_CIDR] === cidrLabelValue(pool.spec.subnet));
      if (sub !== undefined) {
        pool.metadata.ownerReferences = [
          ...(pool.metadata.ownerReferences ?? []).filter((o) => o.controller !== true),
          {
            apiVersion: API_VERSION,
            kind: "SpiderSubnet",
            name: sub.metadata.name ?? "",
            uid: sub.metadata.uid ?? "",
            controller: true,
            blockOwnerDeletion: true,
          },
        ];
        pool.metadata.labels[LABEL_OWNER_SPIDER_SUBNET] = sub.metadata.name ?? "";
        if (pool.spec.gateway === undefined && sub.spec.gateway !== undefined) pool.spec.gateway = sub.spec.gateway;
        if (pool.spec.routes === undefined && sub.spec.routes !== undefined)
          pool.spec.routes = structuredClone(sub.spec.routes);
      }
    }
  }
  const family = pool.spec.ipVersion;
  const ips = mergeList(family, pool.spec.ips);
  if (ips !== undefined) pool.spec.ips = ips;
  const ex = mergeList(family, pool.spec.excludeIPs);
  if (ex !== undefined) pool.spec.excludeIPs = ex;
  return pool;
}

/** The checks shared by create and update (spec §2.1 step 4). */
function checkSpec(pool: SpiderIPPool, cidr: CIDR, others: readonly SpiderIPPool[]): Verdict | undefined {
  const family = cidr.family;
  const v =
    checkRangesWithin("spec.ips", pool.spec.ips, cidr, pool.spec.subnet) ??
    checkRangesWithin("spec.excludeIPs", pool.spec.excludeIPs, cidr, pool.spec.subnet);
  if (v !== undefined) return v;
  const mine = effective(family, pool.spec) as IPRangeSet;
  for (const o of others) {
    if (o.metadata.name === pool.metadata.name || o.spec.subnet !== pool.spec.subnet) continue;
    const theirs = effective(family, o.spec);
    if (theirs !== undefined && mine.overlaps(theirs)) {
      return forbidden(
        "spec.ips",
        `overlap with IPPool ${o.metadata.name ?? ""} in IP ranges ${JSON.stringify(mine.intersect(theirs).toStrings())}, total IP addresses of an IPPool are 'spec.ips' minus 'spec.excludeIPs'`,
      );
    }
  }
  return checkGateway(pool.spec, cidr) ?? checkRoutes(pool.spec, cidr);
}

function checkAffinity(pool: SpiderIPPool): Verdict | undefined {
  const aff = pool.spec.podAffinity;
  if (aff === undefined) return undefined;
  if (pool.metadata.labels?.[LABEL_OWNER_APPLICATION_NAME] !== undefined) {
    for (const k of Object.keys(aff.matchLabels ?? {})) {
      if (!(AUTO_POOL_AFFINITY_KEYS as readonly string[]).includes(k)) {
        return invalid(
          "spec.podAffinity.matchLabels",
          k,
          "it's invalid to add additional podAffinity matchLabels for auto-created SpiderIPPool",
        );
      }
    }
    if ((aff.matchExpressions ?? []).length > 0) {
      return invalid(
        "spec.podAffinity.matchExpressions",
        aff.matchExpressions,
        "it's invalid to add additional podAffinity matchExpressions for auto-created SpiderIPPool",
      );
    }
    return undefined;
  }
  try {
    requirementsOf(aff);
  } catch (err) {
    return invalid("spec.podAffinity", aff, (err as Error).message);
  }
  if (Object.keys(aff.matchLabels ?? {}).length === 0 && (aff.matchExpressions ?? []).length === 0) {
    return invalid("spec.podAffinity", aff, "empty podAffinity is invalid for SpiderIPPool");
  }
  return undefined;
}

function checkContainment(
  pool: SpiderIPPool,
  old: SpiderIPPool | undefined,
  subnets: readonly SpiderSubnet[],
  cfg: PoolWebhookConfig,
): Verdict | undefined {
  if (!cfg.enableSpiderSubnet) return undefined;
  const owner = pool.metadata.ownerReferences?.find((o) => o.controller === true && o.kind === "SpiderSubnet");
  if (owner === undefined) return undefined;
  const sub = subnets.find((s) => s.metadata.name === owner.name);
  const family = pool.spec.ipVersion as 4 | 6;
  if (sub === undefined) return undefined;
  const subSet = effective(family, sub.spec as SpiderIPPool["spec"]);
  const mine = effective(family, pool.spec);
  if (subSet === undefined || mine === undefined) return undefined;
  const outside = mine.subtract(subSet);
  if (!outside.isEmpty) {
    return forbidden(
      "spec.ips",
      `add some IP ranges ${JSON.stringify(outside.toStrings())} that are not contained in controller Subnet ${sub.metadata.name ?? ""}, total IP addresses of an Subnet are 'spec.ips' minus 'spec.excludeIPs'`,
    );
  }
  // Undefined when the status does not parse: nothing is known to be carved, and an auto-pool has no entry.
  let entries: Map<string, ControlledPool> | undefined;
  try {
    entries = parseControlledPools(sub.status?.controlledIPPools);
  } catch {
    entries = undefined;
  }
  const carved = entries === undefined ? undefined : checkCarvedElsewhere(pool, old, sub, mine, entries);
  if (carved !== undefined) return carved;
  if (pool.metadata.labels?.[LABEL_OWNER_APPLICATION_NAME] !== undefined) {
    // An auto-created pool holds only what the subnet carved for it, so that no one
    // widens it by hand into addresses the subnet may give to another pool.
    let entry: IPRangeSet | undefined;
    try {
      const e = entries?.get(pool.metadata.name ?? "");
      entry = e === undefined ? undefined : IPRangeSet.parse(family, e.ips);
    } catch {
      entry = undefined;
    }
    // A subset, not equality: a shrink takes addresses out of the pool before the entry,
    // and a growth puts them in the entry before the pool.
    if (entry === undefined || !entry.containsAll(mine)) {
      return forbidden(
        "spec.ips",
        "it's illegal to update AutoPool.Spec.IPs that are different from corresponding SpiderSubnet.Status.ControlledIPPools",
      );
    }
  }
  return undefined;
}

/**
 * Addresses the subnet holds for another pool. The pools alone do not show them all: an
 * auto-pool's addresses are carved (its entry written) before the pool is created, and a
 * pool created by hand in between would otherwise get them too, and both would hand them
 * out (docs/compatibility.md). Only what this request adds is checked, so a pool that
 * already overlaps (written before this check existed) can still be edited.
 */
function checkCarvedElsewhere(
  pool: SpiderIPPool,
  old: SpiderIPPool | undefined,
  sub: SpiderSubnet,
  mine: IPRangeSet,
  entries: ReadonlyMap<string, ControlledPool>,
): Verdict | undefined {
  const family = mine.family;
  const before = old === undefined ? undefined : effective(family, old.spec);
  const added = before === undefined ? mine : mine.subtract(before);
  if (added.isEmpty) return undefined;
  for (const [other, entry] of entries) {
    if (other === pool.metadata.name) continue;
    let theirs: IPRangeSet;
    try {
      theirs = IPRangeSet.parse(family, entry.ips);
    } catch {
      continue;
    }
    if (added.overlaps(theirs)) {
      return forbidden(
        "spec.ips",
        `overlap with IP ranges ${JSON.stringify(added.intersect(theirs).toStrings())} that SpiderSubnet ${sub.metadata.name ?? ""} holds for IPPool ${other}`,
      );
    }
  }
  return undefined;
}

export interface PoolAdmission {
  operation: "CREATE" | "UPDATE" | "DELETE";
  object?: SpiderIPPool;
  oldObject?: SpiderIPPool;
  /** Every SpiderIPPool, read from the API server (uncached, as upstream). */
  pools: readonly SpiderIPPool[];
  subnets: readonly SpiderSubnet[];
}

/** The first failing rule, or undefined when the request is allowed. */
export function validatePool(a: PoolAdmission, cfg: PoolWebhookConfig): Verdict | undefined {
  if (a.operation === "DELETE") {
    const old = a.oldObject;
    const n = old?.status?.allocatedIPCount ?? 0;
    if (cfg.enableValidatingResourcesDeletedWebhook && n > 0)
      return forbidden("status.allocatedIPCount", `cannot delete an IPPool with allocated IPs(${n})`);
    return undefined;
  }
  const pool = a.object;
  if (pool === undefined) return required("object", "the request carries no object");
  if (a.operation === "UPDATE") {
    const u = checkUpdate(pool, a.oldObject, "cannot update a terminating IPPool");
    if (u !== undefined || pool.metadata.deletionTimestamp !== undefined) return u;
  }
  const ver = checkVersion(pool.spec, cfg);
  if (ver !== undefined) return ver;
  const cidr = checkSubnet(pool.spec);
  if (!("family" in cidr)) return cidr;
  if (a.operation === "CREATE") {
    for (const o of a.pools) {
      if (familyOfSubnet(o.spec.subnet) !== cidr.family) continue;
      if (o.metadata.name === pool.metadata.name)
        return alreadyExists(`spiderippools.spiderpool.spidernet.io "${pool.metadata.name ?? ""}" already exists`);
      if (o.spec.subnet === pool.spec.subnet) continue;
      const oc = tryParseCIDR(o.spec.subnet);
      if (oc !== undefined && cidrsOverlap(oc, cidr))
        return invalid(
          "spec.subnet",
          pool.spec.subnet,
          `overlap with IPPool ${o.metadata.name ?? ""} which 'spec.subnet' is ${o.spec.subnet}`,
        );
    }
  }
  const spec = checkSpec(pool, cidr, a.pools);
  if (spec !== undefined) return spec;
  const aff = checkAffinity(pool) ?? checkPoolSanity(pool.spec, cidr);
  if (aff !== undefined) return aff;
  if (a.operation === "UPDATE") {
    const eff = effective(cidr.family, pool.spec) as IPRangeSet;
    for (const [ip, rec] of parseAllocatedIPs(a.oldObject?.status?.allocatedIPs)) {
      const v = tryParseIP(ip);
      if (v !== undefined && !eff.has(v.value)) {
        return forbidden(
          "spec.ips",
          `remove an IP address ${ip} that is being used by Pod ${rec.pod}, total IP addresses of an IPPool are 'spec.ips' minus 'spec.excludeIPs'`,
        );
      }
    }
  }
  return checkContainment(pool, a.operation === "UPDATE" ? a.oldObject : undefined, a.subnets, cfg);
}
