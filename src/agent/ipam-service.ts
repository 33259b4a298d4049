/**
 * Allocation and release for CNI ADD and DEL (spec §1.3–§1.12, §2.2, §3): the pod and its
 * workload, the SpiderEndpoint (reused, retrieved or created), candidate pools, filters,
 * per-pool writers with fallback, routes, and the endpoint write. The pure decisions come
 * from src/ipam; this module adds the reads and writes around them.
 */
import type { Logger } from "pino";
import { ANNO_POD_ROUTES, LABEL_OWNER_APPLICATION_UID, parseRoutesAnnotation } from "../api/annotations/index.ts";
import type { IPAllocationDetail, SpiderEndpoint } from "../api/endpoint.ts";
import { SPIDER_FINALIZER, API_VERSION } from "../api/group.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { canonicalIP, parseCIDR } from "../ip/index.ts";
import { nicName, selectCandidates, type NicCandidate } from "../ipam/candidates.ts";
import {
  autoPoolConfig,
  autoPoolSelector,
  desiredIPNumber,
  isBuiltinApp,
  isReclaimed,
  matchesSelector,
  replicasOf,
  type AutoPoolConfig,
  type BuiltinAppKind,
  type Workload,
} from "../ipam/auto-pool.ts";
import { allFiltered, allocationFailed, deadPod, goList, IpamError, poolNotFound } from "../ipam/errors.ts";
import { filterReason, sortPools, type FilterContext } from "../ipam/filter.ts";
import {
  isPodAlive,
  isValidStatefulSetPod,
  isValidVMPod,
  poolsOf,
  controllerOf,
  resolveTopController,
  workloadKind,
  workloadKindOfEndpoint,
  type TopController,
} from "../ipam/pod.ts";
import { poolAddresses } from "../ipam/pool-state.ts";
import { assemble, type Allocated, type IpConfig, type NicRoute } from "../ipam/result.ts";
import { sleep } from "../kube/backoff.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { updateWithRetry } from "../kube/optimistic.ts";
import { KUBEVIRT_VM as VM, KUBEVIRT_VMI as VMI, Resources } from "../kube/resources.ts";
import { AgentCache, ENDPOINTS, type Pod } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import type { AgentMetrics } from "./metrics.ts";
import { APP_RESOURCES, pickAutoPool, reconcileAutoPool } from "../poolstore/auto-pool.ts";
import { PoolWriter } from "../poolstore/pool-writer.ts";

interface AutoPoolWant {
  subnet: string;
  top: TopController;
  iface: string;
  family: 4 | 6;
  cfg: AutoPoolConfig | undefined;
}

/** Go's `%v` of a map[string]string (keys sorted), as upstream's messages print label sets. */
function goMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort();
  return `map[${keys.map((k) => `${k}:${m[k]}`).join(" ")}]`;
}

function poolSize(p: SpiderIPPool): bigint {
  try {
    return poolAddresses(p.spec).effective.size;
  } catch {
    return -1n;
  }
}

export interface AddRequest {
  containerID: string;
  ifName: string;
  netns: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  defaultIPv4IPPool: string[];
  defaultIPv6IPPool: string[];
  cleanGateway: boolean;
}

export interface AddResponse {
  ips: IpConfig[];
  routes: NicRoute[];
}

export interface DelRequest {
  containerID: string;
  ifName: string;
  podName: string;
  podNamespace: string;
  podUid: string;
}

/** What an ADD's first pass learned, for the pass that may follow it. */
interface FirstPass {
  /** The pass skipped reading the endpoint. */
  assumedNew: boolean;
  epName: string;
  podUid: string;
  /** Records the pass drew that the pod did not hold before. */
  fresh: Array<{ pool: string; ip: string }>;
}

/** True when `items` record every address of `drawn`, each from the same pool. */
function listsAll(items: readonly IPAllocationDetail[], drawn: readonly IPAllocationDetail[]): boolean {
  const have = new Set<string>();
  for (const [pool, ips] of poolsOf(items)) for (const ip of ips) have.add(recordKey(pool, ip));
  for (const [pool, ips] of poolsOf(drawn)) for (const ip of ips) if (!have.has(recordKey(pool, ip))) return false;
  return true;
}

/** A pool and an address (with or without its prefix length), compared in canonical form. */
function recordKey(pool: string, ip: string): string {
  const bare = ip.split("/")[0] ?? "";
  try {
    return `${pool} ${canonicalIP(bare)}`;
  } catch {
    return `${pool} ${bare}`;
  }
}

interface FamilyPlan {
  family: 4 | 6;
  nic: NicCandidate;
  pools: SpiderIPPool[];
}

export interface ServiceDeps {
  client: KubeClient;
  cache: AgentCache;
  config: AgentConfig;
  metrics: AgentMetrics;
  log: Logger;
}

/** The addresses and routes recorded in endpoint items, as a CNI response. */
function fromEndpoint(items: readonly IPAllocationDetail[]): AddResponse {
  const ips: IpConfig[] = [];
  const routes: NicRoute[] = [];
  for (const it of items) {
    for (const fam of [4, 6] as const) {
      const address = fam === 4 ? it.ipv4 : it.ipv6;
      if (address === undefined) continue;
      const gateway = fam === 4 ? it.ipv4Gateway : it.ipv6Gateway;
      const ipc: IpConfig = {
        nic: it.interface,
        family: fam,
        address,
        pool: (fam === 4 ? it.ipv4Pool : it.ipv6Pool) ?? "",
      };
      if (gateway !== undefined) ipc.gateway = gateway;
      ips.push(ipc);
      if (gateway !== undefined && it.cleanGateway !== true)
        routes.push({ dst: fam === 4 ? "0.0.0.0/0" : "::/0", gw: gateway, nic: it.interface });
    }
    for (const r of it.routes ?? []) routes.push({ dst: r.dst, gw: r.gw, nic: it.interface });
  }
  return { ips, routes };
}

