/**
 * Pool changes that the webhook lets through but that would strand workloads (issue 22),
 * answered with admission warnings (`kubectl apply --dry-run=server` shows them first):
 *
 * - `ips`/`excludeIPs` leave fewer addresses than the StatefulSets naming the pool have
 *   replicas, or than an auto-created pool's application wants;
 * - node, namespace or pod affinity (or nodeName/namespaceName) tightened so that pods
 *   holding an address no longer match: their next sandbox, or a StatefulSet pod's
 *   re-creation, fails with the agent's filter reason, which the warning quotes
 *   (src/ipam/filter.ts, the agent's own check).
 *
 * - a SpiderSubnet's `ips`/`excludeIPs` leaving fewer free addresses than its auto-created
 *   pools need to grow to their applications' sizes.
 *
 * Changes that free an address in use stay refused by validatePool and validateSubnet. Pure: the route reads
 * the pods, workloads and labels.
 */
import {
  ANNO_POD_IPPOOL,
  ANNO_POD_IPPOOLS,
  parseIPPoolAnnotation,
  parseIPPoolsAnnotation,
} from "../../api/annotations/index.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { SpiderSubnet } from "../../api/subnet.ts";
import type { ObjectMeta } from "../../api/meta.ts";
import { IPRangeSet, parseCIDR } from "../../ip/index.ts";
import { familyContext } from "../../ipam/family-plan.ts";
import { filterRefusal, type FilterCheck } from "../../ipam/filter.ts";
import { controllerOf, isPodAlive } from "../../ipam/pod.ts";
import { parseAllocatedIPs, poolAddresses } from "../../ipam/pool-state.ts";

/** How many pods a warning names before it counts the rest. */
export const NAMED_PODS = 10;

const AFFINITY_CHECKS: ReadonlySet<FilterCheck> = new Set([
  "nodeName",
  "nodeAffinity",
  "namespaceName",
  "namespaceAffinity",
  "podAffinity",
]);

export interface StrandingPod {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; restartPolicy?: string };
  status?: { phase?: string; reason?: string };
}

export interface StatefulSetLike {
  metadata: ObjectMeta;
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
}

export interface StrandingInput {
  old: SpiderIPPool;
  next: SpiderIPPool;
  /** The pods the old pool's records name, those that exist. */
  pods: readonly StrandingPod[];
  nodeLabels: (node: string) => Readonly<Record<string, string>>;
  namespaceLabels: (ns: string) => Readonly<Record<string, string>>;
  statefulSets: readonly StatefulSetLike[];
  /** For an auto-created pool: the size its application wants, and who that is. */
  autoPool?: { app: string; desired: number };
}

function effectiveSize(p: SpiderIPPool): number | undefined {
  try {
    return Number(poolAddresses(p.spec).effective.size);
  } catch {
    return undefined;
  }
}

function names(items: readonly string[]): string {
  const shown = items.slice(0, NAMED_PODS).join(", ");
  return items.length > NAMED_PODS ? `${shown} and ${items.length - NAMED_PODS} more` : shown;
}

/** The StatefulSets whose pod template names `pool` in its ippool or ippools annotation. */
export function statefulSetsNaming(pool: string, sets: readonly StatefulSetLike[]): StatefulSetLike[] {
  return sets.filter((s) => {
    const a = s.spec?.template?.metadata?.annotations ?? {};
    try {
      const lists: string[][] = [];
      if (a[ANNO_POD_IPPOOLS] !== undefined)
        for (const it of parseIPPoolsAnnotation(a[ANNO_POD_IPPOOLS] as string, "eth0").items)
          lists.push(it.ipv4, it.ipv6);
      if (a[ANNO_POD_IPPOOL] !== undefined) {
        const sel = parseIPPoolAnnotation(a[ANNO_POD_IPPOOL] as string);
        lists.push(sel.ipv4, sel.ipv6);
      }
      return lists.some((l) => l.includes(pool));
    } catch {
      return false;
    }
  });
}

function workloadOf(pod: StrandingPod): string {
  const ref = controllerOf(pod.metadata);
  return ref === undefined ? "" : ` (${ref.kind} ${pod.metadata.namespace ?? ""}/${ref.name})`;
}

