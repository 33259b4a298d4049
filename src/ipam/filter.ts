/**
 * Per-pool filters in the spec's order (§1.7) with upstream's reasons, and the sort of the
 * survivors by specificity (§1.8). Ties keep the user's order (upstream's order for ties is
 * random; see docs/compatibility.md).
 */
import {
  AFFINITY_APP_API_GROUP,
  AFFINITY_APP_API_VERSION,
  AFFINITY_APP_KIND,
  AFFINITY_APP_NAME,
  AFFINITY_APP_NAMESPACE,
  ANNO_MULTUS_DEFAULT_NETWORK,
  ANNO_MULTUS_NETWORKS,
  LABEL_OWNER_APPLICATION_NAME,
  parseMultusDefaultNetwork,
  parseMultusNetworks,
} from "../api/annotations/index.ts";
import type { IPPoolSpec } from "../api/ippool.ts";
import type { ObjectMeta } from "../api/meta.ts";
import { matchesLabelSelector } from "../api/selector.ts";
import { cidrContainsIP, tryParseCIDR, tryParseIP } from "../ip/index.ts";
import { goList } from "./errors.ts";
import type { TopController } from "./pod.ts";

export interface PoolForFilter {
  metadata: ObjectMeta;
  spec: IPPoolSpec;
}

export interface FilterContext {
  family: 4 | 6;
  nic: string;
  /** True when the NIC is the pod's first (eth0, or "0" in no-name mode). */
  firstNic: boolean;
  pod: {
    namespace: string;
    name: string;
    labels: Readonly<Record<string, string>>;
    annotations: Readonly<Record<string, string>>;
    nodeName: string;
  };
  nodeLabels: Readonly<Record<string, string>>;
  namespaceLabels: Readonly<Record<string, string>>;
  top: TopController;
  /** The agent's namespace: bare multus names live there. */
  agentNamespace: string;
  /** MULTUS_CLUSTER_NETWORK (`ns/name`), used when the pod names no default network. */
  clusterNetwork: string;
  /**
   * Set when the netconf asks for `match_master_subnet`: the interface behind the pod's NIC
   * (a macvlan's or ipvlan's parent, an SR-IOV VF's PF) and its addresses on the node.
   */
  master?: MasterInterface;
}

export interface MasterInterface {
  name: string;
  /** Addresses without prefix, any family. */
  addresses: readonly string[];
}

