/**
 * SpiderCoordinator status (node-networking §2.4), on the leader, one worker; every trigger
 * reconciles the one default coordinator. Triggers are the spec's and only those: the
 * coordinator's add, its podCIDRType or status changing; ConfigMaps `kubeadm-config` and
 * `cilium-config` added, deleted or with new data; ServiceCIDRs added or deleted; Calico
 * IPPools (while the default CNI resolves to calico) and CiliumPodIPPools (while cilium).
 * Third-party kinds are watched from the moment their CRD exists and dropped when it goes,
 * so a cluster without Calico or Cilium costs no failing watch and no log lines.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../../api/coordinator.ts";
import { SPIDER_FINALIZER } from "../../api/group.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isNotFound } from "../../kube/errors.ts";
import { Informer } from "../../kube/informer.ts";
import { Resources, resourceTypeOf, type ResourceType } from "../../kube/resources.ts";
import type { EventRecorder } from "../events.ts";
import { WorkQueue } from "../workqueue.ts";
import { NotLeaderError } from "../leader.ts";
import {
  cniTypeFromConfigs,
  needsKcm,
  planCoordinatorStatus,
  kubeadmCidrs,
  type CoordinatorInputs,
  type ResolvedCidrType,
} from "./discover.ts";

export const COORDINATORS = resourceTypeOf(SpiderCoordinatorKind);
const KUBEADM_CONFIG = "kubeadm-config";
const CILIUM_CONFIG = "cilium-config";

/** A third-party kind, watched only while its CRD (or, for a built-in, its API) is served. */
interface OptionalKind {
  crd: string;
  /** Versions in preference order. */
  versions: readonly string[];
  rt: ResourceType | undefined;
  informer: Informer<KubeObject> | undefined;
  onEvent: () => void;
  /** Which events count: Calico IPPool updates do, CiliumPodIPPool and ServiceCIDR updates do not. */
  updates: boolean;
}

export interface CoordinatorControllerOptions {
  client: KubeClient;
  coordinators: Informer<SpiderCoordinator>;
  configMaps: Informer<KubeObject>;
  crds: Informer<KubeObject>;
  name: string;
  cniConfigDir: string;
  /** `namespace/name`. */
  ciliumConfigMap: string;
  isLeader: () => boolean;
  events: EventRecorder;
  retryMs: number;
  maxRetries: number;
  metrics: { reconciled: (result: "Synced" | "NotReady" | "error") => void };
  log: Logger;
}

export class CoordinatorStatusController {
  readonly #o: CoordinatorControllerOptions;
  readonly #queue: WorkQueue;
  readonly #kinds: OptionalKind[];
  /** The default CNI the last reconcile resolved to: Calico and Cilium pool events matter only then. */
  #resolved: ResolvedCidrType | undefined;
  #stopped = false;