export function poolChangeWarnings(i: StrandingInput): string[] {
  const { old, next } = i;
  if (JSON.stringify(old.spec) === JSON.stringify(next.spec)) return [];
  const name = next.metadata.name ?? "";
  const out: string[] = [];
  const before = effectiveSize(old);
  const after = effectiveSize(next);
  if (after !== undefined && (before === undefined || after < before)) {
    const sets = statefulSetsNaming(name, i.statefulSets);
    const replicas = sets.reduce((n, s) => n + (s.spec?.replicas ?? 1), 0);
    if (replicas > after) {
      out.push(
        `SpiderIPPool ${name}: spec.ips minus spec.excludeIPs leaves ${after} addresses, but StatefulSet ${names(sets.map((s) => `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""} (${s.spec?.replicas ?? 1} replicas)`))} need ${replicas}: pods beyond the first ${after} will not get an address`,
      );
    }
    if (i.autoPool !== undefined && i.autoPool.desired > after) {
      out.push(
        `SpiderIPPool ${name}: spec.ips minus spec.excludeIPs leaves ${after} addresses, but its application ${i.autoPool.app} wants ${i.autoPool.desired}`,
      );
    }
  }
  let family: 4 | 6;
  try {
    family = parseCIDR(next.spec.subnet).family;
  } catch {
    return out;
  }
  const held = new Set<string>();
  try {
    for (const rec of parseAllocatedIPs(old.status?.allocatedIPs).values()) held.add(rec.podUid);
  } catch {
    return out;
  }
  const stranded: string[] = [];
  let reason = "";
  for (const pod of i.pods) {
    if (!held.has(pod.metadata.uid ?? "") || !isPodAlive(pod)) continue;
    const ctx = familyContext({
      family,
      nic: { nic: "eth0", v4: [], v6: [], cleanGateway: false },
      named: true,
      pod,
      // Auto-pools' application check is not an affinity a user tightens.
      top: { apiVersion: "v1", kind: "Pod", namespace: "", name: "", uid: "" },
      nodeLabels: i.nodeLabels(pod.spec?.nodeName ?? ""),
      namespaceLabels: i.namespaceLabels(pod.metadata.namespace ?? ""),
      agentNamespace: "",
      clusterNetwork: "",
    });
    const now = filterRefusal(next, ctx);
    if (now === undefined || !AFFINITY_CHECKS.has(now.check)) continue;
    const was = filterRefusal(old, ctx);
    if (was !== undefined && was.check === now.check) continue;
    stranded.push(`${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}${workloadOf(pod)}`);
    if (reason === "") reason = now.reason;
  }
  if (stranded.length > 0) {
    out.push(
      `SpiderIPPool ${name}: ${stranded.length} running pod(s) holding its addresses no longer match it ("${reason}"); their next sandbox fails: ${names(stranded)}`,
    );
  }
  return out;
}

export interface SubnetStrandingInput {
  old: SpiderSubnet;
  next: SpiderSubnet;
  /** The subnet's pools (same CIDR, live), each with what its application wants when it is an auto-pool. */
  pools: ReadonlyArray<{ pool: SpiderIPPool; want?: { app: string; desired: number } }>;
}

function freeOf(s: SpiderSubnet, pools: readonly SpiderIPPool[]): number | undefined {
  try {
    const family = parseCIDR(s.spec.subnet).family;
    let free = IPRangeSet.parse(family, s.spec.ips ?? []).subtract(IPRangeSet.parse(family, s.spec.excludeIPs ?? []));
    for (const p of pools) free = free.subtract(poolAddresses(p.spec).effective);
    return Number(free.size);
  } catch {
    return undefined;
  }
}

/**
 * A SpiderSubnet change that leaves fewer free addresses than its auto-created pools need to
 * reach their applications' sizes: the next scale-up of those applications fails.
 */
export function subnetChangeWarnings(i: SubnetStrandingInput): string[] {
  if (JSON.stringify(i.old.spec) === JSON.stringify(i.next.spec)) return [];
  const pools = i.pools.map((p) => p.pool);
  const before = freeOf(i.old, pools);
  const after = freeOf(i.next, pools);
  if (after === undefined || (before !== undefined && after >= before)) return [];
  const short: string[] = [];
  let need = 0;
  for (const { pool, want } of i.pools) {
    if (want === undefined) continue;
    const size = effectiveSize(pool) ?? 0;
    if (want.desired > size) {
      need += want.desired - size;
      short.push(`${pool.metadata.name ?? ""} of ${want.app} (${size} of ${want.desired})`);
    }
  }
  if (need <= after) return [];
  return [
    `SpiderSubnet ${i.next.metadata.name ?? ""}: leaves ${after} free addresses, but its auto-created pools need ${need} more to reach their applications' sizes: ${names(short)}`,
  ];
}
