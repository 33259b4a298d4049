/**
 * Which pools an ADD draws from, and the draw: candidates per NIC and family (spec §1.4–§1.8,
 * auto-pools §5.5), everything that can refuse without writing (pools exist, filters), and
 * then one record per NIC and family through the pool writers, falling back pool by pool.
 */
import type { SpiderIPPool } from "../api/ippool.ts";
import { parseCIDR } from "../ip/index.ts";
import { autoPoolConfig, isBuiltinApp } from "../ipam/auto-pool.ts";
import { selectCandidates, type NicCandidate } from "../ipam/candidates.ts";
import { allocationFailed, IpamError, poolNotFound } from "../ipam/errors.ts";
import { familyContext, judgeFamily } from "../ipam/family-plan.ts";
import type { MasterInterface } from "../ipam/filter.ts";
import type { TopController } from "../ipam/pod.ts";
import type { Allocated } from "../ipam/result.ts";
import { thirdPartyAutoPool, waitAutoPool } from "./auto-pool-wait.ts";
import type { Pod } from "./cache.ts";
import type { FlowDeps } from "./flow-deps.ts";
import { masterNotFound } from "./master-interface.ts";

export interface Candidates {
  list: NicCandidate[];
  /** The pod names its NICs (multi-NIC annotations); otherwise NICs are numbered. */
  named: boolean;
}

export interface FamilyPlan {
  family: 4 | 6;
  nic: NicCandidate;
  pools: SpiderIPPool[];
}

export interface CandidateRequest {
  ifName: string;
  podNamespace: string;
  defaultIPv4IPPool: string[];
  defaultIPv6IPPool: string[];
  cleanGateway: boolean;
}

export async function candidates(
  d: FlowDeps,
  req: CandidateRequest,
  pod: Pod,
  top: TopController,
): Promise<Candidates> {
  const nsObj = await d.view.getNamespace(req.podNamespace);
  const pools = d.view.pools.list();
  const byFamily = (f: 4 | 6, onlyDefault: boolean): string[] =>
    pools
      .filter(
        (p) =>
          (p.spec.ipVersion ?? (p.spec.subnet.includes(":") ? 6 : 4)) === f &&
          (!onlyDefault || p.spec.default === true),
      )
      .map((p) => p.metadata.name ?? "")
      .sort();
  const c = selectCandidates({
    ifName: req.ifName,
    podAnnotations: pod.metadata.annotations ?? {},
    namespaceAnnotations: nsObj?.metadata.annotations ?? {},
    netconf: {
      defaultIPv4IPPool: req.defaultIPv4IPPool,
      defaultIPv6IPPool: req.defaultIPv6IPPool,
      cleanGateway: req.cleanGateway,
    },
    clusterDefaults: { v4: byFamily(4, true), v6: byFamily(6, true) },
    poolNames: { v4: byFamily(4, false), v6: byFamily(6, false) },
    enableIPv4: d.config.enableIPv4,
    enableIPv6: d.config.enableIPv6,
    enableSpiderSubnet: d.config.enableSpiderSubnet,
    enableAutoPoolForApplication: d.config.enableAutoPoolForApplication,
  });
  if (c.kind === "pools") return { list: c.nics, named: c.namedNics };
  if (top.kind === "Pod") {
    throw new IpamError(
      "ERR_SUBNET_FEATURE",
      "failed to get IPPool candidates from Subnet: SpiderSubnet feature doesn't support no-controller pod",
    );
  }
  const sel = c.selections.find((s) => s.interface === req.ifName) ?? c.selections[0];
  if (sel === undefined) throw new IpamError("ERR_WRONG_INPUT", "no subnet selection");
  const nic: NicCandidate = { nic: sel.interface, v4: [], v6: [], cleanGateway: req.cleanGateway };
  const cfg = autoPoolConfig(pod.metadata.annotations ?? {});
  for (const [family, subnet] of [
    [4, sel.ipv4],
    [6, sel.ipv6],
  ] as const) {
    if (subnet === undefined || (family === 4 ? !d.config.enableIPv4 : !d.config.enableIPv6)) continue;
    const want = { subnet, top, iface: sel.interface, family, cfg };
    const pool = isBuiltinApp(top.apiVersion, top.kind)
      ? await waitAutoPool(d, want)
      : await thirdPartyAutoPool(d, want);
    (family === 4 ? nic.v4 : nic.v6).push(pool);
  }
  return { list: [nic], named: true };
}

