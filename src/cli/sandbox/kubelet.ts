/**
 * A kubelet stand-in for one simulated node: it registers the Node and keeps its Ready
 * condition, watches the pods bound to the node, and for each makes a network namespace
 * and runs the CNI chain of every attachment Multus would make (network-plan.ts), then
 * writes the pod's addresses, the network-status annotation and phase Running. A failing
 * ADD is cleaned up with DEL (so no address stays allocated), shown as an Event and a
 * ContainerCreating status, and retried with backoff. On deletion it runs DEL, removes the
 * namespace and only then lets the pod go (delete with grace 0), as a kubelet does once
 * the containers have stopped.
 */
import { randomBytes } from "node:crypto";
import type pino from "pino";
import { ANNO_MULTUS_NETWORK_STATUS } from "../../api/annotations/keys.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import {
  ApiError,
  Backoff,
  Informer,
  Resources,
  type BackoffOptions,
  type KubeClient,
  type KubeObject,
} from "../../kube/index.ts";
import type { NetLab } from "../netlab.ts";
import type { CniRuntime, PodRef } from "./cni-runtime.ts";
import {
  planAttachments,
  networkStatus,
  type Attachment,
  type AttachmentResult,
  type NetConfList,
} from "./network-plan.ts";
import { networkNotReady, nodeObject, nodeStatus } from "./node-status.ts";
import { creatingStatus, runningStatus, runsToCompletion, succeededStatus, type PodLike } from "./pod-status.ts";

export interface KubeletOptions {
  client: KubeClient;
  node: string;
  hostIP: string;
  nodeLabels?: Record<string, string>;
  runtime: CniRuntime;
  defaultNetwork: NetConfList;
  /** The cluster's NetworkAttachmentDefinitions (shared by the node's kubelets). */
  nads: Informer<NetworkAttachmentDefinition>;
  /** In "netns" mode, where pod namespaces are made; their names start with `nsPrefix`. */
  lab?: NetLab;
  nsPrefix: string;
  log: pino.Logger;
  backoff?: BackoffOptions;
  /** How often the node's readiness is probed (default 2 s). */
  heartbeatMs?: number;
}

type Pod = KubeObject &
  PodLike & {
    metadata: NonNullable<KubeObject["metadata"]> & {
      deletionTimestamp?: string;
      annotations?: Record<string, string>;
    };
    status?: { phase?: string };
  };

/** What this kubelet made for one pod UID. */
interface Sandbox {
  ref: PodRef;
  netns: string;
  attachments: Attachment[];
  results: Map<string, Record<string, unknown>>;
  running: boolean;
}

export class Kubelet {
  readonly node: string;
  readonly #o: KubeletOptions;
  readonly #pods: Informer<Pod>;
  readonly #byUid = new Map<string, Pod>();
  readonly #sandboxes = new Map<string, Sandbox>();
  readonly #queue = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #retries = new Map<string, { backoff: Backoff; timer: NodeJS.Timeout | undefined }>();
  readonly #events = new Map<string, { name: string; count: number }>();
  #heartbeat: NodeJS.Timeout | undefined;
  #ready: boolean | undefined;
  #readySince = "";
  #stopped = false;

