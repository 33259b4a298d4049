/**
 * The agent's IPAM: the ADD and DEL flows (add-flow.ts, del-flow.ts) wired to the cluster,
 * with their metrics, and CNI GC. The flows see the cluster through seams (flow-deps.ts);
 * this module is where the real ones are made.
 */
import type { Logger } from "pino";
import type { NetnsRef } from "../host/model.ts";
import { explainPod, type Explanation } from "../ipam/explain.ts";
import type { HostNetwork } from "../host/network.ts";
import { isNotFound } from "../kube/errors.ts";
import { KUBEVIRT_VMIM } from "../kube/resources.ts";
import { retryTransient } from "../kube/retry.ts";
import { systemClock, type Clock } from "../kube/clock.ts";
import type { KubeClient } from "../kube/client.ts";
import { KubeEndpointStore, type EndpointStore } from "../poolstore/endpoint-store.ts";
import { KubeOwnerResolver } from "../poolstore/owner-resolver.ts";
import { PoolWriter } from "../poolstore/pool-writer.ts";
import { PoolWriters } from "../poolstore/pool-writers.ts";
import { AddFlow, type AddRequest, type AddResponse } from "./add-flow.ts";
import { AgentCache, ENDPOINTS } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import { DelFlow, type DelOutcome, type DelRequest } from "./del-flow.ts";
import { DetectFlow } from "./detect-flow.ts";
import { PodMemo, type FlowDeps } from "./flow-deps.ts";
import { masterLookup } from "./master-interface.ts";
import { IpEvents } from "./ip-events.ts";
import type { AgentMetrics } from "./metrics.ts";

export type { AddRequest, AddResponse } from "./add-flow.ts";
export type { DelOutcome, DelRequest } from "./del-flow.ts";

export interface ServiceDeps {
  client: KubeClient;
  cache: AgentCache;
  config: AgentConfig;
  metrics: AgentMetrics;
  log: Logger;
  clock?: Clock;
  /** Pod namespaces, for IP-conflict and gateway detection; absent when the host addon is not loadable. */
  host?: HostNetwork;
  /** The node's namespace as `host` names it (the master of `match_master_subnet` lives there). */
  hostNs?: NetnsRef;
}

export interface ExplainQuery {
  podNamespace: string;
  podName: string;
  ifName?: string;
  /** The netconf's default pools, which only the CNI call carries. */
  defaultIPv4IPPool?: string[];
  defaultIPv6IPPool?: string[];
}

export class IpamService {
  readonly #d: ServiceDeps;
  readonly writers: PoolWriters;
  readonly #endpoints: EndpointStore;
  readonly #memo = new PodMemo();
  readonly #add: AddFlow;
  readonly #del: DelFlow;
  readonly #owners: KubeOwnerResolver;
  readonly #events: IpEvents | undefined;
  readonly #detect: DetectFlow;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
    const clock = deps.clock ?? systemClock;
    this.writers = new PoolWriters((pool) => this.#newWriter(pool));
    this.writers.follow(deps.cache.pools);
    deps.metrics.oldestBatchFrom(() => this.writers.oldestAgeMs);
    // Our own status writes come back on the watch; the writer holds them already.
    deps.cache.pools.recognize((meta) => this.writers.peek(meta.name ?? "")?.held(meta));
    this.#endpoints = new KubeEndpointStore(deps.client, ENDPOINTS);
    this.#owners = new KubeOwnerResolver(deps.client, deps.config, clock);
    this.#events =
      deps.config.ipEventsBurst > 0
        ? new IpEvents({
            client: deps.client,
            component: "spiderpool-agent",
            log: deps.log,
            clock,
            registry: deps.metrics.registry,
            burst: deps.config.ipEventsBurst,
            perSecond: deps.config.ipEventsPerMinute / 60,
          })
        : undefined;
    const flow: FlowDeps = {
      view: deps.cache,
      endpoints: this.#endpoints,
      writers: this.writers,
      owners: this.#owners,
      clock,
      config: deps.config,
      client: deps.client,
      log: deps.log,
      ...(deps.host !== undefined && deps.hostNs !== undefined
        ? { masterOf: masterLookup(deps.host, deps.hostNs) }
        : {}),
    };
    this.#add = new AddFlow(flow, this.#memo);
    this.#del = new DelFlow(flow, this.#memo);
    this.#detect = new DetectFlow({
      host: deps.host,
      clock,
      view: deps.cache,
      switches: { ipConflict: deps.config.enableIPConflictDetection, gateway: deps.config.enableGatewayDetection },
      migrationExists: async (ns, name) => {
        try {
          await retryTransient(`GET VirtualMachineInstanceMigration ${ns}/${name}`, () =>
            deps.client.get(KUBEVIRT_VMIM, name, ns),
          );
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
      release: async (req, log) => {
        await this.#del.releaseAll(req, log);
      },
      metrics: deps.metrics,
    });
  }

