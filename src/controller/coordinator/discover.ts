/**
 * The SpiderCoordinator status decision (node-networking §2.4), pure: from what the
 * executor read (CNI config files, kubeadm-config, kube-controller-manager pods, Calico and
 * Cilium objects, ServiceCIDRs) to the phase, reason, CIDR lists and Events. Upstream's
 * texts are kept where users and tests match them.
 */
import { tryParseCIDR } from "../../ip/index.ts";

export type ResolvedCidrType = "cluster" | "calico" | "cilium" | "none";

export interface CniConfFile {
  name: string;
  content: string;
}

/**
 * podCIDRType `auto`: the first (by file name) `.conf`/`.conflist` in the CNI directory that
 * is not Multus's names the cluster's default CNI.
 */
export function cniTypeFromConfigs(files: readonly CniConfFile[]): ResolvedCidrType {
  const first = files
    .filter((f) => (f.name.endsWith(".conf") || f.name.endsWith(".conflist")) && !f.name.includes("00-multus"))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
  if (first === undefined) return "none";
  let name: unknown;
  try {
    name = (JSON.parse(first.content) as { name?: unknown }).name;
  } catch {
    return "none";
  }
  switch (name) {
    case "calico":
    case "k8s-pod-network":
      return "calico";
    case "cilium":
      return "cilium";
    case "flannel":
      return "cluster";
    default:
      return "none";
  }
}

function cidrList(text: string, sep: RegExp | string = ","): string[] {
  return text
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== "" && tryParseCIDR(s) !== undefined);
}

export interface ClusterCidrs {
  pod: string[];
  service: string[];
}

/** `podSubnet:` and `serviceSubnet:` of kubeadm-config's `ClusterConfiguration`. */
export function kubeadmCidrs(clusterConfiguration: string | undefined): ClusterCidrs {
  const text = clusterConfiguration ?? "";
  const pod = /podSubnet:\s*(\S+)/.exec(text)?.[1];
  const svc = /serviceSubnet:\s*(\S+)/.exec(text)?.[1];
  return { pod: pod === undefined ? [] : cidrList(pod), service: svc === undefined ? [] : cidrList(svc) };
}

export interface KcmPod {
  spec?: { containers?: Array<{ command?: string[]; args?: string[] }> };
}

/** `--cluster-cidr=` and `--service-cluster-ip-range=` of the first container of the first pod. */
export function kcmCidrs(pod: KcmPod): ClusterCidrs {
  const c = pod.spec?.containers?.[0];
  const words = [...(c?.command ?? []), ...(c?.args ?? [])];
  const flag = (name: string): string[] => {
    for (const w of words) {
      const m = new RegExp(`--${name}=(.*)`).exec(w);
      if (m?.[1] !== undefined) return cidrList(m[1]);
    }
    return [];
  };
  return { pod: flag("cluster-cidr"), service: flag("service-cluster-ip-range") };
}

interface Dated {
  metadata?: { creationTimestamp?: string; deletionTimestamp?: string; name?: string };
}

