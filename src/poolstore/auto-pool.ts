/**
 * Brings one auto-created pool (an application's, for one subnet, NIC and family) to its
 * desired size (ipam-behavior §5.4). The subnet's `controlledIPPools` entry is written
 * first, so no two pools are ever carved the same address, then the pool; both writes are
 * preconditioned on resourceVersion and the whole is re-read and retried a bounded number
 * of times on a conflict. Used by the controller (built-in kinds) and the agent
 * (third-party controllers).
 */
import type { Logger } from "pino";
import { LABEL_OWNER_APPLICATION_UID, LABEL_OWNER_SPIDER_SUBNET } from "../api/annotations/index.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import {
  controlledSize,
  parseControlledPools,
  renderControlledPools,
  SpiderSubnetKind,
  type ControlledPool,
  type SpiderSubnet,
} from "../api/subnet.ts";
import { IPRangeSet, tryParseIP, type IPRange } from "../ip/index.ts";
import {
  applicationKey,
  autoPoolName,
  autoPoolSelector,
  cappedCount,
  carve,
  desiredAutoPool,
  IpamError,
  isReclaimed,
  matchesSelector,
  parseAllocatedIPs,
  poolAddresses,
  reservedAddresses,
  subnetTag,
  type AppRef,
  type BuiltinAppKind,
} from "../ipam/index.ts";
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import { Resources, resourceTypeOf, type ResourceType } from "../kube/resources.ts";
import { sleep } from "../kube/backoff.ts";
import { POOLS } from "./pool-writer.ts";

export const SUBNETS = resourceTypeOf(SpiderSubnetKind);
export const RESERVED_IPS = resourceTypeOf(SpiderReservedIPKind);

/** Where each built-in workload kind is served. */
export const APP_RESOURCES: Readonly<Record<BuiltinAppKind, ResourceType>> = {
  Deployment: Resources.deployments,
  ReplicaSet: Resources.replicasets,
  StatefulSet: Resources.statefulsets,
  DaemonSet: Resources.daemonsets,
  Job: Resources.jobs,
  CronJob: Resources.cronjobs,
};

export interface AutoPoolRequest {
  subnet: string;
  app: AppRef;
  iface: string;
  family: 4 | 6;
  desired: number;
  /** The pool's `ippool-ip-number` annotation: "+N" or "N". */
  ipNumber: string;
  reclaim: boolean;
}

export interface AutoPoolOutcome {
  pool: string;
  /** What was written: nothing, the pool created, or it resized / relabelled. */
  action: "none" | "created" | "updated";
  size: number;
}

export interface AutoPoolDeps {
  client: KubeClient;
  log: Logger;
  /** Attempts on write conflicts before giving up with ERR_RETRIES_EXHAUSTED (default 10). */
  maxAttempts?: number;
  onConflict?: () => void;
}

const wrongInput = (m: string): IpamError => new IpamError("ERR_WRONG_INPUT", `wrong input: ${m}`);

function allocatedSet(family: 4 | 6, pool: SpiderIPPool | undefined): IPRangeSet {
  const ranges: IPRange[] = [];
  for (const ip of parseAllocatedIPs(pool?.status?.allocatedIPs).keys()) {
    const v = tryParseIP(ip);
    if (v !== undefined && v.family === family) ranges.push({ family, start: v.value, end: v.value });
  }
  return IPRangeSet.fromRanges(family, ranges);
}

/** The application's pool for this subnet, NIC and family among `pools`, if it has one. */
export function pickAutoPool(
  pools: readonly SpiderIPPool[],
  req: Pick<AutoPoolRequest, "subnet" | "app" | "iface" | "family">,
): SpiderIPPool | undefined {
  const sel = autoPoolSelector(req.subnet, req.app, req.iface, req.family);
  const usable = pools.filter(
    (p) =>
      matchesSelector(p, sel) &&
      p.metadata.deletionTimestamp === undefined &&
      // A reclaimable pool of another UID belongs to a deleted application of the same
      // name; it is on its way out and never adopted.
      (!isReclaimed(p) || p.metadata.labels?.[LABEL_OWNER_APPLICATION_UID] === req.app.uid),
  );
  return usable.find((p) => p.metadata.labels?.[LABEL_OWNER_APPLICATION_UID] === req.app.uid) ?? usable[0];
}

