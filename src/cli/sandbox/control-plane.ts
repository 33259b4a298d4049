/**
 * The sandbox's stand-ins for kube-scheduler and kube-controller-manager's workload
 * controllers, over shared informers: the scheduler binds pods without a node (scheduling.ts),
 * and the Deployment, ReplicaSet, StatefulSet, DaemonSet and Job controllers carry out the
 * plans of workload-plan.ts and write their status. The objects' deletion is the API
 * server's garbage collector's: pods carry controller references.
 */
import type pino from "pino";
import {
  ApiError,
  Informer,
  Resources,
  type BackoffOptions,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "../../kube/index.ts";
import { placePod } from "./scheduling.ts";
import { WorkQueue } from "./work-queue.ts";
import {
  planDaemonSet,
  planDeployment,
  planJob,
  planReplicaSet,
  planStatefulSet,
  type Action,
  type Plan,
} from "./workload-plan.ts";
import { isTerminating, type NodeObj, type PodObj, type WorkloadObj } from "./workload-types.ts";

type Kind = "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job";
const RESOURCES: Record<Kind, ResourceType> = {
  Deployment: Resources.deployments,
  ReplicaSet: Resources.replicasets,
  StatefulSet: Resources.statefulsets,
  DaemonSet: Resources.daemonsets,
  Job: Resources.jobs,
};

export interface ControlPlaneOptions {
  client: KubeClient;
  log: pino.Logger;
  backoff?: BackoffOptions;
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const conflictOrGone = (err: unknown): boolean => err instanceof ApiError && (err.status === 404 || err.status === 409);

export class ControlPlane {
  readonly #o: ControlPlaneOptions;
  readonly #pods: Informer<PodObj & KubeObject>;
  readonly #nodes: Informer<NodeObj & KubeObject>;
  readonly #workloads: Record<Kind, Informer<WorkloadObj & KubeObject>>;
  readonly #queue: WorkQueue;
  /** The scheduler's bindings not yet seen in the informer, so one pass does not stack pods on one node. */
  readonly #assumed = new Map<string, string>();

  constructor(o: ControlPlaneOptions) {
    this.#o = o;
    const onError = (err: unknown): void => o.log.warn({ err }, "control plane watch");
    this.#pods = new Informer<PodObj & KubeObject>(o.client, Resources.pods, {
      onError,
      indexers: { owner: ownerIndex },
    });
    this.#nodes = new Informer<NodeObj & KubeObject>(o.client, Resources.nodes, { onError });
    this.#workloads = Object.fromEntries(
      (Object.keys(RESOURCES) as Kind[]).map((k) => [
        k,
        new Informer<WorkloadObj & KubeObject>(o.client, RESOURCES[k], { onError, indexers: { owner: ownerIndex } }),
      ]),
    ) as Record<Kind, Informer<WorkloadObj & KubeObject>>;
    this.#queue = new WorkQueue(
      (key) => this.#reconcile(key),
      (key, err) => o.log.warn({ err, key }, "reconcile"),
      o.backoff,
    );

    this.#pods.addHandlers({
      onAdd: (p) => this.#podChanged(p),
      onUpdate: (_, p) => this.#podChanged(p),
      onDelete: (p) => this.#podChanged(p),
    });
    this.#nodes.addHandlers({
      onAdd: () => this.#nodesChanged(),
      onUpdate: () => this.#nodesChanged(),
      onDelete: () => this.#nodesChanged(),
    });
    for (const kind of Object.keys(RESOURCES) as Kind[]) {
      const enqueue = (w: WorkloadObj): void => {
        this.#queue.add(keyOf(kind, w));
        for (const owner of controllerOf(w)) this.#queue.add(`${owner.kind}/${w.metadata.namespace}/${owner.name}`);
      };
      this.#workloads[kind].addHandlers({ onAdd: enqueue, onUpdate: (_, w) => enqueue(w), onDelete: enqueue });
    }
  }

  async start(): Promise<void> {
    const all = [this.#pods, this.#nodes, ...Object.values(this.#workloads)];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#pods, this.#nodes, ...Object.values(this.#workloads)].map((i) => i.stop()));
  }

  #podChanged(p: PodObj): void {
    if ((p.spec?.nodeName ?? "") === "" && !isTerminating(p))
      this.#queue.add(`Pod/${p.metadata.namespace}/${p.metadata.name}`);
    else this.#assumed.delete(`${p.metadata.namespace}/${p.metadata.name}`);
    for (const owner of controllerOf(p)) this.#queue.add(`${owner.kind}/${p.metadata.namespace}/${owner.name}`);
  }

  #nodesChanged(): void {
    for (const ds of this.#workloads.DaemonSet.list()) this.#queue.add(keyOf("DaemonSet", ds));
    for (const p of this.#pods.list()) if ((p.spec?.nodeName ?? "") === "") this.#podChanged(p);
  }

  async #reconcile(key: string): Promise<void> {
    const [kind, namespace, name] = key.split("/") as [string, string, string];
    if (kind === "Pod") return this.#schedule(namespace, name);
    if (!(kind in RESOURCES)) return;
    const obj = this.#workloads[kind as Kind].getByName(name, namespace);
    if (obj === undefined || isTerminating(obj)) return;
    const pods = this.#pods.byIndex("owner", obj.metadata.uid ?? "");
    let plan: Plan;
    switch (kind as Kind) {
      case "ReplicaSet":
        plan = planReplicaSet(obj, pods);
        break;
      case "Deployment":
        plan = planDeployment(obj, this.#workloads.ReplicaSet.byIndex("owner", obj.metadata.uid ?? ""));
        break;
      case "StatefulSet":
        plan = planStatefulSet(obj, pods);
        break;
      case "DaemonSet":
        plan = planDaemonSet(obj, pods, this.#nodes.list());
        break;
      case "Job":
        plan = planJob(obj, pods, now());
        break;
    }
    for (const a of plan.actions) await this.#act(kind as Kind, obj, a);
    if (!sameStatus(obj.status, plan.status)) {
      await this.#o.client
        .patchMerge(RESOURCES[kind as Kind], name, { status: plan.status }, { namespace, subresource: "status" })
        .catch((err: unknown) => {
          if (!conflictOrGone(err)) throw err;
        });
    }
  }

  async #act(kind: Kind, owner: WorkloadObj, a: Action): Promise<void> {
    const namespace = owner.metadata.namespace ?? "default";
    const c = this.#o.client;
    const ignore = (err: unknown): void => {
      if (!conflictOrGone(err)) throw err;
    };
    switch (a.op) {
      case "createPod":
        await c.create(Resources.pods, a.pod as KubeObject).catch(ignore);
        return;
      case "deletePod":
        await c.delete(Resources.pods, a.name, { namespace }).catch(ignore);
        return;
      case "createReplicaSet":
        await c.create(Resources.replicasets, a.rs as KubeObject).catch(ignore);
        return;
      case "scaleReplicaSet":
        await c
          .patchMerge(Resources.replicasets, a.name, { spec: { replicas: a.replicas } }, { namespace })
          .catch(ignore);
        return;
    }
    void kind;
  }

  async #schedule(namespace: string, name: string): Promise<void> {
    const pod = this.#pods.getByName(name, namespace);
    if (pod === undefined || (pod.spec?.nodeName ?? "") !== "" || isTerminating(pod)) return;
    const scheduler = pod.spec?.schedulerName;
    if (scheduler !== undefined && scheduler !== "default-scheduler") return;
    const load = new Map<string, number>();
    for (const p of this.#pods.list()) {
      const n = p.spec?.nodeName ?? "";
      if (n !== "") load.set(n, (load.get(n) ?? 0) + 1);
    }
    for (const n of this.#assumed.values()) load.set(n, (load.get(n) ?? 0) + 1);
    const placed = placePod(pod, this.#nodes.list(), (n) => load.get(n) ?? 0);
    if ("unschedulable" in placed) {
      const cond = { type: "PodScheduled", status: "False", reason: "Unschedulable", message: placed.unschedulable };
      const had = (pod.status?.conditions ?? []).find((c) => c.type === "PodScheduled") as typeof cond | undefined;
      if (had?.message !== cond.message)
        await this.#o.client
          .patchMerge(
            Resources.pods,
            name,
            { status: { phase: "Pending", conditions: [{ ...cond, lastTransitionTime: now() }] } },
            { namespace, subresource: "status" },
          )
          .catch(() => undefined);
      return;
    }
    this.#assumed.set(`${namespace}/${name}`, placed.node);
    await this.#o.client
      .patchMerge(Resources.pods, name, { spec: { nodeName: placed.node } }, { namespace })
      .catch((err: unknown) => {
        this.#assumed.delete(`${namespace}/${name}`);
        if (!conflictOrGone(err)) throw err;
      });
  }
}

function controllerOf(o: {
  metadata: { ownerReferences?: Array<{ kind?: string; name?: string; controller?: boolean }> };
}): Array<{ kind: string; name: string }> {
  return (o.metadata.ownerReferences ?? [])
    .filter((r) => r.controller === true && r.kind !== undefined && r.kind in RESOURCES)
    .map((r) => ({ kind: r.kind as string, name: r.name ?? "" }));
}

function ownerIndex(o: { metadata: object }): string[] {
  const meta = o.metadata as { ownerReferences?: Array<{ uid?: string; controller?: boolean }> };
  return (meta.ownerReferences ?? [])
    .filter((r) => r.controller === true && r.uid !== undefined)
    .map((r) => r.uid as string);
}

function keyOf(kind: Kind, o: { metadata: { namespace?: string; name?: string } }): string {
  return `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

/** Whether writing `next` would change `current` (the status fields the plan owns). */
function sameStatus(current: Record<string, unknown> | undefined, next: Record<string, unknown>): boolean {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== "lastTransitionTime" && k !== "lastUpdateTime")
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  return Object.entries(next).every(([k, v]) => JSON.stringify(strip(current?.[k])) === JSON.stringify(strip(v)));
}
