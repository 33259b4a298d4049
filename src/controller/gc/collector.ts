/**
 * The IP garbage collector (ipam-behavior §4), leader-gated: pod events become trace
 * entries released once their time comes (§4.1–4.2), and a periodic scan of every pool
 * record catches whatever the events missed (§4.4). Every release goes through the pool
 * writer with the record's own pod UID, so a record re-taken by a new pod meanwhile is
 * never touched; and every release decided from the cache is confirmed with a fresh read
 * of the pod first, so a pod the informer has not seen yet never loses its address.
 */
import type { Logger } from "pino";
import type { SpiderEndpoint } from "../../api/endpoint.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import { controllerOf, poolsOf } from "../../ipam/pod.ts";
import { parseAllocatedIPs } from "../../ipam/pool-state.ts";
import { systemClock, type Clock, type Timer } from "../../kube/clock.ts";
import type { KubeClient, KubeObject } from "../../kube/client.ts";
import { isNotFound } from "../../kube/errors.ts";
import type { Informer } from "../../kube/informer.ts";
import { KUBEVIRT_VM, KUBEVIRT_VMI, Resources, type ResourceType } from "../../kube/resources.ts";
import type { EndpointStore } from "../../poolstore/endpoint-store.ts";
import type { OwnerResolver } from "../../poolstore/owner-resolver.ts";
import { POOLS, type OpResult, type PoolOp } from "../../poolstore/pool-writer.ts";
import {
  nodeAllows,
  nodeReadiness,
  scanRecord,
  traceEntryFor,
  type GcConfig,
  type GcPod,
  type GcReason,
  type PodKind,
  type TraceEntry,
} from "./decide.ts";

export interface GcMetrics {
  reclaimed(reason: GcReason, n: number): void;
  failed(reason: GcReason): void;
  /** The addresses reclaimed from one pod and pool, for its IPReclaimed Event (issue 22). */
  reclaimedAddresses?(podRef: string, podUid: string, pool: string, ips: readonly string[], reason: GcReason): void;
}

export interface CollectorDeps {
  client: KubeClient;
  pods: Informer<GcPod & KubeObject>;
  pools: Informer<SpiderIPPool>;
  endpoints: Informer<SpiderEndpoint>;
  nodes: Informer<KubeObject>;
  /** The same endpoint writes as the agent's DEL, under the same preconditions. */
  endpointStore: EndpointStore;
  /** Workload kind and validity, as the agent decides them. */
  owners: OwnerResolver;
  clock?: Clock;
  submit: (pool: string, op: PoolOp) => Promise<OpResult>;
  isLeader: () => boolean;
  cfg: GcConfig;
  traceGapMs: number;
  /** Pods released at once (SPIDERPOOL_GC_IP_WORKER_NUM). */
  workers: number;
  scanIntervalMs: number;
  maxRetries: number;
  dbCap: number;
  metrics: GcMetrics;
  log: Logger;
}

export interface ScanSummary {
  records: number;
  released: number;
  kept: number;
  skipped: number;
  endpointsDeleted: number;
}

interface Tracked extends TraceEntry {
  retries: number;
  stateless: boolean;
}

const splitRef = (ref: string): [string, string] => {
  const i = ref.indexOf("/");
  return i < 0 ? ["", ref] : [ref.slice(0, i), ref.slice(i + 1)];
};

export class GarbageCollector {
  readonly #d: CollectorDeps;
  readonly #clock: Clock;
  readonly #db = new Map<string, Tracked>();
  #timers: Timer[] = [];
  #tracing = false;
  /** A tick asked for while one runs: entries that fell due meanwhile are not left for the next gap. */
  #again = false;
  #againPolled = false;
  /** One timer for the earliest stop time, so an entry is handled when due, not at the next tick. */
  #wake: { at: number; timer: Timer } | undefined;
  #scanning: Promise<ScanSummary> | undefined;
  /** Pool versions whose records could not be read, logged once each. */
  readonly #unreadable = new Set<string>();