function liveByCreation<T extends Dated>(items: readonly T[]): T[] {
  return items
    .filter((i) => i.metadata?.deletionTimestamp === undefined)
    .sort((a, b) => {
      const x = a.metadata?.creationTimestamp ?? "";
      const y = b.metadata?.creationTimestamp ?? "";
      return x < y ? -1 : x > y ? 1 : (a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1;
    });
}

export interface CalicoIPPool extends Dated {
  spec?: { cidr?: string; disabled?: boolean };
}

export function calicoCidrs(pools: readonly CalicoIPPool[]): string[] {
  return liveByCreation(pools)
    .filter((p) => p.spec?.disabled !== true && (p.spec?.cidr ?? "") !== "")
    .map((p) => p.spec?.cidr as string);
}

export interface CiliumPodIPPool extends Dated {
  spec?: { ipv4?: { cidrs?: string[] }; ipv6?: { cidrs?: string[] } };
}

export function ciliumPoolCidrs(pools: readonly CiliumPodIPPool[]): string[] {
  const live = liveByCreation(pools);
  // All IPv4 CIDRs first, then all IPv6, as upstream appends them.
  return [...live.flatMap((p) => p.spec?.ipv4?.cidrs ?? []), ...live.flatMap((p) => p.spec?.ipv6?.cidrs ?? [])];
}

export interface ServiceCidrObject extends Dated {
  spec?: { cidrs?: string[] };
}

export function serviceCidrs(objs: readonly ServiceCidrObject[]): string[] {
  return liveByCreation(objs).flatMap((o) => o.spec?.cidrs ?? []);
}

/** Everything one reconcile read; `undefined` where the source is absent or was not needed. */
export interface CoordinatorInputs {
  type: ResolvedCidrType | { error: string };
  kubeadm: ClusterCidrs;
  /** Read only when kubeadm-config leaves a list empty. */
  kcm: { error: string } | KcmPod[] | undefined;
  calico: { error: string } | CalicoIPPool[] | undefined;
  cilium:
    | { error: string; event?: { reason: string; message: string } }
    | { data: Record<string, string>; pools: CiliumPodIPPool[] | undefined }
    | undefined;
  /** Present when ServiceCIDRs are served. */
  serviceCidrs: ServiceCidrObject[] | undefined;
}

export interface CoordinatorEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface CoordinatorStatusPlan {
  phase: "Synced" | "NotReady";
  reason: string;
  overlayPodCIDR: string[];
  serviceCIDR: string[];
  events: CoordinatorEvent[];
}

export const NO_KCM_POD = "No kube-controller-manager pod found, unable to get clusterCIDR";
export const CLUSTER_NOT_READY = "Neither kubeadm-config ConfigMap nor kube-controller-manager Pod can be found";

const notReady = (reason: string, events: CoordinatorEvent[] = []): CoordinatorStatusPlan => ({
  phase: "NotReady",
  reason,
  overlayPodCIDR: [],
  serviceCIDR: [],
  events,
});

/** Whether the kube-controller-manager pods are needed (kubeadm-config left a list empty). */
export function needsKcm(kubeadm: ClusterCidrs): boolean {
  return kubeadm.pod.length === 0 || kubeadm.service.length === 0;
}

export function planCoordinatorStatus(i: CoordinatorInputs): CoordinatorStatusPlan {
  if (typeof i.type === "object") return notReady(i.type.error);
  let k8s = i.kubeadm;
  if (needsKcm(k8s)) {
    const kcm = i.kcm ?? [];
    if (!Array.isArray(kcm))
      return notReady(kcm.error, [{ type: "Warning", reason: "ClusterNotReady", message: CLUSTER_NOT_READY }]);
    const first = kcm[0];
    if (first === undefined) return notReady(NO_KCM_POD);
    const fromPod = kcmCidrs(first);
    k8s = {
      pod: k8s.pod.length > 0 ? k8s.pod : fromPod.pod,
      service: k8s.service.length > 0 ? k8s.service : fromPod.service,
    };
  }
  let overlay: string[];
  switch (i.type) {
    case "cluster":
      overlay = k8s.pod;
      break;
    case "calico": {
      const c = i.calico ?? { error: "the Calico IPPools were not read" };
      if (!Array.isArray(c)) return notReady(c.error);
      overlay = calicoCidrs(c);
      break;
    }
    case "cilium": {
      const c = i.cilium ?? { error: "the Cilium ConfigMap was not read" };
      if ("error" in c) return notReady(c.error, c.event ? [{ type: "Warning", ...c.event }] : []);
      const r = ciliumOverlay(c.data, c.pools, k8s.pod);
      if ("error" in r) return notReady(r.error);
      overlay = r.cidrs;
      break;
    }
    case "none":
      overlay = [];
      break;
  }
  const service = i.serviceCidrs !== undefined ? serviceCidrs(i.serviceCidrs) : k8s.service;
  return { phase: "Synced", reason: "", overlayPodCIDR: overlay, serviceCIDR: service, events: [] };
}

export const CILIUM_MULTI_POOL_UNAVAILABLE = "the cilium multi-pool feature is unavailable";

/**
 * Cilium's pod CIDRs by its IPAM mode. Upstream refuses every mode when the
 * CiliumPodIPPool kind is missing; here only multi-pool needs it (docs/compatibility.md).
 */
export function ciliumOverlay(
  data: Record<string, string>,
  pools: CiliumPodIPPool[] | undefined,
  k8sPod: string[],
): { cidrs: string[] } | { error: string } {
  const mode = data["ipam"] ?? "";
  switch (mode) {
    case "cluster-pool":
    case "cluster-pool-v2beta":
      // Cilium writes a list of CIDRs separated by spaces.
      return {
        cidrs: [
          ...cidrList(data["cluster-pool-ipv4-cidr"] ?? "", /[\s,]+/),
          ...cidrList(data["cluster-pool-ipv6-cidr"] ?? "", /[\s,]+/),
        ],
      };
    case "multi-pool":
      if (pools === undefined) return { error: CILIUM_MULTI_POOL_UNAVAILABLE };
      return { cidrs: ciliumPoolCidrs(pools) };
    case "kubernetes":
      return { cidrs: k8sPod };
    default:
      return { error: `unsupported CIlium IPAM mode: ${mode}` };
  }
}