/**
 * Everything that can refuse an allocation without writing, for every NIC (or only `onlyNic`)
 * and family, before any record is written: a misconfigured IPv6 pool never leaves an IPv4
 * record behind.
 */
export async function planAll(
  d: FlowDeps,
  cands: Candidates,
  pod: Pod,
  top: TopController,
  onlyNic: string | undefined,
  master?: MasterInterface,
): Promise<FamilyPlan[]> {
  const plans = await Promise.all(
    cands.list
      .filter((n) => onlyNic === undefined || n.nic === onlyNic)
      .flatMap((n) =>
        ([4, 6] as const).map(async (family) => {
          const names = family === 4 ? n.v4 : n.v6;
          return names.length === 0 ? undefined : planFamily(d, family, n, names, cands.named, pod, top, master);
        }),
      ),
  );
  return plans.filter((p): p is FamilyPlan => p !== undefined);
}

async function planFamily(
  d: FlowDeps,
  family: 4 | 6,
  n: NicCandidate,
  names: string[],
  named: boolean,
  pod: Pod,
  top: TopController,
  master: MasterInterface | undefined,
): Promise<FamilyPlan> {
  const pools: SpiderIPPool[] = [];
  for (const name of names) {
    const p = await d.view.getPool(name);
    if (p === undefined) throw poolNotFound(name);
    pools.push(p);
  }
  const nsObj = await d.view.getNamespace(pod.metadata.namespace ?? "");
  const base = familyContext({
    family,
    nic: n,
    named,
    pod,
    top,
    nodeLabels: d.view.nodeLabels(pod.spec?.nodeName ?? d.config.nodeName),
    namespaceLabels: nsObj?.metadata.labels ?? {},
    agentNamespace: d.config.podNamespace,
    clusterNetwork: d.config.multusClusterNetwork,
  });
  const ctx = master !== undefined ? { ...base, master } : base;
  const judged = judgeFamily(pools, ctx);
  if (judged.error !== undefined) throw judged.error;
  return { family, nic: n, pools: judged.survivors };
}

/** The master behind the ADD's NIC, read before any pool is filtered (`match_master_subnet`). */
export async function masterOfNic(
  d: FlowDeps,
  req: { netns: string; ifName: string; deviceID?: string },
): Promise<MasterInterface> {
  if (d.masterOf === undefined) throw masterNotFound(req.ifName, "the agent has no view of the node's network");
  return d.masterOf({
    podNetns: req.netns,
    ifName: req.ifName,
    ...(req.deviceID !== undefined ? { deviceID: req.deviceID } : {}),
  });
}

/**
 * For each plan, which of the pod's records in a pool it takes: NICs that may draw from the
 * same pool get distinct records (docs/compatibility.md), counted in the plans' order.
 */
export function slotsOf(plans: readonly FamilyPlan[]): Array<(pool: string) => number> {
  return plans.map((_, i) => (pool: string) => {
    let n = 0;
    for (let j = 0; j < i; j++) if (plans[j]?.pools.some((p) => p.metadata.name === pool)) n++;
    return n;
  });
}

/** A record drawn by this ADD that the pod did not hold before. */
export interface Drawn {
  pool: string;
  ip: string;
}

/** One record for the plan's NIC and family, from the first of its pools that has one. */
export async function commitFamily(
  d: FlowDeps,
  plan: FamilyPlan,
  podUid: string,
  podRef: string,
  fresh: Drawn[],
  slotOf: (pool: string) => number = () => 0,
): Promise<Allocated> {
  const { family, nic: n } = plan;
  const errors: Error[] = [];
  for (const p of plan.pools) {
    const name = p.metadata.name ?? "";
    try {
      const slot = slotOf(name);
      const r = await d.writers.submit(name, { kind: "allocate", podUid, podRef, ...(slot > 0 ? { slot } : {}) });
      if (r.reused !== true) fresh.push({ pool: name, ip: r.ip as string });
      const out: Allocated = {
        nic: n.nic,
        family,
        ip: r.ip as string,
        pool: name,
        subnet: r.subnet ?? parseCIDR(p.spec.subnet),
        poolRoutes: p.spec.routes ?? [],
        cleanGateway: n.cleanGateway,
      };
      if (p.spec.gateway !== undefined && p.spec.gateway !== "") out.gateway = p.spec.gateway;
      return out;
    } catch (err) {
      errors.push(err as Error);
    }
  }
  throw allocationFailed(
    family,
    n.nic,
    plan.pools.map((p) => p.metadata.name ?? ""),
    errors,
  );
}
