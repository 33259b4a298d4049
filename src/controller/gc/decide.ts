/**
 * Garbage-collection decisions (ipam-behavior §4), pure: the trace entry a pod event
 * creates (§4.1) and what the periodic scan does with one pool record (§4.4). The runner
 * supplies the pod, the endpoint, node readiness and static-pod validity it looked up;
 * anything it could not look up is "unknown", and unknown never releases.
 */
import type { ObjectMeta } from "../../api/meta.ts";
import type { WorkloadKind } from "../../ipam/pod.ts";

export interface GcPod {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; hostNetwork?: boolean; terminationGracePeriodSeconds?: number };
  status?: {
    phase?: string;
    podIPs?: { ip: string }[];
    containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
  };
}

export interface GcConfig {
  enabled: boolean;
  terminatingOnReadyNode: boolean;
  terminatingOnNotReadyNode: boolean;
  runningPodOnEmptyPodIPs: boolean;
  additionalGraceDelaySeconds: number;
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
  /** `enableCleanOutdatedEndpoint`: the scan also deletes endpoints no pool record refers to. */
  cleanOutdatedEndpoint: boolean;
}

export type GcReason = "Deleted" | "Terminating" | "Succeeded" | "Failed" | "PodMissing" | "UIDMismatch" | "NoPodIPs";

/** What the pod is to the GC: stateless, or a static (StatefulSet / KubeVirt) pod. */
export type PodKind = WorkloadKind;

export interface TraceEntry {
  key: string;
  uid: string;
  reason: GcReason;
  /** Epoch ms after which the pod's addresses may go. */
  stopAt: number;
  /** Terminating/Succeeded/Failed entries are re-checked against the node flags at release time. */
  nodeGated: boolean;
}

const ms = (s: number): number => s * 1000;
const hasPodIPs = (p: GcPod): boolean => (p.status?.podIPs ?? []).length > 0;

/** Static pods are tracked only while invalid; the caller passes validity for static kinds. */
export function traceEntryFor(
  event: "add" | "update" | "delete",
  pod: GcPod,
  old: GcPod | undefined,
  kind: PodKind,
  staticValid: boolean | undefined,
  cfg: GcConfig,
  now: number,
): TraceEntry | undefined {
  if (pod.spec?.hostNetwork === true) return undefined;
  if (kind !== "stateless" && staticValid !== false) return undefined;
  const key = `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`;
  const uid = pod.metadata.uid ?? "";
  const delay = ms(cfg.additionalGraceDelaySeconds);
  if (event === "delete") return { key, uid, reason: "Deleted", stopAt: now + delay, nodeGated: false };
  const dts = pod.metadata.deletionTimestamp;
  const newlyTerminating = dts !== undefined && (event === "add" || old?.metadata.deletionTimestamp === undefined);
  const graceChanged =
    dts !== undefined &&
    old !== undefined &&
    old.metadata.deletionGracePeriodSeconds !== pod.metadata.deletionGracePeriodSeconds;
  if (newlyTerminating || graceChanged) {
    const grace = pod.metadata.deletionGracePeriodSeconds;
    if (grace === undefined) return undefined;
    // As upstream: the grace period is added to a deletionTimestamp that already includes
    // it. The kubelet starts its own countdown only when it notices the delete and the CNI
    // DEL comes after the containers stop, so the pod may hold its address well past the
    // timestamp; the second grace period is that slack.
    return { key, uid, reason: "Terminating", stopAt: Date.parse(dts) + ms(grace) + delay, nodeGated: true };
  }
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") {
    const changed = event === "add" || old?.status?.phase !== phase;
    if (!changed) return undefined;
    const finished = (pod.status?.containerStatuses ?? [])
      .map((c) => Date.parse(c.state?.terminated?.finishedAt ?? ""))
      .filter((t) => !Number.isNaN(t));
    if (finished.length === 0) return undefined;
    const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
    return { key, uid, reason: phase, stopAt: Math.max(...finished) + ms(grace) + delay, nodeGated: true };
  }
  return undefined;
}

/**
 * A node's readiness as upstream reads it: a node without a Ready condition is not ready;
 * undefined only when the node itself is unknown.
 */