/** How long an owner (ReplicaSet, Job) read for one pod answers for its siblings. */
const OWNER_TTL_MS = 5000;
const OWNER_MEMO_CAP = 10_000;
/** Pod UIDs remembered as having had an ADD here; forgetting one costs a read, never an error. */
const ADDED_MEMO_CAP = 10_000;

export class IpamService {
  readonly #d: ServiceDeps;
  readonly #writers = new Map<string, PoolWriter>();
  readonly #owners = new Map<
    string,
    { expires: number; obj: { metadata: KubeObject["metadata"] & object } & KubeObject }
  >();
  readonly #added = new Set<string>();
  /** ADDs running per pod (`ns/name`). */
  readonly #adding = new Map<string, number>();

  constructor(deps: ServiceDeps) {
    this.#d = deps;
    const observe = (p: SpiderIPPool): void => this.#writers.get(p.metadata.name ?? "")?.observe(p);
    deps.cache.pools.addHandlers({ onAdd: observe, onUpdate: (_old, p) => observe(p) });
    // Our own status writes come back on the watch; the writer holds them already.
    deps.cache.pools.recognize((meta) => this.#writers.get(meta.name ?? "")?.held(meta));
  }

  writer(pool: string): PoolWriter {
    let w = this.#writers.get(pool);
    if (w === undefined) {
      w = new PoolWriter(pool, {
        client: this.#d.client,
        cached: (n) => this.#d.cache.pools.getByName(n),
        reserved: (f) => this.#d.cache.reservedSet(f),
        maxRecords: this.#d.config.maxAllocatedIPs,
        maxRetries: this.#d.config.maxWriteRetries,
        deadlineMs: this.#d.config.writeDeadlineSeconds * 1000,
        metrics: {
          queueDepth: (pool, depth) => this.#d.metrics.queueDepth.set({ pool }, depth),
          batch: (size) => this.#d.metrics.batchSize.observe(size),
          conflict: (kind) => {
            this.#d.metrics.writeRetries.inc();
            (kind === "allocate" ? this.#d.metrics.allocationConflicts : this.#d.metrics.releaseConflicts).inc();
          },
        },
        log: this.#d.log,
      });
      this.#writers.set(pool, w);
    }
    return w;
  }

  get queueDepth(): number {
    let n = 0;
    for (const w of this.#writers.values()) n += w.depth;
    return n;
  }

  async #top(pod: Pod): Promise<TopController> {
    const refUid = controllerOf(pod.metadata)?.uid;
    return resolveTopController(pod, async (kind, ns, name) => {
      // The pods of one ReplicaSet or Job arrive together (a rollout, a recovery): their
      // owner is read once per few seconds, not once per pod. Only the same object (UID)
      // is served from memory, and an owner re-parented meanwhile is seen within the TTL.
      const key = `${kind}/${ns}/${name}`;
      const now = Date.now();
      const hit = this.#owners.get(key);
      if (hit !== undefined && hit.expires > now && refUid !== undefined && hit.obj.metadata.uid === refUid)
        return hit.obj;
      const rt = kind === "ReplicaSet" ? Resources.replicasets : Resources.jobs;
      try {
        const obj = await this.#d.client.get<{ metadata: KubeObject["metadata"] & object } & KubeObject>(rt, name, ns);
        if (this.#owners.size >= OWNER_MEMO_CAP) this.#owners.clear();
        this.#owners.set(key, { expires: now + OWNER_TTL_MS, obj });
        return obj;
      } catch (err) {
        if (isNotFound(err)) {
          this.#owners.delete(key);
          return undefined;
        }
        throw err;
      }
    }) as Promise<TopController>;
  }

  #kinds(top: TopController): { sts: boolean; vmi: boolean } {
    const k = workloadKind(top, this.#d.config);
    return { sts: k === "statefulset", vmi: k === "kubevirt" };
  }

  async allocate(req: AddRequest, log: Logger): Promise<AddResponse> {
    const started = performance.now();
    this.#d.metrics.allocations.inc();
    const key = `${req.podNamespace}/${req.podName}`;
    this.#adding.set(key, (this.#adding.get(key) ?? 0) + 1);
    try {
      const out = await this.#add(req, log);
      this.#d.metrics.allocationDuration.observe((performance.now() - started) / 1000);
      return out;
    } catch (err) {
      this.#d.metrics.allocationFailures.inc({ reason: (err as { code?: string }).code ?? "ERR_INTERNAL" });
      throw err;
    } finally {
      const n = (this.#adding.get(key) ?? 1) - 1;
      if (n <= 0) this.#adding.delete(key);
      else this.#adding.set(key, n);
    }
  }

  /**
   * True the first time this process sees an ADD for the pod UID. A second ADD of a UID is a
   * kubelet retry, a re-created sandbox or the pod's next NIC, and must start from its endpoint.
   */
  /** Pods that may already have an ADD behind them (they were on the node when the agent started). */
  knownPods(uids: readonly string[]): void {
    for (const uid of uids) if (uid !== "" && this.#added.size < ADDED_MEMO_CAP) this.#added.add(uid);
  }

  #firstAdd(uid: string): boolean {
    if (uid === "" || this.#added.has(uid)) return false;
    if (this.#added.size >= ADDED_MEMO_CAP) this.#added.clear();
    this.#added.add(uid);
    return true;
  }

  /**
   * An ADD. Its first pass may take the pod for new and skip reading its endpoint (see
   * #allocate). When that pass meets the endpoint after all, or fails where an existing
   * endpoint would have answered instead, the ADD starts again from the endpoint, and the
   * records the first pass drew that the answer does not list go back.
   */
  async #add(req: AddRequest, log: Logger): Promise<AddResponse> {
    const first: FirstPass = { assumedNew: false, epName: req.podName, podUid: "", fresh: [] };
    let out: AddResponse | "exists";
    try {
      out = await this.#allocate(req, log, first);
    } catch (err) {
      if (!first.assumedNew) throw err;
      // With no endpoint the careful path would have failed just the same.
      if ((await this.#d.cache.getEndpointFresh(req.podNamespace, first.epName)) === undefined) throw err;
      log.info(
        { endpoint: first.epName, err: (err as Error).message },
        "the pod's first ADD failed without reading its SpiderEndpoint, which exists; starting again from it",
      );
      out = "exists";
    }
    if (out !== "exists") return out;
    log.info({ endpoint: first.epName }, "the pod already has a SpiderEndpoint; the ADD starts again from it");
    // The pod's records are one per pool, so the careful path finds the ones drawn in the
    // first pass again wherever it allocates from the same pools.
    const again = await this.#allocate(req, log, undefined);
    if (again === "exists") throw new Error("unreachable: only a first pass creates without merging");
    await this.#returnUnused(req, first.podUid, first.fresh, again, log);
    return again;
  }

  /**
   * One pass of an ADD. With `first`, the pass may take the pod for new: the first ADD of a
   * stateless pod, the case of every pod of a rollout or a recovery, finds no endpoint, so
   * the read is skipped and the endpoint created outright; one that exists all the same (a
   * kubelet retry after an agent restart, the leftover of a same-name pod) refuses the create
   * and the pass answers "exists". StatefulSet and KubeVirt endpoints outlive their pods, so
   * theirs is always read.
   */
  async #allocate(req: AddRequest, log: Logger, first: FirstPass | undefined): Promise<AddResponse | "exists"> {
    const { podNamespace: ns, podName } = req;
    let pod = await this.#d.cache.getPod(ns, podName);
    // The runtime's K8S_POD_UID names the pod this sandbox is for; a cache that lags a
    // force-delete and re-create must not make us record the old pod's UID.
    if (pod !== undefined && req.podUid !== "" && pod.metadata.uid !== req.podUid)
      pod = await this.#d.cache.getPodFresh(ns, podName);
    if (pod === undefined)
      throw new IpamError("ERR_WRONG_INPUT", `failed to get Pod ${ns}/${podName}: pods "${podName}" not found`);
    if (req.podUid !== "" && pod.metadata.uid !== req.podUid)
      throw new IpamError(
        "ERR_WRONG_INPUT",
        `Pod ${ns}/${podName} has UID ${pod.metadata.uid ?? ""}, not the UID ${req.podUid} the runtime asked for`,
      );
    if (!isPodAlive(pod)) throw deadPod(ns, podName);
    const podUid = pod.metadata.uid ?? req.podUid;
    const top = await this.#top(pod);
    const kinds = this.#kinds(top);
    const epName = kinds.vmi ? top.name : podName;
    const podRef = `${ns}/${epName}`;
    const assumeNew = first !== undefined && !kinds.sts && !kinds.vmi && this.#firstAdd(podUid);
    if (first !== undefined) {
      first.assumedNew = assumeNew;
      first.epName = epName;
      first.podUid = podUid;
    }
    let ep = assumeNew ? undefined : await this.#d.cache.getEndpointFresh(ns, epName);

    let onlyNic: string | undefined;
    if (ep?.status !== undefined && kinds.sts) {
      const outdated = await this.#outdatedPools(req, pod, top, ep, podRef, podUid, log);
      // The template now names other pools: the old addresses went back, allocate afresh
      // (only this NIC when the pod's other NICs keep theirs).
      if (outdated === "all") ep = undefined;
      else if (outdated !== "none") {
        ep = outdated;
        onlyNic = req.ifName;
      }
    }
    if (ep?.status !== undefined && (kinds.sts || kinds.vmi)) {
      const items = ep.status.current.ips;
      if (items.some((i) => i.interface === req.ifName || i.interface === "")) {
        log.info({ endpoint: epName }, "reusing the addresses of a StatefulSet/KubeVirt workload");
        for (const [pool, ips] of poolsOf(items))
          await this.writer(pool).submit({ kind: "retarget", ips, podRef, podUid });
        const updated = await this.#updateEndpoint(ns, epName, ep, (cur) => {
          const list = cur.status?.current.ips ?? [];
          const empty = list.findIndex((i) => i.interface === "");
          if (!list.some((i) => i.interface === req.ifName) && empty >= 0)
            list[empty] = { ...list[empty], interface: req.ifName } as IPAllocationDetail;
          return {
            ...cur,
            status: {
              ...(cur.status as NonNullable<SpiderEndpoint["status"]>),
              current: { uid: podUid, node: pod.spec?.nodeName ?? "", ips: list },
            },
          };
        });
        return fromEndpoint(updated.status?.current.ips ?? items);
      }
    } else if (ep?.status !== undefined) {
      if (ep.status.current.uid !== podUid) {
        log.info(
          { endpoint: epName, staleUid: ep.status.current.uid },
          "deleting the endpoint of a previous pod with this name",
        );
        await this.#dropEndpoint(ns, epName, true, ep);
        ep = undefined;
      } else if (ep.status.current.ips.some((i) => i.interface === req.ifName || i.interface === "")) {
        // Idempotent ADD (or the next NIC of a no-name multi-NIC pod): the recorded allocation.
        const hasNic = ep.status.current.ips.some((i) => i.interface === req.ifName);
        const updated = hasNic
          ? ep
          : await this.#updateEndpoint(ns, epName, ep, (cur) => {
              const list = cur.status?.current.ips ?? [];
              const empty = list.findIndex((i) => i.interface === "");
              if (empty >= 0) list[empty] = { ...list[empty], interface: req.ifName } as IPAllocationDetail;
              return {
                ...cur,
                status: {
                  ...(cur.status as NonNullable<SpiderEndpoint["status"]>),
                  current: { ...(cur.status as NonNullable<SpiderEndpoint["status"]>).current, ips: list },
                },
              };
            });
        return fromEndpoint(updated.status?.current.ips ?? []);
      }
    }

    const nics = await this.#candidates(req, pod, top);
    const named = nics.named;
    const plans = (
      await Promise.all(
        nics.list
          .filter((n) => onlyNic === undefined || n.nic === onlyNic)
          .flatMap((n) =>
            ([4, 6] as const).map(async (family) => {
              const names = family === 4 ? n.v4 : n.v6;
              return names.length === 0 ? undefined : this.#planFamily(family, n, names, named, pod, top);
            }),
          ),
      )
    ).filter((p): p is FamilyPlan => p !== undefined);
    const podRoutesText = pod.metadata.annotations?.[ANNO_POD_ROUTES];
    const podRoutes = podRoutesText === undefined ? [] : parseRoutesAnnotation(podRoutesText);
    // Only now are records written. A family that fails here (pool used out, write retries
    // exhausted) fails the ADD; the records the other families got stay for this pod UID,
    // reused by the kubelet's retry and reclaimed by the GC once the pod is gone. They are
    // not rolled back: a concurrent ADD of the same pod may already be using them.
    const fresh = first?.fresh ?? [];
    const allocs = await Promise.all(plans.map((p) => this.#commitFamily(p, podUid, podRef, fresh)));
    const assembled = assemble(allocs, podRoutes);
    if (assembled.dropped.length > 0)
      log.warn({ dropped: assembled.dropped }, "pod routes whose gateway is in no allocated subnet were dropped");
    const wrote = await this.#writeEndpoint(ns, epName, pod, podUid, top, kinds, assembled.details, named, assumeNew);
    if (wrote === "exists") return "exists";
    if (wrote !== "created" && !listsAll(wrote.status?.current.ips ?? [], assembled.details)) {
      // A concurrent ADD of this pod recorded its own allocation first (drawn from other
      // pools: a pool's spec changed in between). The endpoint is what DEL and GC go by, so
      // it is the answer; the records drawn here stay with the pod until it is gone.
      log.warn(
        { endpoint: epName, drawn: assembled.ips.map((i) => i.address) },
        "another ADD of this pod recorded other addresses in its SpiderEndpoint; answering with those",
      );
      return fromEndpoint(wrote.status?.current.ips ?? []);
    }
    return {
      ips: assembled.ips.map((i) => ({ ...i, nic: named ? i.nic : nicName(i.nic) })),
      routes: assembled.routes.map((r) => ({ ...r, nic: named ? r.nic : nicName(r.nic) })),
    };
  }

  /**
   * Spec §3.2 outdated-pool check. Named NICs: only this NIC's items whose pool its rules no
   * longer name are outdated; their addresses are released (under the endpoint's UID) and
   * the endpoint keeps the other NICs' items, taken over by this pod, so their addresses stay
   * recorded while the pod uses them. No-name NICs, or every item outdated: everything is
   * released and the endpoint deleted. Returns the rewritten endpoint in the partial case.
   */
  async #outdatedPools(
    req: AddRequest,
    pod: Pod,
    top: TopController,
    ep: SpiderEndpoint,
    podRef: string,
    podUid: string,
    log: Logger,
  ): Promise<"none" | "all" | SpiderEndpoint> {
    let cands: { list: NicCandidate[]; named: boolean };
    try {
      cands = await this.#candidates(req, pod, top);
    } catch {
      // Rules that cannot be evaluated now change nothing here; allocation will report them.
      return "none";
    }
    const items = ep.status?.current.ips ?? [];
    const isOutdated = (it: IPAllocationDetail, idx: number): boolean => {
      const nic = cands.named ? cands.list.find((n) => n.nic === it.interface) : cands.list[idx];
      if (cands.named && it.interface !== req.ifName) return false;
      if (nic === undefined) return !cands.named;
      return (
        (it.ipv4Pool !== undefined && !nic.v4.includes(it.ipv4Pool)) ||
        (it.ipv6Pool !== undefined && !nic.v6.includes(it.ipv6Pool))
      );
    };
    const marked = items.filter(isOutdated);
    if (marked.length === 0) return "none";
    const oldUid = ep.status?.current.uid ?? "";
    const ns = ep.metadata.namespace ?? "";
    const name = ep.metadata.name ?? "";
    if (!cands.named || marked.length === items.length) {
      log.info({ endpoint: name }, "the StatefulSet's pools changed; releasing its old addresses");
      await this.#releaseItems(items, oldUid);
      await this.#dropEndpoint(ns, name, true, ep);
      return "all";
    }
    log.info(
      { endpoint: name, nic: req.ifName, released: marked.map((m) => m.ipv4 ?? m.ipv6) },
      "this NIC's pool changed; releasing its old addresses, keeping the other NICs'",
    );
    const kept = items.filter((it, idx) => !isOutdated(it, idx));
    // The kept records move to this pod first, so that no moment exists in which they are
    // recorded for a UID nobody will release.
    for (const [pool, ips] of poolsOf(kept)) await this.writer(pool).submit({ kind: "retarget", ips, podRef, podUid });
    const updated = await this.#updateEndpoint(ns, name, ep, (cur) => {
      if (cur.status === undefined) return undefined;
      return {
        ...cur,
        status: { ...cur.status, current: { uid: podUid, node: pod.spec?.nodeName ?? "", ips: kept } },
      };
    });
    // A record may already carry this pod's UID (a retarget that outran its endpoint write).
    for (const uid of new Set([oldUid, podUid])) await this.#releaseItems(marked, uid);
    return updated;
  }

  async #candidates(req: AddRequest, pod: Pod, top: TopController): Promise<{ list: NicCandidate[]; named: boolean }> {
    const nsObj = await this.#d.cache.getNamespace(req.podNamespace);
    const pools = this.#d.cache.pools.list();
    const byFamily = (f: 4 | 6, onlyDefault: boolean): string[] =>
      pools
        .filter(
          (p) =>
            (p.spec.ipVersion ?? (p.spec.subnet.includes(":") ? 6 : 4)) === f &&
            (!onlyDefault || p.spec.default === true),
        )
        .map((p) => p.metadata.name ?? "")
        .sort();
    const c = selectCandidates({
      ifName: req.ifName,
      podAnnotations: pod.metadata.annotations ?? {},
      namespaceAnnotations: nsObj?.metadata.annotations ?? {},
      netconf: {
        defaultIPv4IPPool: req.defaultIPv4IPPool,
        defaultIPv6IPPool: req.defaultIPv6IPPool,
        cleanGateway: req.cleanGateway,
      },
      clusterDefaults: { v4: byFamily(4, true), v6: byFamily(6, true) },
      poolNames: { v4: byFamily(4, false), v6: byFamily(6, false) },
      enableIPv4: this.#d.config.enableIPv4,
      enableIPv6: this.#d.config.enableIPv6,
      enableSpiderSubnet: this.#d.config.enableSpiderSubnet,
      enableAutoPoolForApplication: this.#d.config.enableAutoPoolForApplication,
    });
    if (c.kind === "pools") return { list: c.nics, named: c.namedNics };
    if (top.kind === "Pod") {
      throw new IpamError(
        "ERR_SUBNET_FEATURE",
        "failed to get IPPool candidates from Subnet: SpiderSubnet feature doesn't support no-controller pod",
      );
    }
    const sel = c.selections.find((s) => s.interface === req.ifName) ?? c.selections[0];
    if (sel === undefined) throw new IpamError("ERR_WRONG_INPUT", "no subnet selection");
    const nic: NicCandidate = { nic: sel.interface, v4: [], v6: [], cleanGateway: req.cleanGateway };
    const annotations = pod.metadata.annotations ?? {};
    const cfg = autoPoolConfig(annotations);
    for (const [family, subnet] of [
      [4, sel.ipv4],
      [6, sel.ipv6],
    ] as const) {
      if (subnet === undefined || (family === 4 ? !this.#d.config.enableIPv4 : !this.#d.config.enableIPv6)) continue;
      const want = { subnet, top, iface: sel.interface, family, cfg };
      const pool = isBuiltinApp(top.apiVersion, top.kind)
        ? await this.#waitAutoPool(want)
        : await this.#thirdPartyAutoPool(want);
      (family === 4 ? nic.v4 : nic.v6).push(pool);
    }
    return { list: [nic], named: true };
  }

  /**
   * Spec §5.5: the controller creates and sizes a built-in application's pool; the agent
   * waits until it exists with the size the application asks for now (replicas may just
   * have grown). After the retries a pool of another size is used anyway, as upstream.
   */
  async #waitAutoPool(w: AutoPoolWant): Promise<string> {
    const { top } = w;
    const selector = { ...autoPoolSelector(w.subnet, top, w.iface, w.family), [LABEL_OWNER_APPLICATION_UID]: top.uid };
    const desired = await this.#desiredSize(w);
    const max = this.#d.config.waitSubnetPoolMaxRetries;
    let found: SpiderIPPool | undefined;
    for (let i = 0; i <= max; i++) {
      const pools = this.#d.cache.pools
        .list()
        .filter((p) => matchesSelector(p, selector) && p.metadata.deletionTimestamp === undefined);
      if (pools.length > 1) {
        throw new IpamError(
          "ERR_WRONG_INPUT",
          `it's invalid for '${top.kind}/${top.namespace}/${top.name}/${w.iface}' owns multiple matchLables '${goMap(selector)}' auto-created IPPools ${goList(pools.map((p) => p.metadata.name ?? ""))}`,
        );
      }
      found = pools[0];
      if (found !== undefined && (desired === undefined || poolSize(found) === BigInt(desired)))
        return found.metadata.name ?? "";
      if (i < max) await sleep(this.#d.config.waitSubnetPoolMs);
    }
    if (found !== undefined) {
      this.#d.log.warn(
        { pool: found.metadata.name, size: poolSize(found).toString(), desired },
        "auto-created IPPool is not the size its application asks for; using it anyway",
      );
      return found.metadata.name ?? "";
    }
    throw new IpamError(
      "ERR_WRONG_INPUT",
      `failed to get IPPool candidates from Subnet: no matching auto-created IPPool candidate with matchLables '${goMap(selector)}'`,
    );
  }

  /** Replicas plus N, or N, as the controller computes it; undefined when the application cannot be read. */
  async #desiredSize(w: AutoPoolWant): Promise<number | undefined> {
    const n = w.cfg?.ipNumber;
    if (n !== undefined && !n.flexible) return n.n;
    const kind = w.top.kind as BuiltinAppKind;
    let app: Workload;
    try {
      app = await this.#d.client.get<Workload & KubeObject>(APP_RESOURCES[kind], w.top.name, w.top.namespace);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return desiredIPNumber(n, replicasOf(kind, app), this.#d.config.defaultFlexibleIPNumber);
  }

  /**
   * Spec §5.5: no controller sizes a third-party application's pool, so the agent does,
   * with the fixed number the application must give; concurrent ADDs of its pods meet in
   * the same preconditioned writes.
   */
  async #thirdPartyAutoPool(w: AutoPoolWant): Promise<string> {
    const { top } = w;
    const n = w.cfg?.ipNumber;
    if (n === undefined) {
      throw new IpamError(
        "ERR_WRONG_INPUT",
        `${top.kind}/${top.namespace}/${top.name} only supports fixed auto-created IPPool IP Number`,
      );
    }
    // Every ADD of the application's pods comes here; once the pool is in the cache at its
    // size, no API call is needed.
    const cached = pickAutoPool(this.#d.cache.pools.list(), {
      subnet: w.subnet,
      app: top,
      iface: w.iface,
      family: w.family,
    });
    if (
      cached !== undefined &&
      cached.metadata.labels?.[LABEL_OWNER_APPLICATION_UID] === top.uid &&
      isReclaimed(cached) === (w.cfg?.reclaim ?? true) &&
      poolSize(cached) === BigInt(n.n)
    )
      return cached.metadata.name ?? "";
    const out = await reconcileAutoPool(
      { client: this.#d.client, log: this.#d.log, maxAttempts: this.#d.config.waitSubnetPoolMaxRetries },
      {
        subnet: w.subnet,
        app: top,
        iface: w.iface,
        family: w.family,
        desired: n.n,
        ipNumber: String(n.n),
        reclaim: w.cfg?.reclaim ?? true,
      },
    );
    // The ADD that follows reads pools from the cache: wait until it has this one.
    for (let i = 0; i <= this.#d.config.waitSubnetPoolMaxRetries; i++) {
      if (this.#d.cache.pools.getByName(out.pool) !== undefined) break;
      await sleep(Math.min(this.#d.config.waitSubnetPoolMs, 100));
    }
    return out.pool;
  }

  /**
   * Everything that can refuse an allocation without writing (pools exist, filters), for
   * one NIC and family. All NICs and families are planned before any record is written,
   * so a misconfigured IPv6 pool never leaves an IPv4 record behind.
   */
  async #planFamily(
    family: 4 | 6,
    n: NicCandidate,
    names: string[],
    named: boolean,
    pod: Pod,
    top: TopController,
  ): Promise<FamilyPlan> {
    const pools: SpiderIPPool[] = [];
    for (const name of names) {
      const p = await this.#d.cache.getPool(name);
      if (p === undefined) throw poolNotFound(name);
      pools.push(p);
    }
    const nicCanon = named ? n.nic : nicName(n.nic);
    const nsObj = await this.#d.cache.getNamespace(pod.metadata.namespace ?? "");
    const ctx: FilterContext = {
      family,
      nic: n.nic,
      firstNic: nicCanon === "eth0" || n.nic === "0",
      pod: {
        namespace: pod.metadata.namespace ?? "",
        name: pod.metadata.name ?? "",
        labels: pod.metadata.labels ?? {},
        annotations: pod.metadata.annotations ?? {},
        nodeName: pod.spec?.nodeName ?? "",
      },
      nodeLabels: this.#d.cache.nodeLabels(pod.spec?.nodeName ?? this.#d.config.nodeName),
      namespaceLabels: nsObj?.metadata.labels ?? {},
      top,
      agentNamespace: this.#d.config.podNamespace,
      clusterNetwork: this.#d.config.multusClusterNetwork,
    };
    const reasons: string[] = [];
    const survivors: SpiderIPPool[] = [];
    for (const p of pools) {
      const why = filterReason(p, ctx);
      if (why === undefined) survivors.push(p);
      else reasons.push(why);
    }
    if (survivors.length === 0) throw allFiltered(family, names, n.nic, reasons);
    return { family, nic: n, pools: sortPools(survivors) };
  }

  /**
   * Gives back the records an ADD drew afresh that the endpoint it then found does not list
   * (its pools' order changed since the endpoint was written), so that a live pod does not
   * sit on an address it never uses. Not while another ADD of the pod runs: it may have
   * drawn the same records (one per pod and pool) and be about to record them.
   */
  async #returnUnused(
    req: AddRequest,
    podUid: string,
    fresh: readonly { pool: string; ip: string }[],
    out: AddResponse,
    log: Logger,
  ): Promise<void> {
    const used = new Set(out.ips.map((i) => recordKey(i.pool, i.address)));
    const unused = fresh.filter((f) => !used.has(recordKey(f.pool, f.ip)));
    if (unused.length === 0) return;
    if ((this.#adding.get(`${req.podNamespace}/${req.podName}`) ?? 0) > 1) {
      log.warn(
        { unused },
        "records drawn before the endpoint was found stay with the pod until it is gone: another ADD of it is running",
      );
      return;
    }
    const byPool = new Map<string, string[]>();
    for (const u of unused) byPool.set(u.pool, [...(byPool.get(u.pool) ?? []), u.ip]);
    try {
      await this.#releaseRecords(byPool, podUid);
      log.info({ released: unused }, "records drawn before the endpoint was found went back");
    } catch (err) {
      // The answer and the endpoint are right; the records stay with the pod until it is gone.
      log.warn(
        { unused, err: (err as Error).message },
        "records drawn before the endpoint was found could not go back; they are released with the pod",
      );
    }
  }

  async #commitFamily(
    plan: FamilyPlan,
    podUid: string,
    podRef: string,
    fresh: Array<{ pool: string; ip: string }>,
  ): Promise<Allocated> {
    const { family, nic: n } = plan;
    const survivors = plan.pools;
    const errors: Error[] = [];
    for (const p of survivors) {
      const name = p.metadata.name ?? "";
      try {
        const r = await this.writer(name).submit({ kind: "allocate", podUid, podRef });
        if (r.reused !== true) fresh.push({ pool: name, ip: r.ip as string });
        const out: Allocated = {
          nic: n.nic,
          family,
          ip: r.ip as string,
          pool: name,
          subnet: r.subnet ?? parseCIDR(p.spec.subnet),
          poolRoutes: p.spec.routes ?? [],
          cleanGateway: n.cleanGateway,
        };
        if (p.spec.gateway !== undefined && p.spec.gateway !== "") out.gateway = p.spec.gateway;
        return out;
      } catch (err) {
        errors.push(err as Error);
      }
    }
    throw allocationFailed(
      family,
      n.nic,
      survivors.map((p) => p.metadata.name ?? ""),
      errors,
    );
  }

  async #updateEndpoint(
    ns: string,
    name: string,
    known: SpiderEndpoint | undefined,
    mutate: (cur: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<SpiderEndpoint> {
    return updateWithRetry<SpiderEndpoint>({
      what: `SpiderEndpoint ${ns}/${name}`,
      get: () => this.#d.client.get<SpiderEndpoint>(ENDPOINTS, name, ns),
      ...(known === undefined ? {} : { first: known }),
      mutate: (cur) => mutate(structuredClone(cur)),
      write: (next) => this.#d.client.update(ENDPOINTS, next),
      maxAttempts: 20,
    });
  }

  async #writeEndpoint(
    ns: string,
    name: string,
    pod: Pod,
    podUid: string,
    top: TopController,
    kinds: { sts: boolean; vmi: boolean },
    details: IPAllocationDetail[],
    named: boolean,
    createOnly: boolean,
  ): Promise<"created" | "exists" | SpiderEndpoint> {
    // No-name multi-NIC: the first item is eth0; the others wait for their ADD to be named.
    const items = named ? details : details.map((d) => ({ ...d, interface: d.interface === "0" ? "eth0" : "" }));
    const status = {
      current: { uid: podUid, node: pod.spec?.nodeName ?? "", ips: items },
      ownerControllerType: top.kind,
      ownerControllerName: top.name,
    };
    const ep: SpiderEndpoint = {
      apiVersion: API_VERSION,
      kind: "SpiderEndpoint",
      metadata: { name, namespace: ns, finalizers: [SPIDER_FINALIZER] },
      status,
    };
    // StatefulSet and KubeVirt endpoints outlive their pods; stateless ones go with them.
    if (!kinds.sts && !kinds.vmi) {
      ep.metadata.ownerReferences = [
        {
          apiVersion: "v1",
          kind: "Pod",
          name: pod.metadata.name ?? "",
          uid: podUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ];
    }
    try {
      await this.#d.client.create(ENDPOINTS, ep);
      return "created";
    } catch (err) {
      if (!(err as { status?: number }).status || (err as { status?: number }).status !== 409) throw err;
      if (createOnly) return "exists";
    }
    return this.#updateEndpoint(ns, name, undefined, (cur) => {
      if (cur.status === undefined) return { ...cur, status };
      if (cur.status.current.uid !== podUid) return undefined;
      const have = new Set(cur.status.current.ips.map((i) => i.interface));
      const add = items.filter((i) => i.interface === "" || !have.has(i.interface));
      if (add.length === 0) return undefined;
      return {
        ...cur,
        status: { ...cur.status, current: { ...cur.status.current, ips: [...cur.status.current.ips, ...add] } },
      };
    });
  }

