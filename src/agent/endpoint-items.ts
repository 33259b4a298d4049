/**
 * Pure helpers over SpiderEndpoint items: the CNI answer they record, the endpoint an ADD
 * writes, and the edits an ADD makes to one it finds.
 */
import type { IPAllocationDetail, SpiderEndpoint } from "../api/endpoint.ts";
import { API_VERSION, SPIDER_FINALIZER } from "../api/group.ts";
import { canonicalIP } from "../ip/index.ts";
import { poolsOf, type TopController } from "../ipam/pod.ts";
import type { IpConfig, NicRoute } from "../ipam/result.ts";

export interface AddResponse {
  ips: IpConfig[];
  routes: NicRoute[];
}

/** The addresses and routes recorded in endpoint items, as a CNI response. */
export function fromEndpoint(items: readonly IPAllocationDetail[]): AddResponse {
  const ips: IpConfig[] = [];
  const routes: NicRoute[] = [];
  for (const it of items) {
    for (const fam of [4, 6] as const) {
      const address = fam === 4 ? it.ipv4 : it.ipv6;
      if (address === undefined) continue;
      const gateway = fam === 4 ? it.ipv4Gateway : it.ipv6Gateway;
      const ipc: IpConfig = {
        nic: it.interface,
        family: fam,
        address,
        pool: (fam === 4 ? it.ipv4Pool : it.ipv6Pool) ?? "",
      };
      if (gateway !== undefined) ipc.gateway = gateway;
      ips.push(ipc);
      if (gateway !== undefined && it.cleanGateway !== true)
        routes.push({ dst: fam === 4 ? "0.0.0.0/0" : "::/0", gw: gateway, nic: it.interface });
    }
    for (const r of it.routes ?? []) routes.push({ dst: r.dst, gw: r.gw, nic: it.interface });
  }
  return { ips, routes };
}

/** A pool and an address (with or without its prefix length), compared in canonical form. */
export function recordKey(pool: string, ip: string): string {
  const bare = ip.split("/")[0] ?? "";
  try {
    return `${pool} ${canonicalIP(bare)}`;
  } catch {
    return `${pool} ${bare}`;
  }
}

/** True when `items` record every address of `drawn`, each from the same pool. */
export function listsAll(items: readonly IPAllocationDetail[], drawn: readonly IPAllocationDetail[]): boolean {
  const have = new Set<string>();
  for (const [pool, ips] of poolsOf(items)) for (const ip of ips) have.add(recordKey(pool, ip));
  for (const [pool, ips] of poolsOf(drawn)) for (const ip of ips) if (!have.has(recordKey(pool, ip))) return false;
  return true;
}

/** True when the endpoint answers for `ifName`: an item of that name, or one still unnamed. */
export function hasNic(items: readonly IPAllocationDetail[], ifName: string): boolean {
  return items.some((i) => i.interface === ifName || i.interface === "");
}

/** The no-name multi-NIC case: the first unnamed item becomes `ifName`'s when it has none. */
export function claimUnnamed(items: IPAllocationDetail[], ifName: string): IPAllocationDetail[] {
  const empty = items.findIndex((i) => i.interface === "");
  if (!items.some((i) => i.interface === ifName) && empty >= 0)
    items[empty] = { ...items[empty], interface: ifName } as IPAllocationDetail;
  return items;
}

export interface NewEndpoint {
  ns: string;
  name: string;
  podName: string;
  podUid: string;
  node: string;
  top: TopController;
  /** StatefulSet and KubeVirt endpoints outlive their pods; stateless ones go with them. */
  outlivesPod: boolean;
  items: IPAllocationDetail[];
}

export function buildEndpoint(n: NewEndpoint): SpiderEndpoint {
  const ep: SpiderEndpoint = {
    apiVersion: API_VERSION,
    kind: "SpiderEndpoint",
    metadata: { name: n.name, namespace: n.ns, finalizers: [SPIDER_FINALIZER] },
    status: {
      current: { uid: n.podUid, node: n.node, ips: n.items },
      ownerControllerType: n.top.kind,
      ownerControllerName: n.top.name,
    },
  };
  if (!n.outlivesPod) {
    ep.metadata.ownerReferences = [
      { apiVersion: "v1", kind: "Pod", name: n.podName, uid: n.podUid, controller: true, blockOwnerDeletion: true },
    ];
  }
  return ep;
}

/**
 * An endpoint that exists for the same pod takes the items of NICs it does not list yet;
 * another pod's, or one listing them all, is left as it is (undefined).
 */
export function mergeItems(cur: SpiderEndpoint, want: SpiderEndpoint): SpiderEndpoint | undefined {
  const status = want.status;
  if (status === undefined) return undefined;
  if (cur.status === undefined) return { ...cur, status };
  if (cur.status.current.uid !== status.current.uid) return undefined;
  const have = new Set(cur.status.current.ips.map((i) => i.interface));
  const add = status.current.ips.filter((i) => i.interface === "" || !have.has(i.interface));
  if (add.length === 0) return undefined;
  cur.status.current.ips.push(...add);
  return cur;
}
