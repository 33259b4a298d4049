/**
 * The consistency check (spec §9): every record's pod exists with the recorded UID (or is
 * a StatefulSet/KubeVirt workload whose endpoint holds the address), no address is recorded
 * twice across pools of one network, a pod UID appears at most once per pool (once per NIC
 * of the pod that draws from it), counts match,
 * and each record has an endpoint item with the same address. Pure: callers pass what they
 * listed; `spiderpoolctl check` and every test use it.
 */
import type { SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { LABEL_OWNER_SPIDER_SUBNET } from "../api/annotations/index.ts";
import { parseControlledPools, type ControlledPool, type SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import type { ObjectMeta } from "../api/meta.ts";
import { parseAllocatedIPs, poolAddresses } from "./pool-state.ts";

export interface ConsistencyInput {
  pools: readonly SpiderIPPool[];
  /** When given, subnet accounting is checked too. */
  subnets?: readonly SpiderSubnet[];
  pods: ReadonlyArray<{ metadata: ObjectMeta; status?: { phase?: string } }>;
  endpoints: readonly SpiderEndpoint[];
}

export interface ConsistencyReport {
  ok: boolean;
  problems: string[];
  records: number;
}

/** How many of the endpoint's NIC items draw from `pool`. */
function nicsFrom(ep: SpiderEndpoint | undefined, pool: string): number {
  return ep?.status?.current.ips.filter((i) => i.ipv4Pool === pool || i.ipv6Pool === pool).length ?? 0;
}

export function checkConsistency(input: ConsistencyInput): ConsistencyReport {
  const problems: string[] = [];
  const pods = new Map(input.pods.map((p) => [`${p.metadata.namespace ?? ""}/${p.metadata.name ?? ""}`, p]));
  const endpoints = new Map(input.endpoints.map((e) => [`${e.metadata.namespace ?? ""}/${e.metadata.name ?? ""}`, e]));
  const owners = new Map<string, string>();
  const poolRecords = new Map<string, ReadonlyMap<string, { pod: string; podUid: string }>>();
  let total = 0;
  for (const pool of input.pools) {
    const name = pool.metadata.name ?? "";
    let records;
    try {
      records = parseAllocatedIPs(pool.status?.allocatedIPs);
    } catch (err) {
      problems.push(`pool ${name}: status.allocatedIPs is not valid JSON: ${(err as Error).message}`);
      continue;
    }
    total += records.size;
    const count = pool.status?.allocatedIPCount;
    if (count !== undefined && count !== records.size)
      problems.push(`pool ${name}: allocatedIPCount ${count} but ${records.size} records`);
    let addrs;
    try {
      addrs = poolAddresses(pool.spec);
    } catch (err) {
      problems.push(`pool ${name}: ${(err as Error).message}`);
      continue;
    }
    const uids = new Map<string, string[]>();
    for (const [ip, rec] of records) {
      const where = `pool ${name}: ${ip} (${rec.pod}, uid ${rec.podUid})`;
      const key = `${pool.spec.subnet}|${ip}`;
      const prev = owners.get(key);
      if (prev !== undefined) problems.push(`${where}: address also recorded by ${prev}`);
      owners.set(key, `${name}:${rec.pod}`);
      const ep = endpoints.get(rec.pod);
      // One record per pod UID and pool, or one per NIC of the pod drawing from the pool.
      const held = uids.get(rec.podUid) ?? [];
      const nics = Math.max(1, nicsFrom(ep, name));
      if (held.length >= nics) problems.push(`${where}: pod UID also holds ${held.join(", ")} in this pool`);
      uids.set(rec.podUid, [...held, ip]);
      const pod = pods.get(rec.pod);
      const fixed =
        ep?.status?.ownerControllerType === "StatefulSet" ||
        ep?.status?.ownerControllerType === "VirtualMachineInstance";
      if (pod === undefined && !fixed) problems.push(`${where}: no such pod`);
      else if (pod !== undefined && pod.metadata.uid !== rec.podUid && !fixed)
        problems.push(`${where}: pod has uid ${pod.metadata.uid ?? ""}`);
      const holds =
        ep?.status?.current.ips.some((i) => i.ipv4?.split("/")[0] === ip || i.ipv6?.split("/")[0] === ip) ?? false;
      if (!holds) problems.push(`${where}: no endpoint item holds this address`);
      else if (ep?.status?.current.uid !== rec.podUid)
        problems.push(`${where}: endpoint has uid ${ep?.status?.current.uid ?? ""}`);
    }
    const totalIPs = addrs.effective.size;
    if (BigInt(records.size) > totalIPs)
      problems.push(`pool ${name}: ${records.size} records for ${totalIPs} addresses`);
    poolRecords.set(name, records);
  }
  // The other direction: an address an endpoint hands to its pod must be recorded for that
  // pod, or the pool may give it to another one.
  for (const ep of input.endpoints) {
    const cur = ep.status?.current;
    if (cur === undefined || ep.metadata.deletionTimestamp !== undefined) continue;
    const ref = `${ep.metadata.namespace ?? ""}/${ep.metadata.name ?? ""}`;
    // A finished pod's sandbox is gone and its DEL released the addresses; the endpoint stays
    // until the pod is deleted (it owns it), as for a completed Job's pod on a cluster.
    const owner = pods.get(ref);
    const phase = owner?.status?.phase;
    if (owner?.metadata.uid === cur.uid && (phase === "Succeeded" || phase === "Failed")) continue;
    for (const it of cur.ips) {
      for (const [pool, cidr] of [
        [it.ipv4Pool, it.ipv4],
        [it.ipv6Pool, it.ipv6],
      ] as const) {
        if (pool === undefined || cidr === undefined) continue;
        const ip = cidr.split("/")[0] ?? "";
        const recs = poolRecords.get(pool);
        const where = `endpoint ${ref}: ${it.interface || "(unnamed NIC)"} ${ip} from pool ${pool}`;
        if (recs === undefined) {
          if (!input.pools.some((p) => p.metadata.name === pool)) problems.push(`${where}: no such pool`);
          continue;
        }
        const rec = recs.get(ip);
        if (rec === undefined) problems.push(`${where}: not recorded in the pool (it may be handed out again)`);
        else if (rec.pod !== ref) problems.push(`${where}: recorded for ${rec.pod}`);
      }
    }
  }
  checkSubnets(input, problems);
  return { ok: problems.length === 0, problems, records: total };
}

/**
 * Subnet accounting: each `controlledIPPools` entry names an existing pool whose addresses
 * (ips − excludeIPs) it equals, entries of one subnet never overlap, `allocatedIPCount` is
 * their sum, and every pool the subnet owns has an entry.
 */
function checkSubnets(input: ConsistencyInput, problems: string[]): void {
  const pools = new Map(input.pools.map((p) => [p.metadata.name ?? "", p]));
  for (const sub of input.subnets ?? []) {
    const name = sub.metadata.name ?? "";
    const family = sub.spec.ipVersion;
    if (family !== 4 && family !== 6) continue;
    let entries: Map<string, ControlledPool>;
    try {
      entries = parseControlledPools(sub.status?.controlledIPPools);
    } catch (err) {
      problems.push(`subnet ${name}: status.controlledIPPools is not valid JSON: ${(err as Error).message}`);
      continue;
    }
    let seen = IPRangeSet.empty(family);
    let sum = 0n;
    for (const [poolName, entry] of entries) {
      let set: IPRangeSet;
      try {
        set = IPRangeSet.parse(family, entry.ips);
      } catch (err) {
        problems.push(`subnet ${name}: entry ${poolName}: ${(err as Error).message}`);
        continue;
      }
      sum += set.size;
      if (seen.overlaps(set))
        problems.push(
          `subnet ${name}: entry ${poolName} overlaps another entry in ${JSON.stringify(seen.intersect(set).toStrings())}`,
        );
      seen = seen.union(set);
      const pool = pools.get(poolName);
      if (pool === undefined) {
        problems.push(`subnet ${name}: entry ${poolName} names no existing pool`);
        continue;
      }
      try {
        const eff = poolAddresses(pool.spec).effective;
        if (!eff.equals(set))
          problems.push(
            `subnet ${name}: entry ${poolName} is ${JSON.stringify(set.toStrings())} but the pool has ${JSON.stringify(eff.toStrings())}`,
          );
      } catch {
        // The pool's own problem is reported with the pool.
      }
    }
    const count = sub.status?.allocatedIPCount;
    if (count !== undefined && BigInt(count) !== sum)
      problems.push(`subnet ${name}: allocatedIPCount ${count} but its entries hold ${sum} addresses`);
    for (const p of input.pools) {
      if (p.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] !== name || p.metadata.deletionTimestamp !== undefined)
        continue;
      if (entries.has(p.metadata.name ?? "")) continue;
      let empty = false;
      try {
        empty = poolAddresses(p.spec).effective.isEmpty;
      } catch {
        empty = true;
      }
      // Pools without addresses hold nothing of the subnet and carry no entry.
      if (!empty)
        problems.push(`subnet ${name}: pool ${p.metadata.name ?? ""} is owned but has no controlledIPPools entry`);
    }
  }
}
