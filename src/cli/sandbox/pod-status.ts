/**
 * The pod status a kubelet writes, as pure functions: Running with the addresses of eth0,
 * a ContainerCreating wait with the CNI error, Succeeded for a completed Job's pod.
 */
import type { AttachmentResult } from "./network-plan.ts";

export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    ownerReferences?: Array<{ kind?: string; controller?: boolean }>;
  };
  spec?: { containers?: Array<{ name?: string; image?: string }> };
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

function containers(pod: PodLike, state: Record<string, unknown>, ready: boolean): unknown[] {
  return (pod.spec?.containers ?? [{ name: "app" }]).map((c) => ({
    name: c.name ?? "app",
    image: c.image ?? "",
    imageID: "",
    ready,
    restartCount: 0,
    started: ready,
    state,
  }));
}

function conditions(ready: boolean, at: string): unknown[] {
  const s = ready ? "True" : "False";
  return [
    { type: "PodReadyToStartContainers", status: s, lastTransitionTime: at },
    { type: "Initialized", status: "True", lastTransitionTime: at },
    { type: "Ready", status: s, lastTransitionTime: at },
    { type: "ContainersReady", status: s, lastTransitionTime: at },
    { type: "PodScheduled", status: "True", lastTransitionTime: at },
  ];
}

/** Running: the default network's (eth0's) addresses are the pod's, IPv4 first as kubelet orders them. */
export function runningStatus(
  pod: PodLike,
  results: readonly AttachmentResult[],
  hostIP: string,
): Record<string, unknown> {
  const at = now();
  const ips = (results.find((r) => r.attachment.isDefault)?.ips ?? []).map((a) => a.split("/")[0] as string);
  ips.sort((a, b) => Number(a.includes(":")) - Number(b.includes(":")));
  return {
    phase: "Running",
    conditions: conditions(true, at),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    startTime: at,
    containerStatuses: containers(pod, { running: { startedAt: at } }, true),
  };
}

/** What `kubectl get pods` shows while a sandbox cannot be made: Pending, ContainerCreating, the error. */
export function creatingStatus(pod: PodLike, message: string, hostIP: string): Record<string, unknown> {
  const at = now();
  return {
    phase: "Pending",
    conditions: conditions(false, at),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    startTime: at,
    containerStatuses: containers(pod, { waiting: { reason: "ContainerCreating", message } }, false),
  };
}

/** A Job's pod has nothing to run in the sandbox: it completes once its network is up. */
export function succeededStatus(pod: PodLike, hostIP: string): Record<string, unknown> {
  const at = now();
  return {
    phase: "Succeeded",
    conditions: conditions(false, at),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    containerStatuses: containers(pod, { terminated: { exitCode: 0, reason: "Completed", finishedAt: at } }, false),
  };
}

export function runsToCompletion(pod: PodLike): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.kind === "Job");
}
