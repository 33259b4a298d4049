/**
 * What the sandbox waits for, by polling the API server: the controller's NAD, auto pool and
 * synced SpiderCoordinator, and workloads and pods settled.
 */
import type { SpiderCoordinator } from "../../api/coordinator.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { COORDINATORS } from "../../controller/coordinator/controller.ts";
import { NADS } from "../../controller/multus/controller.ts";
import { poolAddresses } from "../../ipam/pool-state.ts";
import { Resources, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { POOLS } from "../../poolstore/pool-writer.ts";

/** Polls until the controller has written the SMC's NAD; its config is the cluster's default network. */
export async function waitForNad(client: KubeClient, namespace: string, name: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nad = await client.get<NetworkAttachmentDefinition>(NADS, name, namespace).catch(() => undefined);
    if (nad?.spec?.config !== undefined) return nad.spec.config;
    if (Date.now() > deadline) throw new Error(`the controller wrote no NAD ${namespace}/${name} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitForSynced(client: KubeClient): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const c = await client.get<SpiderCoordinator>(COORDINATORS, "default").catch(() => undefined);
    if (c?.status?.phase === "Synced") return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until the controller has created the application's auto pool at `size` addresses. */
export async function waitForAutoPool(client: KubeClient, app: string, size: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const p = (await client.listAll<SpiderIPPool>(POOLS)).items.find(
      (x) => x.metadata.labels?.["ipam.spidernet.io/owner-application-name"] === app,
    );
    if (p !== undefined && poolAddresses(p.spec).effective.size === BigInt(size)) return p.metadata.name ?? "";
    if (Date.now() > deadline)
      throw new Error(`the controller created no auto pool of ${size} addresses for ${app} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PodView extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIPs?: Array<{ ip: string }>;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }>;
  };
}

const settled = (p: PodView): boolean => p.status?.phase === "Running" || p.status?.phase === "Succeeded";

interface WorkloadView {
  metadata: { name?: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    numberReady?: number;
    desiredNumberScheduled?: number;
    conditions?: Array<{ type?: string; status?: string }>;
  };
}

/** The workloads whose controllers have not yet made and readied their pods. */
async function unsettledWorkloads(client: KubeClient): Promise<string[]> {
  const out: string[] = [];
  const list = async (rt: (typeof Resources)[keyof typeof Resources]): Promise<WorkloadView[]> =>
    (await client.listAll<WorkloadView>(rt)).items;
  const observed = (w: WorkloadView): boolean => (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 1);
  const name = (kind: string, w: WorkloadView): string => `${kind} ${w.metadata.namespace}/${w.metadata.name}`;
  for (const [kind, rt] of [
    ["Deployment", Resources.deployments],
    ["StatefulSet", Resources.statefulsets],
  ] as const)
    for (const w of await list(rt))
      if (!observed(w) || (w.status?.readyReplicas ?? 0) !== (w.spec?.replicas ?? 1)) out.push(name(kind, w));
  for (const w of await list(Resources.daemonsets))
    if (!observed(w) || (w.status?.numberReady ?? 0) !== (w.status?.desiredNumberScheduled ?? -1))
      out.push(name("DaemonSet", w));
  for (const w of await list(Resources.jobs))
    if (
      !(w.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")
    )
      out.push(name("Job", w));
  return out;
}

/**
 * Waits until every workload has its pods ready and every pod runs (or has completed), up to
 * `ms`; returns what is still waiting.
 */
export async function waitForPods(client: KubeClient, ms: number): Promise<{ pods: PodView[]; workloads: string[] }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const pods = (await client.listAll<PodView>(Resources.pods)).items;
    const waiting = pods.filter((p) => !settled(p) || p.metadata.deletionTimestamp !== undefined);
    const workloads = await unsettledWorkloads(client);
    if ((waiting.length === 0 && workloads.length === 0) || Date.now() > deadline) return { pods: waiting, workloads };
    await new Promise((r) => setTimeout(r, 100));
  }
}