  constructor(deps: CollectorDeps) {
    this.#d = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  /** Entries waiting for their time, for tests and the debug endpoint. */
  get traced(): number {
    return this.#db.size;
  }

  start(): void {
    if (!this.#d.cfg.enabled) {
      this.#d.log.info("IP garbage collection is disabled (SPIDERPOOL_GC_IP_ENABLED=false)");
      return;
    }
    this.#d.pods.addHandlers({
      onAdd: (p) => this.#onPod("add", p, undefined),
      onUpdate: (o, p) => this.#onPod("update", p, o),
      onDelete: (p) => this.#onPod("delete", p, undefined),
    });
    this.#timers.push(this.#clock.every(this.#d.traceGapMs, () => void this.#traceTick(true)));
    this.#timers.push(
      this.#clock.every(this.#d.scanIntervalMs, () => {
        if (this.#d.isLeader()) this.scanAll().catch((err: unknown) => this.#d.log.error({ err }, "GC scan failed"));
      }),
    );
  }

  /** On becoming leader: pods that exist already (finished ones whose DEL failed) are traced too. */
  replay(): void {
    if (!this.#d.cfg.enabled) return;
    for (const p of this.#d.pods.list()) this.#onPod("add", p, undefined);
  }

  /** On losing leadership: entries decided under it are the next leader's to remake. */
  forget(): void {
    this.#db.clear();
  }

  stop(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers = [];
    this.#wake?.timer.cancel();
    this.#wake = undefined;
  }

  #onPod(event: "add" | "update" | "delete", pod: GcPod, old: GcPod | undefined): void {
    if (!this.#d.isLeader()) return;
    void (async () => {
      const kind = this.#kindOfPod(pod);
      const valid = kind === "stateless" ? undefined : await this.#staticValid(kind, pod).catch(() => undefined);
      // Unknown validity of a static pod: no entry; the scan decides later with fresh facts.
      if (kind !== "stateless" && valid === undefined) return;
      const e = traceEntryFor(event, pod, old, kind, valid, this.#d.cfg, this.#clock.now());
      if (e === undefined) return;
      const cur = this.#db.get(e.key);
      if (cur !== undefined && cur.uid === e.uid && cur.stopAt === e.stopAt && cur.reason === e.reason) return;
      if (cur === undefined && this.#db.size >= this.#d.dbCap) {
        this.#d.log.error(
          { podRef: e.key, cap: this.#d.dbCap },
          "GC trace database is full; the scan will catch this pod",
        );
        return;
      }
      this.#db.set(e.key, { ...e, retries: 0, stateless: kind === "stateless" });
      // Stateless pods are handled when due. A StatefulSet or VM pod keeps upstream's poll:
      // a scale-down undone within it keeps the fixed address.
      if (kind === "stateless") this.#wakeAt(e.stopAt);
      this.#d.log.debug({ podRef: e.key, reason: e.reason, stopAt: new Date(e.stopAt).toISOString() }, "tracing pod");
    })().catch((err: unknown) => this.#d.log.error({ err }, "GC pod event failed"));
  }

  /** As the agent decides (by group too: an OpenKruise StatefulSet's pods are stateless). */
  #kindOfPod(pod: GcPod): PodKind {
    return this.#d.owners.kindOf(controllerOf(pod.metadata));
  }

  #kindOfEndpoint(ep: SpiderEndpoint | undefined): PodKind {
    return this.#d.owners.kindOfEndpoint(ep?.status?.ownerControllerType);
  }

  async #getFresh(rt: ResourceType, name: string, ns: string): Promise<KubeObject | undefined> {
    try {
      return await this.#d.client.get(rt, name, ns);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Uncached, as upstream: a scale-down must be seen the moment it happens. */
  async #staticValid(kind: PodKind, pod: GcPod, ownerName?: string): Promise<boolean> {
    if (kind === "stateless") return false;
    const owner = ownerName ?? pod.metadata.ownerReferences?.find((o) => o.controller === true)?.name ?? "";
    return this.#d.owners.stillWanted(kind, pod.metadata.namespace ?? "", pod.metadata.name ?? "", owner);
  }

  #nodeReady(nodeName: string | undefined): boolean | undefined {
    if (nodeName === undefined || nodeName === "") return undefined;
    return nodeReadiness(this.#d.nodes.getByName(nodeName) as Parameters<typeof nodeReadiness>[0]);
  }

  /**
   * Upstream polls the trace database every SPIDERPOOL_GC_TRACE_POD_GAP_DURATION (5 s), so a
   * deleted pod's address waits up to that long. The poll stays (it retries failures), and
   * a timer also fires at the earliest stop time: the same decisions, taken when due.
   */
  #wakeAt(at: number): void {
    if (this.#wake !== undefined && this.#wake.at <= at) return;
    this.#wake?.timer.cancel();
    const timer = this.#clock.after(Math.max(0, at - this.#clock.now()), () => {
      this.#wake = undefined;
      void this.#traceTick();
    });
    this.#wake = { at, timer };
  }

  async #traceTick(polled = false): Promise<void> {
    if (!this.#d.isLeader()) return;
    if (this.#tracing) {
      // A poll arriving during a woken run is not lost: static entries wait for polls only.
      this.#again = true;
      this.#againPolled ||= polled;
      return;
    }
    this.#tracing = true;
    try {
      do {
        if (this.#again) polled ||= this.#againPolled;
        this.#again = false;
        this.#againPolled = false;
        const now = this.#clock.now();
        const due = [...this.#db.values()].filter((e) => e.stopAt <= now && (polled || e.stateless));
        // As upstream's SPIDERPOOL_GC_IP_WORKER_NUM executors: a few pods at a time, so a burst
        // of deletions shares pool writes (the writer batches them) without flooding the API.
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < due.length) await this.#releaseTraced(due[next++] as Tracked);
        };
        await Promise.all(Array.from({ length: Math.min(this.#d.workers, due.length) }, worker));
      } while (this.#again);
      // Entries still here and due failed this time: they wait for the regular tick.
      const now = this.#clock.now();
      let earliest = Number.POSITIVE_INFINITY;
      for (const e of this.#db.values()) if (e.stateless && e.stopAt > now && e.stopAt < earliest) earliest = e.stopAt;
      if (earliest !== Number.POSITIVE_INFINITY) this.#wakeAt(earliest);
    } finally {
      this.#tracing = false;
    }
  }

  async #releaseTraced(e: Tracked): Promise<void> {
    const [ns, name] = splitRef(e.key);
    // `podRef`, not `pod`: the controller's base logger carries its own pod's name as `pod`.
    const log = this.#d.log.child({ podRef: e.key, reason: e.reason });
    try {
      const pod = this.#d.pods.getByName(name, ns);
      if (pod !== undefined && pod.metadata.uid === e.uid) {
        if ((pod.status?.podIPs ?? []).length === 0) {
          this.#db.delete(e.key);
          return;
        }
        if (e.nodeGated && !nodeAllows(this.#nodeReady(pod.spec?.nodeName), this.#d.cfg)) {
          log.info("node flag forbids reclaiming this pod's addresses; left to the scan");
          this.#db.delete(e.key);
          return;
        }
      }
      const ep = await this.#d.endpointStore.get(ns, name);
      if (ep?.status === undefined) {
        this.#db.delete(e.key);
        return;
      }
      // The pod's own owner (group included) decided the entry's kind; the endpoint records only
      // a kind, which a third-party "StatefulSet" shares with apps/v1's.
      const epKind = e.stateless ? "stateless" : this.#kindOfEndpoint(ep);
      if (epKind !== "stateless") {
        // A StatefulSet scaled back up, a VM restarted: the pod is wanted again, and its
        // fixed address with it. Unknown validity keeps it too.
        const valid = await this.#staticValid(
          epKind,
          { metadata: { name, namespace: ns } },
          ep.status.ownerControllerName,
        ).catch(() => undefined);
        if (valid !== false) {
          log.info({ valid }, "static workload still wants its address; not reclaimed");
          this.#db.delete(e.key);
          return;
        }
      }
      if (ep.status.current.uid !== e.uid) {
        log.info({ endpointUid: ep.status.current.uid }, "endpoint belongs to another pod; left to the scan");
        this.#db.delete(e.key);
        return;
      }
      const n = await this.#releaseItems(ep, e.uid, e.reason);
      // A stateless endpoint of a live pod goes with the pod (owner reference); one whose
      // pod is gone, and every static one, is deleted here.
      const gone = pod === undefined || pod.metadata.uid !== e.uid;
      await this.#dropEndpoint(ns, name, gone || epKind !== "stateless", e.uid);
      this.#db.delete(e.key);
      if (n > 0) {
        this.#d.metrics.reclaimed(e.reason, n);
        log.info({ released: n }, "reclaimed the addresses of a pod");
      }
    } catch (err) {
      e.retries++;
      this.#d.metrics.failed(e.reason);
      if (e.retries >= this.#d.maxRetries) {
        log.error({ err, retries: e.retries }, "giving up on this pod; the scan will retry");
        this.#db.delete(e.key);
      } else log.warn({ err, retries: e.retries }, "GC release failed; will retry");
    }
  }

  async #releaseItems(ep: SpiderEndpoint, uid: string, reason: GcReason): Promise<number> {
    let n = 0;
    // The endpoint is named after its pod (a KubeVirt VM's after the VM, whose pods share it).
    const podRef = `${ep.metadata.namespace ?? ""}/${ep.metadata.name ?? ""}`;
    for (const [pool, ips] of poolsOf(ep.status?.current.ips ?? [])) {
      try {
        const r = await this.#d.submit(pool, { kind: "release", podUid: uid, ips });
        n += r.released?.length ?? 0;
        if ((r.released?.length ?? 0) > 0)
          this.#d.metrics.reclaimedAddresses?.(podRef, uid, pool, r.released ?? [], reason);
      } catch (err) {
        if ((err as { code?: string }).code !== "ERR_POOL_NOT_FOUND") throw err;
      }
    }
    return n;
  }

  /** Removes our finalizer and, for endpoints nothing else deletes, the endpoint. */
  async #dropEndpoint(ns: string, name: string, remove: boolean, uid?: string): Promise<boolean> {
    const store = this.#d.endpointStore;
    if (remove) return store.drop(ns, name, uid);
    return (await store.release(ns, name, uid)) !== undefined;
  }

  /** One pass over every record of every pool; concurrent calls share the pass in flight. */
  scanAll(): Promise<ScanSummary> {
    // SPIDERPOOL_GC_IP_ENABLED=false means no GC at all (spec §4.6), also not the scan a
    // newly elected leader asks for.
    if (!this.#d.cfg.enabled)
      return Promise.resolve({ records: 0, released: 0, kept: 0, skipped: 0, endpointsDeleted: 0 });
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(): Promise<ScanSummary> {
    const sum: ScanSummary = { records: 0, released: 0, kept: 0, skipped: 0, endpointsDeleted: 0 };
    const started = performance.now();
    for (const pool of this.#d.pools.list()) {
      const poolName = pool.metadata.name ?? "";
      let records;
      try {
        records = parseAllocatedIPs(pool.status?.allocatedIPs);
      } catch (err) {
        // Once per version of the pool, without a stack: the scan comes back every interval.
        const version = `${poolName} ${pool.metadata.uid ?? ""} ${pool.metadata.resourceVersion ?? ""}`;
        if (!this.#unreadable.has(version)) {
          if (this.#unreadable.size >= 1000) this.#unreadable.clear();
          this.#unreadable.add(version);
          this.#d.log.error(
            { pool: poolName, resourceVersion: pool.metadata.resourceVersion, err: (err as Error).message },
            "pool records are not valid JSON; skipped until the pool changes",
          );
        }
        continue;
      }
      for (const [ip, rec] of records) {
        sum.records++;
        try {
          const outcome = await this.#scanOne(poolName, ip, rec.pod, rec.podUid);
          if (outcome === "released") sum.released++;
          else if (outcome === "released+endpoint") {
            sum.released++;
            sum.endpointsDeleted++;
          } else sum.kept++;
        } catch (err) {
          sum.skipped++;
          this.#d.log.warn({ pool: poolName, ip, podRef: rec.pod, err }, "scan could not decide; kept");
        }
      }
    }
    if (this.#d.cfg.cleanOutdatedEndpoint) {
      try {
        sum.endpointsDeleted += await this.#sweepEndpoints();
      } catch (err) {
        this.#d.log.warn({ err }, "outdated endpoint sweep failed; the next scan retries");
      }
    }
    this.#d.log.info({ ...sum, ms: Math.round(performance.now() - started) }, "GC scan finished");
    return sum;
  }

  /**
   * `enableCleanOutdatedEndpoint` (spec §4.4): an endpoint whose pools hold no record of
   * its pod any more is deleted. Every pool is read fresh, and the endpoint is deleted
   * preconditioned on the resourceVersion it was judged at, so an ADD that rewrote it
   * meanwhile keeps it. Endpoints without addresses are never swept, as upstream.
   */
  async #sweepEndpoints(): Promise<number> {
    const fresh = new Map<string, Set<string> | undefined>();
    const holders = async (pool: string): Promise<Set<string> | undefined> => {
      if (!fresh.has(pool)) {
        const p = (await this.#getFresh(POOLS, pool, "")) as SpiderIPPool | undefined;
        fresh.set(
          pool,
          p === undefined
            ? new Set()
            : new Set([...parseAllocatedIPs(p.status?.allocatedIPs).values()].map((r) => r.pod)),
        );
      }
      return fresh.get(pool);
    };
    let deleted = 0;
    for (const ep of this.#d.endpoints.list()) {
      const items = ep.status?.current.ips ?? [];
      if (items.length === 0 || ep.metadata.deletionTimestamp !== undefined) continue;
      const ref = `${ep.metadata.namespace ?? ""}/${ep.metadata.name ?? ""}`;
      const pools = new Set(items.flatMap((it) => [it.ipv4Pool, it.ipv6Pool]).filter((x): x is string => !!x));
      let referenced = false;
      for (const pool of pools) if ((await holders(pool))?.has(ref)) referenced = true;
      if (referenced) continue;
      const cur = await this.#d.endpointStore.get(ep.metadata.namespace ?? "", ep.metadata.name ?? "");
      if (cur === undefined || cur.metadata.resourceVersion !== ep.metadata.resourceVersion) continue;
      if (
        await this.#dropEndpoint(ep.metadata.namespace ?? "", ep.metadata.name ?? "", true, cur.status?.current.uid)
      ) {
        deleted++;
        this.#d.log.info(
          { endpoint: ref },
          "endpoint's addresses are in no pool any more; deleted (enableCleanOutdatedEndpoint)",
        );
      }
    }
    return deleted;
  }

  /**
   * A record that names no pod (its value was not an object, or had no `pod`) can belong to
   * nobody, and would block the pool's deletion for ever. It is released when a fresh read
   * of the pool still holds it as it is, preconditioned like any release on its pod UID.
   */
  async #reclaimUnattributable(pool: string, ip: string, podRef: string, podUid: string): Promise<string> {
    const fresh = (await this.#getFresh(POOLS, pool, "")) as SpiderIPPool | undefined;
    const now = fresh === undefined ? undefined : parseAllocatedIPs(fresh.status?.allocatedIPs).get(ip);
    if (now === undefined || now.pod !== podRef || now.podUid !== podUid) return "kept";
    const r = await this.#d.submit(pool, { kind: "release", podUid, ips: [ip] });
    const n = r.released?.length ?? 0;
    if (n > 0) {
      this.#d.metrics.reclaimed("PodMissing", n);
      this.#d.metrics.reclaimedAddresses?.(podRef, podUid, pool, r.released ?? [], "PodMissing");
      this.#d.log.warn({ pool, ip, record: { pod: podRef, podUid } }, "scan reclaimed a record that names no pod");
    }
    return n > 0 ? "released" : "kept";
  }

  async #scanOne(pool: string, ip: string, podRef: string, podUid: string): Promise<string> {
    const [ns, name] = splitRef(podRef);
    if (ns === "" || name === "") return this.#reclaimUnattributable(pool, ip, podRef, podUid);
    const facts = async (fresh: boolean) => {
      const pod = fresh
        ? ((await this.#getFresh(Resources.pods, name, ns)) as GcPod | undefined)
        : this.#d.pods.getByName(name, ns);
      const ep = fresh ? await this.#d.endpointStore.get(ns, name) : this.#d.endpoints.getByName(name, ns);
      let kind = pod !== undefined ? this.#kindOfPod(pod) : this.#kindOfEndpoint(ep);
      let ownerName = pod === undefined ? ep?.status?.ownerControllerName : undefined;
      let unknown = false;
      if (pod === undefined && ep === undefined && this.#d.cfg.enableKubevirtStaticIP) {
        // KubeVirt records name the VMI; between the agent's record and its endpoint
        // write, the VMI (or VM) is the only sign the address is wanted.
        try {
          const vm = (await this.#getFresh(KUBEVIRT_VMI, name, ns)) ?? (await this.#getFresh(KUBEVIRT_VM, name, ns));
          if (vm !== undefined) {
            kind = "kubevirt";
            ownerName = name;
          }
        } catch {
          kind = "kubevirt";
          unknown = true;
        }
      }
      const staticValid =
        kind === "stateless" || unknown
          ? undefined
          : await this.#staticValid(kind, pod ?? { metadata: { name, namespace: ns } }, ownerName).catch(
              () => undefined,
            );
      return {
        pod,
        ep,
        f: {
          pod,
          endpoint: ep?.status === undefined ? undefined : { uid: ep.status.current.uid, kind },
          kind,
          staticValid,
          nodeReady: this.#nodeReady(pod?.spec?.nodeName),
          now: this.#clock.now(),
        },
      };
    };
    const rec = { pool, ip, podRef, podUid };
    const cached = await facts(false);
    if (scanRecord(rec, cached.f, this.#d.cfg).action === "keep") return "kept";
    // The cache said release: decide again on what the API server says now.
    const fresh = await facts(true);
    const d = scanRecord(rec, fresh.f, this.#d.cfg);
    if (d.action === "keep") return "kept";
    const r = await this.#d.submit(pool, { kind: "release", podUid, ips: [ip] }).catch((err: unknown) => {
      if ((err as { code?: string }).code === "ERR_POOL_NOT_FOUND") return {} as OpResult;
      this.#d.metrics.failed(d.reason);
      throw err;
    });
    const n = r.released?.length ?? 0;
    if (n > 0) {
      this.#d.metrics.reclaimed(d.reason, n);
      this.#d.metrics.reclaimedAddresses?.(podRef, podUid, pool, r.released ?? [], d.reason);
      this.#d.log.info({ pool, ip, podRef, podUid, reason: d.reason }, "scan reclaimed an address");
    }
    if (d.deleteEndpoint && fresh.ep !== undefined && (await this.#dropEndpoint(ns, name, true, podUid))) {
      return "released+endpoint";
    }
    return n > 0 ? "released" : "kept";
  }
}