async function nameFor(client: KubeClient, req: AutoPoolRequest): Promise<string> {
  const base = autoPoolName(req.family, req.app.name, req.iface, req.app.uid);
  try {
    const taken = await client.get<SpiderIPPool>(POOLS, base);
    // Upstream's name has no room for the subnet: an application moved to another subnet
    // would collide with its own old pool, so the second one carries the subnet's tag.
    if (taken.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] !== req.subnet)
      return autoPoolName(req.family, req.app.name, req.iface, req.app.uid, subnetTag(req.subnet));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return base;
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

function unchanged(cur: SpiderIPPool, next: SpiderIPPool): boolean {
  return (
    JSON.stringify(cur.metadata.labels) === JSON.stringify(next.metadata.labels) &&
    JSON.stringify(cur.metadata.annotations) === JSON.stringify(next.metadata.annotations) &&
    JSON.stringify(cur.metadata.ownerReferences) === JSON.stringify(next.metadata.ownerReferences) &&
    sameStrings(cur.spec.ips, next.spec.ips) &&
    JSON.stringify(cur.spec.podAffinity) === JSON.stringify(next.spec.podAffinity)
  );
}

async function attempt(d: AutoPoolDeps, req: AutoPoolRequest): Promise<AutoPoolOutcome> {
  const { client } = d;
  let sub: SpiderSubnet;
  try {
    sub = await client.get<SpiderSubnet>(SUBNETS, req.subnet);
  } catch (err) {
    if (isNotFound(err))
      throw new IpamError("ERR_POOL_NOT_FOUND", `SpiderSubnet '${req.subnet}' not found`, { cause: err });
    throw err;
  }
  if (sub.metadata.deletionTimestamp !== undefined)
    throw wrongInput(`SpiderSubnet '${req.subnet}' is terminating, we can't reconcile an auto-created IPPool from it`);
  if (sub.spec.ipVersion !== req.family)
    throw wrongInput(`SpiderSubnet '${req.subnet}' is not an IPv${req.family} subnet`);
  // One fresh list serves both the lookup and the addresses other pools of the CIDR hold.
  const allPools = (await client.listAll<SpiderIPPool>(POOLS)).items;
  const existing = pickAutoPool(allPools, req);
  if (existing !== undefined && existing.spec.subnet !== sub.spec.subnet)
    throw wrongInput(
      `IPPool ${existing.metadata.name ?? ""} has subnet ${existing.spec.subnet}, SpiderSubnet '${req.subnet}' has ${sub.spec.subnet}`,
    );
  const name = existing?.metadata.name ?? (await nameFor(client, req));
  let entries: Map<string, ControlledPool>;
  try {
    entries = parseControlledPools(sub.status?.controlledIPPools);
  } catch (err) {
    throw new IpamError("ERR_DATA_BROKEN", `SpiderSubnet '${req.subnet}' status.controlledIPPools cannot be read`, {
      cause: err,
    });
  }
  const f = req.family;
  const entry = entries.get(name);
  const others: IPRange[] = [];
  for (const [pool, e] of entries) {
    if (pool === name) continue;
    try {
      others.push(...IPRangeSet.parse(f, e.ips).ranges);
    } catch {
      // An unreadable entry claims nothing; the subnet reconciler drops it.
    }
  }
  // Pools of the subnet's CIDR that its entries do not show yet (a manual pool the subnet
  // reconciler has not recorded) hold their addresses too.
  for (const p of allPools) {
    if (p.metadata.name === name || p.spec.subnet !== sub.spec.subnet) continue;
    try {
      others.push(...poolAddresses(p.spec).effective.ranges);
    } catch {
      // A pool whose ranges do not parse was refused by the webhook; it holds nothing.
    }
  }
  const reserved = (await client.listAll<SpiderReservedIP>(RESERVED_IPS)).items;
  const subnetAddresses = poolAddresses(sub.spec as SpiderIPPool["spec"]).effective;
  const poolIPs = existing === undefined ? IPRangeSet.empty(f) : poolAddresses(existing.spec).effective;
  const ips = carve({
    pool: name,
    subnet: subnetAddresses,
    others: IPRangeSet.fromRanges(f, others),
    reserved: reservedAddresses(f, reserved),
    entry: entry === undefined ? undefined : IPRangeSet.parse(f, entry.ips),
    poolIPs,
    allocated: allocatedSet(f, existing),
    desired: BigInt(req.desired),
  });
  const application = applicationKey(req.app);
  const want: ControlledPool = { ips: ips.toStrings(), application };
  const shape = (list: readonly string[]) => ({
    name,
    subnet: sub,
    app: req.app,
    iface: req.iface,
    family: f,
    reclaim: req.reclaim,
    ipNumber: req.ipNumber,
    ips: list,
  });
  const size = req.desired;
  let pool = existing;
  // Addresses leave the pool before they leave the subnet entry: written the other way
  // round, a second carve could take an address the pool still hands out. The pool
  // write is preconditioned on the resourceVersion its allocations were read at, so an
  // allocation in between makes it conflict and the whole is decided again.
  if (pool !== undefined && !ips.containsAll(poolIPs)) {
    const kept = poolIPs.intersect(ips).toStrings();
    pool = await client.update(POOLS, desiredAutoPool(shape(kept), pool));
  }
  if (entry === undefined || !sameStrings(entry.ips, want.ips) || entry.application !== application) {
    entries.set(name, want);
    const status = {
      ...sub.status,
      totalIPCount: sub.status?.totalIPCount ?? cappedCount(subnetAddresses.size),
      allocatedIPCount: cappedCount(controlledSize(f, entries)),
    };
    const text = renderControlledPools(entries);
    if (text === undefined) delete status.controlledIPPools;
    else status.controlledIPPools = text;
    await client.updateStatus(SUBNETS, { ...sub, status });
  }
  // Addresses join the pool only after the entry holds them.
  const next = desiredAutoPool(shape(want.ips), pool);
  if (pool === undefined) {
    await client.create(POOLS, next);
    return { pool: name, action: "created", size };
  }
  if (pool === existing && unchanged(pool, next)) return { pool: name, action: "none", size };
  if (!unchanged(pool, next)) await client.update(POOLS, next);
  return { pool: name, action: "updated", size };
}

/**
 * Reconciles one pool. Conflicts and AlreadyExists (another writer got there first) start
 * over from fresh reads, at most `maxAttempts` times; every other failure is thrown with
 * its code for the caller's retry policy (ERR_WRONG_INPUT is not worth retrying).
 */
export async function reconcileAutoPool(d: AutoPoolDeps, req: AutoPoolRequest): Promise<AutoPoolOutcome> {
  const max = d.maxAttempts ?? 10;
  let last: unknown;
  for (let i = 1; i <= max; i++) {
    try {
      const out = await attempt(d, req);
      if (out.action !== "none")
        d.log.info(
          { pool: out.pool, subnet: req.subnet, app: applicationKey(req.app), nic: req.iface, size: out.size },
          `auto-created IPPool ${out.action}`,
        );
      return out;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) throw err;
      last = err;
      d.onConflict?.();
      await sleep(Math.min(20 * 2 ** i, 1000) * (0.5 + Math.random() / 2));
    }
  }
  throw new IpamError(
    "ERR_RETRIES_EXHAUSTED",
    `auto-created IPPool of ${applicationKey(req.app)} in SpiderSubnet '${req.subnet}': ${max} write conflicts in a row`,
    { cause: last },
  );
}