  #newWriter(pool: string): PoolWriter {
    const { client, cache, config, metrics, log } = this.#d;
    return new PoolWriter(pool, {
      client,
      cached: (n) => cache.pools.getByName(n),
      ...(config.poolWatch === "metadata" ? { latest: (n: string) => cache.pools.latestVersion(n) } : {}),
      reserved: (f) => cache.reservedSet(f),
      maxRecords: config.maxAllocatedIPs,
      maxRetries: config.maxWriteRetries,
      deadlineMs: config.writeDeadlineSeconds * 1000,
      metrics: {
        queueDepth: (pool, depth) => metrics.queueDepth.set({ pool }, depth),
        batch: (size) => metrics.batchSize.observe(size),
        conflict: (kind) => {
          metrics.writeRetries.inc();
          (kind === "allocate" ? metrics.allocationConflicts : metrics.releaseConflicts).inc();
        },
      },
      log,
    });
  }

  /** The writer of one pool (made on first use). */
  writer(pool: string): ReturnType<PoolWriters["get"]> {
    return this.writers.get(pool);
  }

  get queueDepth(): number {
    return this.writers.depth;
  }

  /** Pods that may already have an ADD behind them (they were on the node when the agent started). */
  knownPods(uids: readonly string[]): void {
    this.#memo.known(uids);
  }

  /**
   * `GET /v1/explain`: the pool selection an ADD of this pod would make here now, from this
   * agent's cache and configuration (src/ipam/explain.ts). Undefined when the pod is unknown.
   */
  async explain(q: ExplainQuery): Promise<Explanation | undefined> {
    const { cache, config } = this.#d;
    const pod = await cache.getPod(q.podNamespace, q.podName);
    if (pod === undefined) return undefined;
    const ns = await cache.getNamespace(q.podNamespace);
    return explainPod({
      pod,
      top: await this.#owners.top(pod),
      namespace: { labels: ns?.metadata.labels ?? {}, annotations: ns?.metadata.annotations ?? {} },
      nodeLabels: cache.nodeLabels(pod.spec?.nodeName ?? config.nodeName),
      pools: cache.pools.list(),
      reserved: { 4: cache.reservedSet(4), 6: cache.reservedSet(6) },
      ifName: q.ifName ?? "eth0",
      netconf: {
        defaultIPv4IPPool: q.defaultIPv4IPPool ?? [],
        defaultIPv6IPPool: q.defaultIPv6IPPool ?? [],
        cleanGateway: false,
      },
      config: {
        enableIPv4: config.enableIPv4,
        enableIPv6: config.enableIPv6,
        enableSpiderSubnet: config.enableSpiderSubnet,
        enableAutoPoolForApplication: config.enableAutoPoolForApplication,
        agentNamespace: config.podNamespace,
        clusterNetwork: config.multusClusterNetwork,
        maxRecords: config.maxAllocatedIPs,
      },
    });
  }

  async allocate(req: AddRequest, log: Logger): Promise<AddResponse> {
    const { metrics } = this.#d;
    const started = performance.now();
    metrics.allocations.inc();
    const key = `${req.podNamespace}/${req.podName}`;
    this.#memo.enter(key);
    try {
      const out = await this.#add.add(req, log);
      metrics.allocationDuration.observe((performance.now() - started) / 1000);
      this.#events?.allocated({ namespace: req.podNamespace, name: req.podName, uid: req.podUid }, out.ips);
      return out;
    } catch (err) {
      metrics.allocationFailures.inc({ reason: (err as { code?: string }).code ?? "ERR_INTERNAL" });
      throw err;
    } finally {
      this.#memo.leave(key);
    }
  }

  /**
   * The CNI ADD's IP-conflict and gateway detection (spec §1.12) for what `allocate` answered;
   * a conflict or an unreachable gateway releases the allocation and throws.
   */
  async detect(req: AddRequest, res: AddResponse, log: Logger): Promise<void> {
    try {
      await this.#detect.run(req, res, log);
    } catch (err) {
      this.#d.metrics.allocationFailures.inc({ reason: (err as { code?: string }).code ?? "ERR_INTERNAL" });
      throw err;
    }
  }

  /** The detection switches as they apply to this pod (the flags of upstream's JSON answer). */
  detectionFlags(req: AddRequest, log: Logger): ReturnType<DetectFlow["flags"]> {
    return this.#detect.flags(req, log);
  }

  async release(req: DelRequest, log: Logger): Promise<DelOutcome> {
    const { metrics } = this.#d;
    const started = performance.now();
    metrics.releases.inc();
    try {
      const out = await this.#del.release(req, log);
      metrics.releaseDuration.observe((performance.now() - started) / 1000);
      if (out === "released")
        this.#events?.released({ namespace: req.podNamespace, name: req.podName, uid: req.podUid }, req.containerID);
      return out;
    } catch (err) {
      metrics.releaseFailures.inc({ reason: (err as { code?: string }).code ?? "ERR_INTERNAL" });
      throw err;
    }
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
        await this.#del.release(
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

  /** Drops every pool writer (the agent is stopping). */
  close(): void {
    this.writers.close();
  }
}
