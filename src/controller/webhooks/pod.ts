/**
 * The pod mutating webhook's group injection (spiderpool-api §2.6 step 1, node-networking
 * §3.6), pure: the inject annotation of the pod (else of its namespace) names a group of
 * SpiderMultusConfigs; the pod gets them as its Multus networks and one of each device
 * resource they need. A group that is empty or holds an SMC unfit for injection refuses
 * the pod, with upstream's texts.
 */
import {
  ANNO_MULTUS_NETWORKS,
  ANNO_NETWORK_RESOURCE_INJECT,
  ANNO_RDMA_RESOURCE_INJECT,
} from "../../api/annotations/index.ts";
import type { SpiderMultusConfig, SpiderpoolPools } from "../../api/multusconfig.ts";
import { AdmissionDenied } from "./verdict.ts";

export const INJECT_KEYS = [ANNO_RDMA_RESOURCE_INJECT, ANNO_NETWORK_RESOURCE_INJECT] as const;
export type InjectKey = (typeof INJECT_KEYS)[number];

export interface PodLike {
  metadata: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: {
    containers?: Array<{ resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> } }>;
  };
}

/** The group the pod asks for: the first key present on the pod, else on its namespace. */
export function injectGroup(
  pod: PodLike,
  nsAnnotations: Record<string, string> | undefined,
): { key: InjectKey; value: string } | undefined {
  for (const key of INJECT_KEYS) {
    const value = pod.metadata.annotations?.[key] ?? nsAnnotations?.[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

function sortKey(m: SpiderMultusConfig): string {
  const s = m.spec ?? {};
  switch (s.cniType) {
    case "macvlan":
    case "ipvlan":
    case "vlan": {
      const c = s[s.cniType];
      if (c === undefined) return "";
      if (c.master.length >= 2 && c.bond !== undefined) return c.bond.name;
      return c.master[0] ?? "";
    }
    case "sriov":
      return s.sriov?.resourceName ?? "";
    default:
      return "";
  }
}

/** The device-plugin resource an SMC's pods need, and the resource the rules check. */
function resources(m: SpiderMultusConfig): { inject: string; checked: string; pools: SpiderpoolPools | undefined } {
  const s = m.spec ?? {};
  switch (s.cniType) {
    case "macvlan":
    case "ipvlan":
    case "vlan": {
      const c = s[s.cniType];
      const r = c?.rdmaResourceName ?? "";
      return { inject: r, checked: r, pools: c?.ippools };
    }
    case "sriov":
      return { inject: s.sriov?.resourceName ?? "", checked: s.sriov?.resourceName ?? "", pools: s.sriov?.ippools };
    case "ib-sriov":
      return {
        inject: s.ibsriov?.resourceName ?? "",
        checked: s.ibsriov?.resourceName ?? "",
        pools: s.ibsriov?.ippools,
      };
    case "ipoib":
      // The master stands in for a resource in the rules only; it is an interface, not a device-plugin resource.
      return { inject: "", checked: s.ipoib?.master ?? "", pools: s.ipoib?.ippools };
    default:
      throw new AdmissionDenied(`RDMA resource injection does not support cniType: ${s.cniType ?? ""}`);
  }
}

const poolCount = (p: SpiderpoolPools | undefined) => (p?.ipv4?.length ?? 0) + (p?.ipv6?.length ?? 0);

/** The pod with its networks and resources; throws AdmissionDenied with upstream's texts. */
export function injectPod<P extends PodLike>(
  pod: P,
  group: { key: InjectKey; value: string },
  smcs: readonly SpiderMultusConfig[],
): P {
  if (smcs.length === 0)
    throw new AdmissionDenied(`no spidermultusconfigs with annotation: ${group.key}:${group.value} found`);
  const id = (m: SpiderMultusConfig) => `${m.metadata.namespace ?? ""}/${m.metadata.name ?? ""}`;
  const sorted = [...smcs].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;
  });
  const wanted: string[] = [];
  for (const m of sorted) {
    const r = resources(m);
    const [ns, name] = [m.metadata.namespace ?? "", m.metadata.name ?? ""];
    if (group.key === ANNO_RDMA_RESOURCE_INJECT && r.checked === "")
      throw new AdmissionDenied(`rdmaResourceName can not empty for spidermultusconfig ${ns}/${name}`);
    if ((group.key === ANNO_RDMA_RESOURCE_INJECT || r.checked !== "") && poolCount(r.pools) === 0)
      throw new AdmissionDenied(`no any ippools configured for spidermultusconfig ${ns}/${name}`);
    if (r.inject !== "" && !wanted.includes(r.inject)) wanted.push(r.inject);
  }
  const out = structuredClone(pod);
  out.metadata.annotations = { ...out.metadata.annotations, [ANNO_MULTUS_NETWORKS]: sorted.map(id).join(",") };
  const containers = out.spec?.containers ?? [];
  const present = new Set(containers.flatMap((c) => Object.keys(c.resources?.limits ?? {})));
  const first = containers[0];
  const missing = wanted.filter((r) => !present.has(r));
  if (first !== undefined && missing.length > 0) {
    first.resources ??= {};
    first.resources.limits = { ...first.resources.limits };
    for (const r of missing) first.resources.limits[r] = "1";
  }
  return out;
}