export function nodeReadiness(
  node: { status?: { conditions?: readonly { type: string; status: string }[] } } | undefined,
): boolean | undefined {
  if (node === undefined) return undefined;
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/** Whether the node flags let a terminating/finished stateless pod's addresses go; undefined node → no. */
export function nodeAllows(nodeReady: boolean | undefined, cfg: GcConfig): boolean {
  if (nodeReady === undefined) return false;
  return nodeReady ? cfg.terminatingOnReadyNode : cfg.terminatingOnNotReadyNode;
}

export interface RecordView {
  pool: string;
  ip: string;
  /** `ns/name` of the record. */
  podRef: string;
  podUid: string;
}

export interface EndpointView {
  uid: string;
  kind: PodKind;
}

export interface ScanFacts {
  /** The pod named by the record; undefined when NotFound. */
  pod: GcPod | undefined;
  endpoint: EndpointView | undefined;
  kind: PodKind;
  /** For static kinds: whether the StatefulSet / VM still wants the pod; undefined when unknown. */
  staticValid: boolean | undefined;
  nodeReady: boolean | undefined;
  now: number;
}

export type ScanDecision =
  { action: "keep"; why: string } | { action: "release"; reason: GcReason; deleteEndpoint: boolean };

const keep = (why: string): ScanDecision => ({ action: "keep", why });
const release = (reason: GcReason, deleteEndpoint: boolean): ScanDecision => ({
  action: "release",
  reason,
  deleteEndpoint,
});

/** The scan-all table of §4.4 for one record. */
export function scanRecord(rec: RecordView, f: ScanFacts, cfg: GcConfig): ScanDecision {
  const { pod, endpoint } = f;
  const isStatic = f.kind !== "stateless";
  if (pod === undefined) {
    // A static workload's record outlives its pod (KubeVirt records name the VMI, which
    // no pod is named after), with or without an endpoint written yet.
    if (isStatic) {
      if (f.staticValid === undefined) return keep("static pod validity unknown");
      if (f.staticValid) return keep("static pod still wanted by its StatefulSet or VM");
    }
    return release("PodMissing", endpoint !== undefined);
  }
  const uidMismatch = (pod.metadata.uid ?? "") !== rec.podUid;
  if (uidMismatch) {
    if (!isStatic) return release("UIDMismatch", endpoint !== undefined && endpoint.uid === rec.podUid);
    // A static pod re-created under the same name takes its records over at ADD; until it
    // has addresses, the record is kept for it while the pod is wanted.
    // The pod runs with addresses from elsewhere (its StatefulSet moved to another CNI): the
    // old pod's endpoint goes with its records, as upstream, or it would later refuse the
    // StatefulSet's return once its old address is another pod's.
    if (hasPodIPs(pod)) return release("UIDMismatch", endpoint !== undefined && endpoint.uid === rec.podUid);
    if (f.staticValid === undefined) return keep("static pod validity unknown");
    return f.staticValid ? keep("static pod awaiting its ADD") : release("UIDMismatch", true);
  }
  const phase = pod.status?.phase;
  if (phase === "Pending") return keep("pod pending (its ADD may be running)");
  if (phase === "Succeeded" || phase === "Failed") {
    if (isStatic) {
      if (f.staticValid === undefined) return keep("static pod validity unknown");
      return f.staticValid ? keep("finished static pod still wanted") : release(phase, true);
    }
    if (pod.metadata.deletionTimestamp === undefined) return keep("finished pod is traced by the pod informer");
  }
  const dts = pod.metadata.deletionTimestamp;
  if (dts !== undefined) {
    if (isStatic) return keep("terminating static pod is released by DEL or once invalid");
    const grace = pod.metadata.deletionGracePeriodSeconds ?? 0;
    const past = f.now >= Date.parse(dts) + ms(grace) + ms(cfg.additionalGraceDelaySeconds);
    if (past) {
      return nodeAllows(f.nodeReady, cfg)
        ? release("Terminating", true)
        : keep("terminating past grace, but the node flag forbids reclaiming");
    }
    return hasPodIPs(pod) ? keep("terminating within grace") : release("NoPodIPs", true);
  }
  if (hasPodIPs(pod)) return keep("pod running with addresses");
  if (isStatic) {
    if (f.staticValid === undefined) return keep("static pod validity unknown");
    return f.staticValid ? keep("static pod without podIPs still wanted") : release("NoPodIPs", true);
  }
  if (phase === "Unknown") return release("NoPodIPs", true);
  return cfg.runningPodOnEmptyPodIPs ? release("NoPodIPs", true) : keep("running pod with empty podIPs (switch off)");
}