  /**
   * Removes our finalizer from the endpoint `known` (a copy read moments ago, written against
   * instead of reading again; a stale one costs a 409) and, when asked, the endpoint itself.
   * Only while it is still that pod's: an endpoint re-created meanwhile for another pod of the
   * same name (another UID) is left alone, and the delete is preconditioned on the object.
   */
  async #dropEndpoint(ns: string, name: string, remove: boolean, known: SpiderEndpoint): Promise<void> {
    const podUid = known.status?.current.uid;
    let objectUid: string | undefined;
    let mine = true;
    try {
      await this.#updateEndpoint(ns, name, known, (cur) => {
        mine = cur.status?.current.uid === podUid;
        objectUid = cur.metadata.uid;
        if (!mine) return undefined;
        const fins = (cur.metadata.finalizers ?? []).filter((f) => f !== SPIDER_FINALIZER);
        if (fins.length === (cur.metadata.finalizers ?? []).length) return undefined;
        const next = { ...cur, metadata: { ...cur.metadata } };
        if (fins.length === 0) delete next.metadata.finalizers;
        else next.metadata.finalizers = fins;
        return next;
      });
      if (remove && mine)
        await this.#d.client.delete(ENDPOINTS, name, {
          namespace: ns,
          ...(objectUid !== undefined ? { preconditions: { uid: objectUid } } : {}),
        });
    } catch (err) {
      // Gone already, or replaced by another object of the same name since it was read.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  async release(req: DelRequest, log: Logger): Promise<void> {
    const started = performance.now();
    this.#d.metrics.releases.inc();
    try {
      await this.#release(req, log);
      this.#d.metrics.releaseDuration.observe((performance.now() - started) / 1000);
    } catch (err) {
      this.#d.metrics.releaseFailures.inc({ reason: (err as { code?: string }).code ?? "ERR_INTERNAL" });
      throw err;
    }
  }

  async #release(req: DelRequest, log: Logger): Promise<void> {
    const { podNamespace: ns, podName } = req;
    const pod = await this.#d.cache.getPodFresh(ns, podName);
    if (pod !== undefined && isPodAlive(pod)) {
      log.info("pod is alive; its addresses are kept");
      return;
    }
    const uid = pod?.metadata.uid ?? req.podUid;
    if (pod === undefined) this.#added.delete(uid);
    if (uid === "") {
      log.warn("no way to get the pod UID; skipping release (garbage collection reclaims it)");
      return;
    }
    const top = pod === undefined ? undefined : await this.#top(pod).catch(() => undefined);
    const kinds = top === undefined ? { sts: false, vmi: false } : this.#kinds(top);
    const epName = kinds.vmi && top !== undefined ? top.name : podName;
    const ep = await this.#d.cache.getEndpointFresh(ns, epName);
    if (ep?.status === undefined) return;
    const owner = ep.status.ownerControllerType;
    // The pod's own owner, group included, when it is known: the endpoint records only a kind,
    // and an OpenKruise Advanced StatefulSet's pods (kind StatefulSet, apps.kruise.io) are stateless.
    const fixed =
      top !== undefined ? kinds.sts || kinds.vmi : workloadKindOfEndpoint(owner, this.#d.config) !== "stateless";
    if (fixed) {
      if (await this.#statefulStillValid(ns, podName, ep)) {
        log.info({ endpoint: epName }, "StatefulSet/KubeVirt pod is still valid; its addresses are kept");
        return;
      }
      await this.#releaseItems(ep.status.current.ips, ep.status.current.uid);
      await this.#dropEndpoint(ns, epName, true, ep);
      return;
    }
    if (ep.status.current.uid !== uid) return;
    if (!ep.status.current.ips.some((i) => i.interface === req.ifName || i.interface === "")) return;
    await this.#releaseItems(ep.status.current.ips, uid);
    await this.#dropEndpoint(ns, epName, pod === undefined, ep);
  }

  /**
   * CNI GC for this node: every endpoint recorded on this node goes through the DEL logic,
   * which releases the addresses of pods that are gone, dead or replaced, and keeps those of
   * live pods and of valid StatefulSet/KubeVirt workloads. Returns how many were looked at.
   */
  async gcNode(log: Logger): Promise<number> {
    const mine = await this.#d.cache.endpointsOnNode(this.#d.config.nodeName);
    for (const ep of mine) {
      const ns = ep.metadata.namespace ?? "";
      const name = ep.metadata.name ?? "";
      try {
        await this.#release(
          {
            containerID: "",
            ifName: ep.status?.current.ips[0]?.interface ?? "eth0",
            podName: name,
            podNamespace: ns,
            podUid: ep.status?.current.uid ?? "",
          },
          log.child({ endpoint: `${ns}/${name}` }),
        );
      } catch (err) {
        log.warn(
          { endpoint: `${ns}/${name}`, err: (err as Error).message },
          "GC could not release an endpoint; it is retried at the next GC",
        );
      }
    }
    return mine.length;
  }

  async #statefulStillValid(ns: string, podName: string, ep: SpiderEndpoint): Promise<boolean> {
    const owner = ep.status?.ownerControllerType;
    const ownerName = ep.status?.ownerControllerName ?? "";
    const get = async (
      rt: typeof VM | typeof VMI | typeof Resources.statefulsets,
      name: string,
    ): Promise<KubeObject | undefined> => {
      try {
        return await this.#d.client.get(rt, name, ns);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    if (owner === "StatefulSet") {
      const sts = await get(Resources.statefulsets, ownerName);
      return isValidStatefulSetPod(podName, sts as Parameters<typeof isValidStatefulSetPod>[1]);
    }
    const vmi = await get(VMI, ownerName);
    const vm = await get(VM, ownerName);
    return isValidVMPod(vmi as Parameters<typeof isValidVMPod>[0], vm as Parameters<typeof isValidVMPod>[1]);
  }

  async #releaseItems(items: readonly IPAllocationDetail[], uid: string): Promise<void> {
    await this.#releaseRecords(poolsOf(items), uid);
  }

  /** Releases `uid`'s records of these addresses, pool by pool. */
  async #releaseRecords(byPool: ReadonlyMap<string, readonly string[]>, uid: string): Promise<void> {
    await Promise.all(
      [...byPool].map(async ([pool, ips]) => {
        try {
          await this.writer(pool).submit({ kind: "release", podUid: uid, ips: [...ips] });
        } catch (err) {
          // A pool deleted meanwhile holds nothing to release.
          if ((err as { code?: string }).code !== "ERR_POOL_NOT_FOUND") throw err;
        }
      }),
    );
  }
}