  constructor(o: KubeletOptions) {
    this.#o = o;
    this.node = o.node;
    this.#pods = new Informer<Pod>(o.client, Resources.pods, {
      fieldSelector: `spec.nodeName=${o.node}`,
      onError: (err) => o.log.warn({ err }, "kubelet pod watch"),
    });
    this.#pods.addHandlers({
      onAdd: (p) => this.#seen(p),
      onUpdate: (_, p) => this.#seen(p),
      onDelete: (p) => {
        const uid = p.metadata.uid ?? "";
        this.#byUid.delete(uid);
        this.#enqueue(uid);
      },
    });
  }

  async start(): Promise<void> {
    await this.#o.client
      .create(Resources.nodes, nodeObject(this.node, this.#o.nodeLabels ?? {}) as KubeObject)
      .catch((err: unknown) => {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
      });
    await this.#probe();
    this.#heartbeat = setInterval(() => void this.#probe(), this.#o.heartbeatMs ?? 2000);
    this.#pods.start();
    await this.#pods.waitForSync();
  }

  /** Stops watching; pods' namespaces stay (the sandbox's cleanup removes the lab). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    for (const r of this.#retries.values()) clearTimeout(r.timer);
    await this.#pods.stop();
    await Promise.allSettled([...this.#queue.values()]);
  }

  /** Pod UIDs with a sandbox up, for tests and the sandbox's table. */
  sandboxOf(uid: string): { netns: string; running: boolean } | undefined {
    const s = this.#sandboxes.get(uid);
    return s === undefined ? undefined : { netns: s.netns, running: s.running };
  }

  async #probe(): Promise<void> {
    if (this.#stopped) return;
    const why = await networkNotReady(this.#o.runtime.config.socket);
    const ready = why === undefined;
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    if (ready !== this.#ready) this.#readySince = at;
    const changed = ready !== this.#ready;
    this.#ready = ready;
    if (!changed) return;
    try {
      await this.#o.client.patchMerge(
        Resources.nodes,
        this.node,
        { status: nodeStatus(this.#o.hostIP, ready, why ?? "", at, this.#readySince) },
        { subresource: "status" },
      );
    } catch (err) {
      this.#ready = undefined; // written again at the next probe
      this.#o.log.warn({ err, node: this.node }, "node status");
    }
  }

  #seen(p: Pod): void {
    const uid = p.metadata.uid ?? "";
    this.#byUid.set(uid, p);
    // While a failed ADD waits for its backoff, updates (our own status write among them)
    // do not retry it early; a deletion does not wait.
    if (this.#retries.get(uid)?.timer !== undefined && p.metadata.deletionTimestamp === undefined) return;
    this.#enqueue(uid);
  }

  /** One sync per pod at a time; an event during a sync runs it once more after. */
  #enqueue(uid: string): void {
    if (this.#stopped) return;
    if (this.#queue.has(uid)) {
      this.#dirty.add(uid);
      return;
    }
    const run = (async () => {
      do {
        this.#dirty.delete(uid);
        try {
          await this.#sync(uid);
        } catch (err) {
          this.#o.log.warn({ err, uid }, "kubelet sync");
          this.#retry(uid);
        }
      } while (this.#dirty.has(uid) && !this.#stopped);
    })().finally(() => this.#queue.delete(uid));
    this.#queue.set(uid, run);
  }

  #retry(uid: string): void {
    let r = this.#retries.get(uid);
    if (r === undefined) {
      r = { backoff: new Backoff({ initialMs: 500, maxMs: 10_000, ...this.#o.backoff }), timer: undefined };
      this.#retries.set(uid, r);
    }
    clearTimeout(r.timer);
    const entry = r;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.#enqueue(uid);
    }, entry.backoff.next());
  }

  #settled(uid: string): void {
    const r = this.#retries.get(uid);
    if (r !== undefined) clearTimeout(r.timer);
    this.#retries.delete(uid);
  }

  async #sync(uid: string): Promise<void> {
    const pod = this.#byUid.get(uid);
    const sb = this.#sandboxes.get(uid);
    if (pod === undefined) {
      // Gone without our teardown (deleted with grace 0 by someone else): still release its addresses.
      if (sb !== undefined) await this.#teardown(uid, sb, sb.ref);
      this.#settled(uid);
      return;
    }
    const ref: PodRef = { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid };
    if (pod.metadata.deletionTimestamp !== undefined) {
      if (sb !== undefined) await this.#teardown(uid, sb, ref);
      await this.#o.client
        .delete(Resources.pods, ref.name, { namespace: ref.namespace, gracePeriodSeconds: 0, preconditions: { uid } })
        .catch((err: unknown) => {
          if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) throw err;
        });
      this.#settled(uid);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      if (sb !== undefined) await this.#teardown(uid, sb, ref);
      this.#settled(uid);
      return;
    }
    if (sb?.running === true) return;
    // A sandbox whose earlier teardown failed is finished first, so its namespace and addresses never leak.
    if (sb !== undefined) await this.#teardown(uid, sb, ref);
    let results: AttachmentResult[];
    try {
      results = await this.#setUp(pod, ref);
    } catch (err) {
      const message = `Failed to create pod sandbox: ${(err as Error).message}`;
      await this.#failed(pod, message);
      this.#retry(uid);
      return;
    }
    this.#settled(uid);
    const annotations = { [ANNO_MULTUS_NETWORK_STATUS]: networkStatus(results) };
    await this.#o.client.patchMerge(
      Resources.pods,
      ref.name,
      { metadata: { annotations } },
      { namespace: ref.namespace },
    );
    await this.#o.client.patchMerge(
      Resources.pods,
      ref.name,
      { status: runningStatus(pod, results, this.#o.hostIP) },
      { namespace: ref.namespace, subresource: "status" },
    );
    if (runsToCompletion(pod))
      await this.#o.client.patchMerge(
        Resources.pods,
        ref.name,
        { status: succeededStatus(pod, this.#o.hostIP) },
        { namespace: ref.namespace, subresource: "status" },
      );
  }

  /** Namespace, then each attachment's ADD; on any failure everything made is undone (DEL) before throwing. */
  async #setUp(pod: Pod, ref: PodRef): Promise<AttachmentResult[]> {
    const attachments = planAttachments(pod, this.#o.defaultNetwork, (ns, name) => this.#o.nads.getByName(name, ns));
    const netns = `${this.#o.nsPrefix}-${randomBytes(3).toString("hex")}`;
    const sb: Sandbox = { ref, netns, attachments, results: new Map(), running: false };
    this.#sandboxes.set(ref.uid, sb);
    try {
      if (this.#o.lab !== undefined) await this.#o.lab.addNamespace(netns);
      const out: AttachmentResult[] = [];
      for (const a of attachments) {
        const { result } = await this.#o.runtime.add(ref, a, this.#nsPath(netns));
        sb.results.set(a.ifName, result);
        out.push(resultOf(a, result));
      }
      sb.running = true;
      return out;
    } catch (err) {
      await this.#teardown(ref.uid, sb, ref).catch((e: unknown) =>
        this.#o.log.warn({ err: e, pod: ref.name }, "cleaning up a failed ADD"),
      );
      throw err;
    }
  }

  /** DEL of every attachment (failed ADDs included, as a runtime's StopPodSandbox), then the namespace. */
  async #teardown(uid: string, sb: Sandbox, ref: PodRef): Promise<void> {
    const failures: string[] = [];
    for (const a of [...sb.attachments].reverse()) {
      try {
        await this.#o.runtime.del(ref, a, this.#nsPath(sb.netns), sb.results.get(a.ifName));
        sb.results.delete(a.ifName);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
    if (this.#o.lab !== undefined) await this.#o.lab.removeNamespace(sb.netns);
    this.#sandboxes.delete(uid);
  }

  #nsPath(netns: string): string {
    return this.#o.lab?.nsPath(netns) ?? `/var/run/netns/${netns}`;
  }

  async #failed(pod: Pod, message: string): Promise<void> {
    const ns = pod.metadata.namespace ?? "";
    const name = pod.metadata.name ?? "";
    const uid = pod.metadata.uid ?? "";
    await this.#o.client
      .patchMerge(
        Resources.pods,
        name,
        { status: creatingStatus(pod, message, this.#o.hostIP) },
        { namespace: ns, subresource: "status" },
      )
      .catch(() => undefined);
    // One Event per pod and reason, its count bumped, as the kubelet's recorder aggregates them.
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const seen = this.#events.get(uid);
    if (seen !== undefined) {
      seen.count++;
      await this.#o.client
        .patchMerge(Resources.events, seen.name, { count: seen.count, lastTimestamp: at, message }, { namespace: ns })
        .catch(() => undefined);
      return;
    }
    const evName = `${name}.${randomBytes(8).toString("hex")}`;
    this.#events.set(uid, { name: evName, count: 1 });
    await this.#o.client
      .create(Resources.events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: evName, namespace: ns },
        involvedObject: { apiVersion: "v1", kind: "Pod", name, namespace: ns, uid },
        reason: "FailedCreatePodSandBox",
        message,
        type: "Warning",
        source: { component: "kubelet", host: this.node },
        reportingComponent: "kubelet",
        reportingInstance: this.node,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      } as KubeObject)
      .catch((err: unknown) => this.#o.log.warn({ err }, "event"));
  }
}

/** The addresses and MAC of the attachment's interface from its chain's final result. */
function resultOf(a: Attachment, r: Record<string, unknown>): AttachmentResult {
  const ifaces = (r["interfaces"] ?? []) as Array<{ name?: string; mac?: string; sandbox?: string }>;
  const ips = (r["ips"] ?? []) as Array<{ address: string; interface?: number }>;
  const own = ifaces.findIndex((i) => i.name === a.ifName && i.sandbox !== undefined && i.sandbox !== "");
  const mine = ips.filter((ip) => own < 0 || ip.interface === undefined || ip.interface === own);
  const out: AttachmentResult = { attachment: a, ips: mine.map((ip) => ip.address), dns: r["dns"] };
  const mac = own >= 0 ? ifaces[own]?.mac : undefined;
  if (mac !== undefined) out.mac = mac;
  return out;
}