  constructor(o: CoordinatorControllerOptions) {
    this.#o = o;
    this.#queue = new WorkQueue({
      work: () => this.#reconcile(),
      retryDelay: (err, n) => (err instanceof NotLeaderError || n > o.maxRetries ? undefined : o.retryMs),
      isLeader: o.isLeader,
    });
    const when = (t: ResolvedCidrType) => () => {
      if (this.#resolved === t) this.enqueue();
    };
    this.#kinds = [
      kind("ippools.crd.projectcalico.org", ["v1"], when("calico"), true),
      kind("ciliumpodippools.cilium.io", ["v2alpha1", "v2"], when("cilium"), false),
      kind("servicecidrs.networking.k8s.io", ["v1", "v1beta1", "v1alpha1"], () => this.enqueue(), false),
    ];
    o.coordinators.addHandlers({
      onAdd: () => this.enqueue(),
      onUpdate: (old, cur) => {
        if (old.spec?.podCIDRType !== cur.spec?.podCIDRType) {
          void o.events.record(
            { ...cur, apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderCoordinator" },
            "Normal",
            "PodCIDRTypeChanged",
            `podCIDRType changed from ${old.spec?.podCIDRType ?? ""} to ${cur.spec?.podCIDRType ?? ""}`,
          );
          this.enqueue();
        } else if (JSON.stringify(old.status) !== JSON.stringify(cur.status)) this.enqueue();
        else if (cur.metadata.deletionTimestamp !== undefined && old.metadata.deletionTimestamp === undefined)
          this.enqueue();
      },
    });
    const watched = (cm: KubeObject) => {
      const n = cm.metadata?.name;
      return n === KUBEADM_CONFIG || n === CILIUM_CONFIG;
    };
    o.configMaps.addHandlers({
      onAdd: (cm) => watched(cm) && this.enqueue(),
      onDelete: (cm) => watched(cm) && this.enqueue(),
      onUpdate: (old, cm) => {
        if (watched(cm) && JSON.stringify(old["data"]) !== JSON.stringify(cm["data"])) this.enqueue();
      },
    });
    o.crds.addHandlers({
      onAdd: (crd) => this.#crdChanged(crd, false),
      onUpdate: (_old, crd) => this.#crdChanged(crd, false),
      onDelete: (crd) => this.#crdChanged(crd, true),
    });
  }

  /** Looks for built-in ServiceCIDRs, which have no CRD to announce them. */
  async start(): Promise<void> {
    const svc = this.#kinds[2] as OptionalKind;
    for (const v of svc.versions) {
      if (svc.rt !== undefined) break;
      try {
        const rt = await this.#o.client.resourceFor(`networking.k8s.io/${v}`, "ServiceCIDR");
        if (rt !== undefined) this.#watch(svc, rt);
      } catch (err) {
        if (!isNotFound(err)) this.#o.log.debug({ err }, "ServiceCIDR discovery failed");
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.stop();
    await Promise.all(this.#kinds.map((k) => k.informer?.stop()));
  }

  enqueue(): void {
    this.#queue.add(this.#o.name);
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #crdChanged(crd: KubeObject, deleted: boolean): void {
    const k = this.#kinds.find((x) => x.crd === crd.metadata?.name);
    if (k === undefined || this.#stopped) return;
    const spec = crd["spec"] as
      | {
          group?: string;
          scope?: string;
          names?: { plural?: string; kind?: string };
          versions?: { name: string; served?: boolean }[];
        }
      | undefined;
    const served = new Set((spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name));
    const version = k.versions.find((v) => served.has(v));
    if (deleted || version === undefined || crd.metadata?.deletionTimestamp !== undefined) {
      const inf = k.informer;
      k.informer = undefined;
      k.rt = undefined;
      if (inf !== undefined) {
        void inf.stop();
        k.onEvent();
      }
      return;
    }
    if (k.rt?.version === version) return;
    void k.informer?.stop();
    this.#watch(k, {
      group: spec?.group ?? "",
      version,
      plural: spec?.names?.plural ?? "",
      kind: spec?.names?.kind ?? "",
      namespaced: spec?.scope === "Namespaced",
    });
  }

  #watch(k: OptionalKind, rt: ResourceType): void {
    k.rt = rt;
    const inf = new Informer<KubeObject>(this.#o.client, rt, {
      // Debug only: the kind may vanish with its CRD between our check and the watch.
      onError: (err) => this.#o.log.debug({ err, kind: rt.kind }, "informer error"),
    });
    inf.addHandlers({
      onAdd: k.onEvent,
      onDelete: k.onEvent,
      ...(k.updates ? { onUpdate: k.onEvent } : {}),
    });
    k.informer = inf;
    inf.start();
  }

  async #reconcile(): Promise<void> {
    const o = this.#o;
    const coord = o.coordinators.getByName(o.name);
    if (coord === undefined) return;
    if (coord.metadata.deletionTimestamp !== undefined) return this.#release(coord);
    const inputs = await this.#read(coord);
    const plan = planCoordinatorStatus(inputs);
    const target = { ...coord, apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderCoordinator" };
    for (const e of plan.events) void o.events.record(target, e.type, e.reason, e.message);
    const status = {
      phase: plan.phase,
      ...(plan.reason !== "" ? { reason: plan.reason } : {}),
      overlayPodCIDR: plan.overlayPodCIDR,
      serviceCIDR: plan.serviceCIDR,
    };
    o.metrics.reconciled(plan.phase);
    if (JSON.stringify(coord.status) === JSON.stringify(status)) return;
    if (!o.isLeader()) throw new NotLeaderError("no longer the leader");
    try {
      await o.client.patchMerge(
        COORDINATORS,
        o.name,
        {
          metadata: { resourceVersion: coord.metadata.resourceVersion },
          status: { ...status, reason: status.reason ?? null },
        },
        { subresource: "status" },
      );
    } catch (err) {
      o.metrics.reconciled("error");
      if (!isNotFound(err)) throw err;
      return;
    }
    if (coord.status?.phase !== plan.phase)
      o.log.info({ phase: plan.phase, reason: plan.reason }, "SpiderCoordinator phase changed");
  }

  /** The webhook adds the finalizer; nothing else holds a coordinator, so deletion proceeds. */
  async #release(coord: SpiderCoordinator): Promise<void> {
    const fins = coord.metadata.finalizers ?? [];
    if (!fins.includes(SPIDER_FINALIZER)) return;
    if (!this.#o.isLeader()) throw new NotLeaderError("no longer the leader");
    await this.#o.client.update(COORDINATORS, {
      ...coord,
      metadata: { ...coord.metadata, finalizers: fins.filter((f) => f !== SPIDER_FINALIZER) },
    });
  }

  async #read(coord: SpiderCoordinator): Promise<CoordinatorInputs> {
    const o = this.#o;
    const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
    const requested = coord.spec?.podCIDRType ?? "auto";
    let type: CoordinatorInputs["type"];
    if (requested === "auto") {
      try {
        type = cniTypeFromConfigs(await readCniConfigs(o.cniConfigDir));
      } catch (err) {
        type = { error: message(err) };
      }
    } else type = requested;
    this.#resolved = typeof type === "string" ? type : undefined;
    const cm = (ns: string, name: string) =>
      o.configMaps.getByName(name, ns) as (KubeObject & { data?: Record<string, string> }) | undefined;
    const kubeadm = kubeadmCidrs(cm("kube-system", KUBEADM_CONFIG)?.data?.["ClusterConfiguration"]);
    const inputs: CoordinatorInputs = {
      type,
      kubeadm,
      kcm: undefined,
      calico: undefined,
      cilium: undefined,
      serviceCidrs: undefined,
    };
    if (typeof type !== "string") return inputs;
    if (needsKcm(kubeadm)) {
      try {
        inputs.kcm = (
          await o.client.listAll<KubeObject>(Resources.pods, { labelSelector: "component=kube-controller-manager" })
        ).items as never;
      } catch (err) {
        inputs.kcm = { error: message(err) };
      }
    }
    if (type === "calico") {
      try {
        inputs.calico = (await o.client.listAll<KubeObject>(CALICO_IPPOOLS)).items as never;
      } catch (err) {
        inputs.calico = { error: message(err) };
      }
    }
    if (type === "cilium") {
      const [ns, name] = splitNsName(o.ciliumConfigMap);
      const c = cm(ns, name);
      if (c === undefined)
        inputs.cilium = {
          error: `configmaps "${name}" not found`,
          event: { reason: "CiliumNotReady", message: "Cilium needs to be installed first" },
        };
      else {
        const pools = this.#kinds[1] as OptionalKind;
        try {
          const items =
            pools.rt === undefined ? undefined : ((await o.client.listAll<KubeObject>(pools.rt)).items as never);
          inputs.cilium = { data: c.data ?? {}, pools: items };
        } catch (err) {
          inputs.cilium = { error: message(err) };
        }
      }
    }
    const svc = this.#kinds[2] as OptionalKind;
    if (svc.rt !== undefined) {
      try {
        inputs.serviceCidrs = (await o.client.listAll<KubeObject>(svc.rt)).items as never;
      } catch (err) {
        // Served a moment ago and gone now: the kube Service CIDR stands in, as when never served.
        o.log.debug({ err }, "ServiceCIDR list failed");
      }
    }
    return inputs;
  }
}

const CALICO_IPPOOLS: ResourceType = {
  group: "crd.projectcalico.org",
  version: "v1",
  plural: "ippools",
  kind: "IPPool",
  namespaced: false,
};

function kind(crd: string, versions: readonly string[], onEvent: () => void, updates: boolean): OptionalKind {
  return { crd, versions, rt: undefined, informer: undefined, onEvent, updates };
}

function splitNsName(s: string): [string, string] {
  const i = s.indexOf("/");
  return i < 0 ? ["kube-system", s] : [s.slice(0, i), s.slice(i + 1)];
}

/** Only the first file counts (the default CNI); later ones are not read. */
async function readCniConfigs(dir: string): Promise<{ name: string; content: string }[]> {
  const names = (await readdir(dir))
    .filter((n) => (n.endsWith(".conf") || n.endsWith(".conflist")) && !n.includes("00-multus"))
    .sort();
  const first = names[0];
  return first === undefined ? [] : [{ name: first, content: await readFile(join(dir, first), "utf8") }];
}
