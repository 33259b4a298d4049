/** Pod facts the allocation core decides on: liveness, top controller, StatefulSet and KubeVirt validity. */
import type { IPAllocationDetail } from "../api/endpoint.ts";
import type { ObjectMeta, OwnerReference } from "../api/meta.ts";

export interface PodLike {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; restartPolicy?: string };
  status?: { phase?: string; reason?: string };
}

/** Upstream's IsPodAlive: a pod that will never run again gets no addresses and keeps none on DEL. */
export function isPodAlive(pod: PodLike): boolean {
  if (pod.metadata.deletionTimestamp !== undefined) return false;
  const phase = pod.status?.phase;
  const restart = pod.spec?.restartPolicy ?? "Always";
  if (phase === "Succeeded" && restart !== "Always") return false;
  if (phase === "Failed" && restart === "Never") return false;
  if (phase === "Failed" && pod.status?.reason === "Evicted") return false;
  return true;
}

export interface TopController {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** The owner objects the resolution may need (ReplicaSets and Jobs), fetched by the caller. */
export type OwnerLookup = (
  kind: "ReplicaSet" | "Job",
  namespace: string,
  name: string,
) => Promise<{ metadata: ObjectMeta } | undefined>;

const BUILTIN_GROUPS = new Set(["v1", "apps/v1", "batch/v1"]);

/** The owner reference marked as controller, if any. */
export function controllerOf(meta: ObjectMeta): OwnerReference | undefined {
  return meta.ownerReferences?.find((o) => o.controller === true);
}

/**
 * The workload a pod belongs to (spec §1.3.2): Deployment for ReplicaSet-owned pods with
 * a Deployment owner, CronJob for Job-owned pods with a CronJob owner, the controller
 * itself otherwise, the pod for orphans; third-party controllers as their ownerRef says.
 */
export async function resolveTopController(pod: PodLike, lookup: OwnerLookup): Promise<TopController> {
  const ns = pod.metadata.namespace ?? "";
  const ref = controllerOf(pod.metadata);
  if (ref === undefined) {
    return { apiVersion: "v1", kind: "Pod", namespace: ns, name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "" };
  }
  const self: TopController = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    namespace: ns,
    name: ref.name,
    uid: ref.uid,
  };
  if (!BUILTIN_GROUPS.has(ref.apiVersion)) return self;
  const parentKind = ref.kind === "ReplicaSet" ? "Deployment" : ref.kind === "Job" ? "CronJob" : undefined;
  if (parentKind === undefined) return self;
  const owner = await lookup(ref.kind as "ReplicaSet" | "Job", ns, ref.name);
  if (owner === undefined) throw new Error(`failed to get ${ref.kind} ${ns}/${ref.name}`);
  const parent = controllerOf(owner.metadata);
  if (parent !== undefined && parent.kind === parentKind && BUILTIN_GROUPS.has(parent.apiVersion)) {
    return { apiVersion: parent.apiVersion, kind: parent.kind, namespace: ns, name: parent.name, uid: parent.uid };
  }
  return self;
}

/** What a pod's controller makes it: fixed addresses for an apps/v1 StatefulSet or a kubevirt.io/v1 VMI, when enabled. */
export type WorkloadKind = "stateless" | "statefulset" | "kubevirt";

export interface FixedAddressSwitches {
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
}

/**
 * By group and kind: an OpenKruise Advanced StatefulSet is a "StatefulSet" of apps.kruise.io,
 * whose pods are stateless (ipam-behavior §3.1).
 */
export function workloadKind(
  owner: { apiVersion: string; kind: string } | undefined,
  on: FixedAddressSwitches,
): WorkloadKind {
  if (owner?.kind === "StatefulSet" && owner.apiVersion === "apps/v1" && on.enableStatefulSet) return "statefulset";
  if (owner?.kind === "VirtualMachineInstance" && owner.apiVersion === "kubevirt.io/v1" && on.enableKubevirtStaticIP)
    return "kubevirt";
  return "stateless";
}

/**
 * The same from a SpiderEndpoint's `ownerControllerType`, which records the kind alone: only
 * for when the pod, and so its owner's group, is not known.
 */
export function workloadKindOfEndpoint(
  ownerControllerType: string | undefined,
  on: FixedAddressSwitches,
): WorkloadKind {
  if (ownerControllerType === "StatefulSet" && on.enableStatefulSet) return "statefulset";
  if (ownerControllerType === "VirtualMachineInstance" && on.enableKubevirtStaticIP) return "kubevirt";
  return "stateless";
}

/** `(.*)-([0-9]+)$` and the StatefulSet's replicas (and ordinals.start) decide validity (spec §3.2). */
export function isValidStatefulSetPod(
  podName: string,
  sts: { metadata: ObjectMeta; spec?: { replicas?: number; ordinals?: { start?: number } } } | undefined,
): boolean {
  const m = /^(.*)-([0-9]+)$/.exec(podName);
  if (m === null || sts === undefined) return false;
  if (m[1] !== sts.metadata.name) return false;
  const ordinal = Number(m[2]);
  const replicas = sts.spec?.replicas ?? 1;
  const start = sts.spec?.ordinals?.start ?? 0;
  return ordinal >= start && ordinal <= start + replicas - 1;
}

type Obj = { metadata: ObjectMeta };

/** A KubeVirt VM pod is valid while its VMI lives, or its VM lives and is not being deleted (spec §3.3). */
export function isValidVMPod(vmi: Obj | undefined, vm: Obj | undefined): boolean {
  if (vmi !== undefined && vmi.metadata.deletionTimestamp === undefined) return true;
  if (vmi !== undefined) {
    const owner = controllerOf(vmi.metadata);
    const byVm = owner?.kind === "VirtualMachine" && owner.apiVersion === "kubevirt.io/v1";
    if (!byVm) return false;
  }
  return vm !== undefined && vm.metadata.deletionTimestamp === undefined;
}

/** The bare addresses of an endpoint's items, grouped by the pool they came from. */
export function poolsOf(items: readonly IPAllocationDetail[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const it of items) {
    for (const [pool, cidr] of [
      [it.ipv4Pool, it.ipv4],
      [it.ipv6Pool, it.ipv6],
    ] as const) {
      if (pool === undefined || cidr === undefined) continue;
      const list = out.get(pool) ?? [];
      list.push(cidr.split("/")[0] as string);
      out.set(pool, list);
    }
  }
  return out;
}
