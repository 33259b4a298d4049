/**
 * SpiderSubnet admission (spec §2.2, ipam-behavior §5.8): defaulting that never rejects,
 * then validation in the spec's order with upstream's messages. Pure over what the caller
 * lists (every SpiderSubnet and SpiderIPPool, uncached).
 */
import { cidrLabelValue, LABEL_OWNER_SPIDER_SUBNET, LABEL_SUBNET_CIDR } from "../../api/annotations/index.ts";
import { SPIDER_FINALIZER } from "../../api/group.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../../api/subnet.ts";
import { cidrsOverlap, IPRangeSet, tryParseCIDR } from "../../ip/index.ts";
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
import { alreadyExists, forbidden, invalid, required, type Verdict } from "./verdict.ts";

export interface SubnetWebhookConfig extends FamilyConfig {
  enableValidatingResourcesDeletedWebhook: boolean;
}

export function mutateSubnet(input: SpiderSubnet): SpiderSubnet {
  const sub = structuredClone(input);
  if (sub.metadata.deletionTimestamp !== undefined) return sub;
  const fins = sub.metadata.finalizers ?? [];
  if (!fins.includes(SPIDER_FINALIZER)) sub.metadata.finalizers = [...fins, SPIDER_FINALIZER];
  if (sub.spec.ipVersion === undefined) {
    const f = familyOfSubnet(sub.spec.subnet);
    if (f === undefined) return sub;
    sub.spec.ipVersion = f;
  }
  sub.metadata.labels = { ...sub.metadata.labels, [LABEL_SUBNET_CIDR]: cidrLabelValue(sub.spec.subnet) };
  const ips = mergeList(sub.spec.ipVersion, sub.spec.ips);
  if (ips !== undefined) sub.spec.ips = ips;
  const ex = mergeList(sub.spec.ipVersion, sub.spec.excludeIPs);
  if (ex !== undefined) sub.spec.excludeIPs = ex;
  return sub;
}

export interface SubnetAdmission {
  operation: "CREATE" | "UPDATE" | "DELETE";
  object?: SpiderSubnet;
  oldObject?: SpiderSubnet;
  subnets: readonly SpiderSubnet[];
  pools: readonly SpiderIPPool[];
}

export function validateSubnet(a: SubnetAdmission, cfg: SubnetWebhookConfig): Verdict | undefined {
  if (a.operation === "DELETE") {
    const n = a.oldObject?.status?.allocatedIPCount ?? 0;
    if (cfg.enableValidatingResourcesDeletedWebhook && n > 0)
      return forbidden("status.allocatedIPCount", `cannot delete an Subnet with allocated IPs(${n})`);
    return undefined;
  }
  const sub = a.object;
  if (sub === undefined) return required("object", "the request carries no object");
  if (a.operation === "UPDATE") {
    // Upstream's text, typo included: users and e2e suites match it.
    const u = checkUpdate(sub, a.oldObject, "cannot update a terminaing Subnet");
    if (u !== undefined || sub.metadata.deletionTimestamp !== undefined) return u;
  }
  const ver = checkVersion(sub.spec, cfg);
  if (ver !== undefined) return ver;
  const cidr = checkSubnet(sub.spec);
  if (!("family" in cidr)) return cidr;
  const name = sub.metadata.name ?? "";
  if (a.operation === "CREATE") {
    for (const o of a.subnets) {
      if (familyOfSubnet(o.spec.subnet) !== cidr.family) continue;
      if (o.metadata.name === name)
        return alreadyExists(`spidersubnets.spiderpool.spidernet.io "${name}" already exists`);
      const oc = tryParseCIDR(o.spec.subnet);
      if (oc !== undefined && cidrsOverlap(oc, cidr))
        return invalid(
          "spec.subnet",
          sub.spec.subnet,
          `overlap with Subnet ${o.metadata.name ?? ""} which 'spec.subnet' is ${o.spec.subnet}`,
        );
    }
    const mine = effective(cidr.family, sub.spec) ?? IPRangeSet.empty(cidr.family);
    for (const p of a.pools) {
      if (familyOfSubnet(p.spec.subnet) !== cidr.family) continue;
      const pc = tryParseCIDR(p.spec.subnet);
      if (pc === undefined) continue;
      if (p.spec.subnet !== sub.spec.subnet) {
        if (cidrsOverlap(pc, cidr))
          return invalid(
            "spec.subnet",
            sub.spec.subnet,
            `overlap with SpiderIPPool '${p.metadata.name ?? ""}' resource 'spec.subnet' ${p.spec.subnet}`,
          );
        continue;
      }
      const theirs = effective(cidr.family, p.spec);
      if (theirs !== undefined && !mine.containsAll(theirs))
        return invalid(
          "spec.ips",
          sub.spec.ips,
          `SpiderIPPool '${p.metadata.name ?? ""}' owns some IP addresses that SpiderSubnet '${name}' can't control`,
        );
    }
  }
  const entries =
    checkRangesWithin("spec.ips", sub.spec.ips, cidr, sub.spec.subnet, " of IPPool") ??
    checkRangesWithin("spec.excludeIPs", sub.spec.excludeIPs, cidr, sub.spec.subnet, " of IPPool") ??
    checkGateway(sub.spec, cidr) ??
    checkRoutes(sub.spec, cidr);
  if (entries !== undefined) return entries;
  if (a.operation === "UPDATE") {
    const eff = effective(cidr.family, sub.spec) ?? IPRangeSet.empty(cidr.family);
    // The subnet's record of its pools, and the pools themselves (which exist before the
    // subnet controller has recorded them): neither may lose an address.
    const used = new Map<string, string[]>();
    for (const [pool, entry] of parseControlledPools(a.oldObject?.status?.controlledIPPools)) used.set(pool, entry.ips);
    for (const p of a.pools) {
      if (p.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] !== name || p.spec.subnet !== sub.spec.subnet) continue;
      const e = effective(cidr.family, p.spec);
      if (e !== undefined) used.set(p.metadata.name ?? "", e.toStrings());
    }
    for (const [pool, ips] of used) {
      const lost = IPRangeSet.parse(cidr.family, ips).subtract(eff);
      if (!lost.isEmpty)
        return forbidden(
          "spec.ips",
          `remove some IP ranges ${JSON.stringify(lost.toStrings())} that is being used by IPPool ${pool}, total IP addresses of an Subnet are 'spec.ips' minus 'spec.excludeIPs'`,
        );
    }
  }
  return undefined;
}