/** Splits `apps/v1` into group and version (`v1` → group ""). */
export function splitApiVersion(apiVersion: string): [string, string] {
  const i = apiVersion.indexOf("/");
  return i < 0 ? ["", apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

/** The `ns/name` of the NetworkAttachmentDefinition behind this NIC, or a reason. */
function multusOf(
  ctx: FilterContext,
  pool: string,
  multusNames: readonly string[],
): { ns: string; name: string } | string {
  if (ctx.firstNic) {
    const anno = ctx.pod.annotations[ANNO_MULTUS_DEFAULT_NETWORK];
    if (anno !== undefined && anno !== "") {
      const sel = parseMultusDefaultNetwork(anno, ctx.agentNamespace);
      return { ns: sel.namespace, name: sel.name };
    }
    if (ctx.clusterNetwork !== "") {
      const [ns, name] = ctx.clusterNetwork.includes("/")
        ? ctx.clusterNetwork.split("/", 2)
        : [ctx.agentNamespace, ctx.clusterNetwork];
      return { ns: ns as string, name: name as string };
    }
    return `cluster-network multus isn't set, the IPPool ${pool} specified multusName ${goList(multusNames)} unmatched`;
  }
  const nets = parseMultusNetworks(ctx.pod.annotations[ANNO_MULTUS_NETWORKS] ?? "", ctx.pod.namespace);
  const found = nets.find((n, i) => (n.interface ?? `net${i + 1}`) === ctx.nic || String(i + 1) === ctx.nic);
  if (found === undefined) {
    return `unknown: no matched multus object for NIC '${ctx.nic}'. The multus network-attachments: ${JSON.stringify(nets)}`;
  }
  return { ns: found.namespace, name: found.name };
}

/** Which of the filters (§1.7) refused a pool: what `explain` keys its advice on. */
export type FilterCheck =
  | "terminating"
  | "disabled"
  | "family"
  | "nodeName"
  | "nodeAffinity"
  | "namespaceName"
  | "namespaceAffinity"
  | "podAffinity"
  | "autoPoolApp"
  | "multus"
  | "masterSubnet";

export interface FilterRefusal {
  check: FilterCheck;
  /** Upstream's words, as the agent reports them. */
  reason: string;
}

/** Why `pool` may not serve this NIC and family, or undefined when it may. */
export function filterReason(pool: PoolForFilter, ctx: FilterContext): string | undefined {
  return filterRefusal(pool, ctx)?.reason;
}

/** The filter that refuses `pool` for this NIC and family, or undefined when all keep it. */
export function filterRefusal(pool: PoolForFilter, ctx: FilterContext): FilterRefusal | undefined {
  // Step 9 is a filter of its own upstream, after the others: an auto-created pool that
  // passes step 6a still has to match the master's subnet.
  return affinityRefusal(pool, ctx) ?? masterSubnetRefusal(pool, ctx);
}

/** Step 9: the pool's subnet must hold an address the master interface has on the node. */
function masterSubnetRefusal(pool: PoolForFilter, ctx: FilterContext): FilterRefusal | undefined {
  if (ctx.master === undefined) return undefined;
  const subnet = tryParseCIDR(pool.spec.subnet);
  const inSubnet = (a: string): boolean => {
    const ip = tryParseIP(a);
    return subnet !== undefined && ip !== undefined && cidrContainsIP(subnet, ip.family, ip.value);
  };
  if (ctx.master.addresses.some(inSubnet)) return undefined;
  return {
    check: "masterSubnet",
    reason: `filterPoolCandidatesByPfSubnet: the subnet ${pool.spec.subnet} of IPPool ${pool.metadata.name ?? ""} holds no address of the master interface ${ctx.master.name} ${goList(ctx.master.addresses)}`,
  };
}

function affinityRefusal(pool: PoolForFilter, ctx: FilterContext): FilterRefusal | undefined {
  const no = (check: FilterCheck, reason: string): FilterRefusal => ({ check, reason });
  const name = pool.metadata.name ?? "";
  const s = pool.spec;
  if (pool.metadata.deletionTimestamp !== undefined) return no("terminating", `terminating IPPool ${name}`);
  if (s.disable === true) return no("disabled", `disabled IPPool ${name}`);
  if (s.ipVersion !== undefined && s.ipVersion !== ctx.family) {
    return no(
      "family",
      `expect an IPv${ctx.family} IPPool, but the version of the IPPool ${name} is IPv${s.ipVersion}`,
    );
  }
  if ((s.nodeName ?? []).length > 0) {
    if (!(s.nodeName ?? []).includes(ctx.pod.nodeName)) return no("nodeName", `unmatched Node name of IPPool ${name}`);
  } else if (s.nodeAffinity !== undefined && !matchesLabelSelector(s.nodeAffinity, ctx.nodeLabels)) {
    return no("nodeAffinity", `unmatched Node affinity of IPPool ${name}`);
  }
  if ((s.namespaceName ?? []).length > 0) {
    if (!(s.namespaceName ?? []).includes(ctx.pod.namespace))
      return no("namespaceName", `unmatched Namespace name of IPPool ${name}`);
  } else if (s.namespaceAffinity !== undefined && !matchesLabelSelector(s.namespaceAffinity, ctx.namespaceLabels)) {
    return no("namespaceAffinity", `unmatched Namespace affinity of IPPool ${name}`);
  }
  if (s.podAffinity !== undefined) {
    if (pool.metadata.labels?.[LABEL_OWNER_APPLICATION_NAME] !== undefined) {
      const ml = s.podAffinity.matchLabels ?? {};
      const [group, version] = splitApiVersion(ctx.top.apiVersion);
      const ok =
        (ml[AFFINITY_APP_API_GROUP] ?? "") === group &&
        ml[AFFINITY_APP_API_VERSION] === version &&
        ml[AFFINITY_APP_KIND] === ctx.top.kind &&
        ml[AFFINITY_APP_NAMESPACE] === ctx.top.namespace &&
        ml[AFFINITY_APP_NAME] === ctx.top.name;
      // An auto-created pool that belongs to this application needs no multus check.
      return ok ? undefined : no("autoPoolApp", `unmatched Pod annifity of auto-created IPool ${name}`);
    }
    if (!matchesLabelSelector(s.podAffinity, ctx.pod.labels))
      return no("podAffinity", `unmatched Pod affinity of IPPool ${name}`);
  }
  const multusNames = s.multusName ?? [];
  if (multusNames.length > 0) {
    const m = multusOf(ctx, name, multusNames);
    if (typeof m === "string") return no("multus", m);
    const wanted = multusNames.map((n) => (n.includes("/") ? n : `${ctx.agentNamespace}/${n}`));
    if (!wanted.includes(`${m.ns}/${m.name}`)) {
      return no(
        "multus",
        `the spec.multusName ${goList(multusNames)} in the IPPool ${name} used by the Pod interface ${ctx.nic} is not matched with the multusCR ${m.ns}/${m.name} specified by the Pod`,
      );
    }
  }
  return undefined;
}

/** Every pool's verdict in the given order, and the survivors in the order they are tried (§1.7–§1.8). */
export function filterPools<T extends PoolForFilter>(
  pools: readonly T[],
  ctx: FilterContext,
): { verdicts: Array<{ pool: T; refusal: FilterRefusal | undefined }>; survivors: T[] } {
  const verdicts = pools.map((pool) => ({ pool, refusal: filterRefusal(pool, ctx) }));
  return { verdicts, survivors: sortPools(verdicts.filter((v) => v.refusal === undefined).map((v) => v.pool)) };
}

function score(s: IPPoolSpec): number[] {
  const set = (v: unknown): number => (v === undefined || (Array.isArray(v) && v.length === 0) ? 0 : 1);
  return [
    set(s.podAffinity),
    set(s.nodeName),
    set(s.nodeAffinity),
    set(s.namespaceName),
    set(s.namespaceAffinity),
    set(s.multusName),
  ];
}

/** More specific pools first; equally specific pools keep their given order. */
export function sortPools<T extends PoolForFilter>(pools: readonly T[]): T[] {
  return pools
    .map((p, i) => ({ p, i, s: score(p.spec) }))
    .sort((a, b) => {
      for (let k = 0; k < a.s.length; k++) {
        const d = (b.s[k] as number) - (a.s[k] as number);
        if (d !== 0) return d;
      }
      return a.i - b.i;
    })
    .map((x) => x.p);
}
