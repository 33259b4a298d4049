/**
 * spiderpool-controller: admission webhooks on every replica; on the leader only, the pool
 * status reconciler and the IP garbage collector. Health on /healthz and /readyz, metrics
 * on their own port, structured logs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { SpiderEndpointKind, type SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { Informer } from "../kube/informer.ts";
import { Resources, resourceTypeOf } from "../kube/resources.ts";
import { APP_RESOURCES, SUBNETS } from "../poolstore/auto-pool.ts";
import { POOL_RECORDS, POOLS, PoolWriter } from "../poolstore/pool-writer.ts";
import { PoolWriters } from "../poolstore/pool-writers.ts";
import { KubeEndpointStore } from "../poolstore/endpoint-store.ts";
import { KubeOwnerResolver } from "../poolstore/owner-resolver.ts";
import { systemClock, type Clock } from "../kube/clock.ts";
import type { ControllerConfig } from "./config.ts";
import type { Workload } from "../ipam/index.ts";
import { AutoPoolController, type AppInformers } from "./auto-pool.ts";
import { upgradeCrds } from "./crd-upgrade.ts";
import { GarbageCollector } from "./gc/collector.ts";
import type { GcPod } from "./gc/decide.ts";
import { LeaderElector } from "./leader.ts";
import { EventRecorder } from "./events.ts";
import { MultusConfigController } from "./multus/controller.ts";
import { CoordinatorStatusController, COORDINATORS } from "./coordinator/controller.ts";
import type { SpiderCoordinator } from "../api/coordinator.ts";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../api/multusconfig.ts";
import { CapacityGauges } from "./capacity.ts";
import { GcEvents } from "./gc-events.ts";
import { PoolAudit, RotatingLineFile } from "./audit-log.ts";
import { ControllerMetrics } from "./metrics.ts";
import { reconcilePool } from "./pool-status.ts";
import { SubnetPass, subnetRelevant } from "./subnet-pass.ts";
import { WebhookServing } from "./webhooks/serving.ts";

export const ENDPOINTS = resourceTypeOf(SpiderEndpointKind);
export { SUBNETS };
export const LEASE_NAME = "spiderpool-controller-leases";

export interface ControllerOptions {
  config: ControllerConfig;
  client: KubeClient;
  logger: Logger;
  /** Ports to bind instead of the configured ones (0 = any), for tests and the sandbox. */
  ports?: { health?: number; metrics?: number; webhook?: number };
  /** Time for the capacity samples (tests move it); the system clock otherwise. */
  clock?: Clock;
}

export class SpiderpoolController {
  readonly config: ControllerConfig;
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  readonly pools: Informer<SpiderIPPool>;
  readonly subnets: Informer<SpiderSubnet>;
  readonly endpoints: Informer<SpiderEndpoint>;
  readonly pods: Informer<GcPod & KubeObject>;
  readonly nodes: Informer<KubeObject>;
  readonly gc: GarbageCollector;
  /** Pool and subnet capacity gauges and the exhaustion forecast (issue 22). */
  readonly capacity: CapacityGauges;
  /** Present when the SpiderSubnet feature and auto-pools are enabled. */
  readonly autoPools: AutoPoolController | undefined;
  readonly #apps: AppInformers | undefined;
  /** Present when SPIDERPOOL_MULTUS_CONFIG_ENABLED: SpiderMultusConfigs and their NADs. */
  readonly multusConfigs: MultusConfigController | undefined;
  readonly #smcs: Informer<SpiderMultusConfig> | undefined;
  readonly events: EventRecorder;
  /** Present when SPIDERPOOL_COORDINATOR_ENABLED: the default SpiderCoordinator's status. */
  readonly coordinator: CoordinatorStatusController | undefined;
  readonly #coordInformers: Informer<KubeObject>[] = [];
  readonly elector: LeaderElector;
  readonly #o: ControllerOptions;
  /** The collector only releases; one writer per pool, evicted with the pool. */
  readonly writers: PoolWriters;
  /** The admission webhooks this replica serves, registers and renews. */
  readonly #webhooks: WebhookServing;
  #health: Server | undefined;
  #metricsServer: Server | undefined;
  #ready = false;
  readonly #subnetPass: SubnetPass;
  #stopping = false;
  readonly #gcEvents: GcEvents;
  /** The JSON-lines audit log, when SPIDERPOOL_TS_AUDIT_LOG names a file. */
  readonly #audit: PoolAudit | undefined;

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.config = o.config;
    this.log = o.logger;
    this.metrics = new ControllerMetrics(o.config.podName);
    this.writers = new PoolWriters((pool) => this.#newWriter(pool));
    const onError = (what: string) => (err: unknown) => this.log.warn({ err, informer: what }, "informer error");
    this.pools = new Informer<SpiderIPPool>(o.client, POOLS, {
      onError: onError("spiderippools"),
      deltaString: POOL_RECORDS,
    });
    this.endpoints = new Informer<SpiderEndpoint>(o.client, ENDPOINTS, { onError: onError("spiderendpoints") });
    this.subnets = new Informer<SpiderSubnet>(o.client, SUBNETS, { onError: onError("spidersubnets") });
    this.pods = new Informer<GcPod & KubeObject>(o.client, Resources.pods, { onError: onError("pods") });
    this.nodes = new Informer<KubeObject>(o.client, Resources.nodes, { onError: onError("nodes") });
    this.capacity = new CapacityGauges({
      client: o.client,
      pools: this.pools,
      subnets: this.subnets,
      registry: this.metrics.registry,
      clock: o.clock ?? systemClock,
      windowSeconds: o.config.forecastWindowHours * 3600,
      onError: onError("spiderreservedips"),
    });
    if (o.config.enableSpiderSubnet && o.config.enableAutoPoolForApplication) {
      const inf = (kind: keyof typeof APP_RESOURCES) =>
        new Informer<Workload>(o.client, APP_RESOURCES[kind], { onError: onError(APP_RESOURCES[kind].plural) });
      this.#apps = {
        Deployment: inf("Deployment"),
        ReplicaSet: inf("ReplicaSet"),
        StatefulSet: inf("StatefulSet"),
        DaemonSet: inf("DaemonSet"),
        Job: inf("Job"),
        CronJob: inf("CronJob"),
      };
      this.autoPools = new AutoPoolController({
        client: o.client,
        apps: this.#apps,
        pools: this.pools,
        isLeader: () => this.elector.isLeader && !this.#stopping,
        enableIPv4: o.config.enableIPv4,
        enableIPv6: o.config.enableIPv6,
        defaultFlexible: o.config.defaultFlexibleIPNumber,
        retryMs: o.config.autoPoolRetryMs,
        maxRetries: o.config.autoPoolMaxRetries,
        resyncMs: o.config.autoPoolResyncMs,
        metrics: {
          reconciled: (r) => this.metrics.autoPoolReconciles.inc({ result: r }),
          poolsDeleted: (n) => this.metrics.autoPoolsDeleted.inc(n),
        },
        log: this.log.child({ part: "auto-pool" }),
      });
    }
    this.events = new EventRecorder(o.client, "spiderpool-controller", this.log.child({ part: "events" }));
    this.#gcEvents = new GcEvents(this.events, o.clock ?? systemClock, this.metrics.registry);
    const auditPath = o.config.auditLogPath;
    if (auditPath !== undefined) {
      const file = new RotatingLineFile({
        path: auditPath,
        maxBytes: o.config.auditLogMaxBytes,
        keep: o.config.auditLogFiles,
      });
      const clock = o.clock ?? systemClock;
      this.#audit = new PoolAudit(
        file,
        () => clock.now(),
        this.metrics.registry,
        (err) => this.log.warn({ err, file: auditPath }, "audit log write failed"),
      );
    }
    if (o.config.enableMultusConfig) {
      this.#smcs = new Informer<SpiderMultusConfig>(o.client, resourceTypeOf(SpiderMultusConfigKind), {
        onError: onError("spidermultusconfigs"),
      });
      this.multusConfigs = new MultusConfigController({
        client: o.client,
        smcs: this.#smcs,
        isLeader: () => this.elector.isLeader && !this.#stopping,
        events: this.events,
        resyncMs: o.config.multusConfigResyncMs,
        retryMs: o.config.autoPoolRetryMs,
        maxRetries: o.config.autoPoolMaxRetries,
        metrics: {
          reconciled: (r) => this.metrics.multusReconciles.inc({ result: r }),
          written: (op) => this.metrics.nadsWritten.inc({ op }),
          depth: (n) => this.metrics.multusQueueDepth.set(n),
        },
        log: this.log.child({ part: "multus-config" }),
      });
    }
    if (o.config.enableCoordinator) {
      const coordinators = new Informer<SpiderCoordinator>(o.client, COORDINATORS, {
        onError: onError("spidercoordinators"),
      });
      const configMaps = new Informer<KubeObject>(o.client, Resources.configmaps, { onError: onError("configmaps") });
      const crds = new Informer<KubeObject>(o.client, Resources.customresourcedefinitions, {
        onError: onError("customresourcedefinitions"),
      });
      this.#coordInformers.push(coordinators as unknown as Informer<KubeObject>, configMaps, crds);
      this.coordinator = new CoordinatorStatusController({
        client: o.client,
        coordinators,
        configMaps,
        crds,
        name: o.config.coordinatorName,
        cniConfigDir: o.config.cniConfigDir,
        ciliumConfigMap: o.config.ciliumConfigMap,
        isLeader: () => this.elector.isLeader && !this.#stopping,
        events: this.events,
        retryMs: o.config.autoPoolRetryMs,
        maxRetries: o.config.autoPoolMaxRetries,
        metrics: { reconciled: (r) => this.metrics.coordinatorReconciles.inc({ result: r }) },
        log: this.log.child({ part: "coordinator" }),
      });
    }
    this.elector = new LeaderElector({
      client: o.client,
      namespace: o.config.podNamespace,
      name: LEASE_NAME,
      identity: o.config.podName,
      leaseDurationMs: o.config.leaseDurationMs,
      renewDeadlineMs: o.config.renewDeadlineMs,
      retryPeriodMs: o.config.retryPeriodMs,
      onStarted: () => this.#onLeader(),
      onStopped: () => {
        this.metrics.leader.set(0);
        this.gc.forget();
      },
      log: this.log.child({ part: "leader" }),
    });
    this.gc = new GarbageCollector({
      client: o.client,
      pods: this.pods,
      pools: this.pools,
      endpoints: this.endpoints,
      nodes: this.nodes,
      endpointStore: new KubeEndpointStore(o.client, ENDPOINTS),
      owners: new KubeOwnerResolver(o.client, o.config.gc, systemClock),
      submit: (pool, op) => this.writers.submit(pool, op),
      isLeader: () => this.elector.isLeader && !this.#stopping,
      cfg: o.config.gc,
      traceGapMs: o.config.gcTraceGapMs,
      workers: o.config.gcWorkers,
      scanIntervalMs: o.config.gcScanIntervalMs,
      maxRetries: o.config.gcMaxRetries,
      dbCap: o.config.gcDbCap,
      metrics: {
        reclaimed: (reason, n) => this.metrics.reclaimed(reason, n),
        failed: () => this.metrics.gcFailures.inc(),
        reclaimedAddresses: (podRef, podUid, pool, ips, reason) => {
          this.#gcEvents.reclaimed(podRef, podUid, pool, ips, reason);
          this.#audit?.reclaimed(podRef, podUid, pool, ips, reason);
        },
      },
      log: this.log.child({ part: "gc" }),
    });
    this.#webhooks = new WebhookServing({
      config: o.config,
      client: o.client,
      log: this.log,
      isLeader: () => this.elector.isLeader,
    });
    this.#subnetPass = new SubnetPass({
      client: o.client,
      pools: this.pools,
      subnets: this.subnets,
      autoPools: this.autoPools,
      active: () => this.elector.isLeader && !this.#stopping,
      log: this.log,
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  get ready(): boolean {
    return this.#ready && !this.#stopping;
  }

  get webhookUrl(): string {
    return this.#webhooks.url;
  }

  get ports(): { health: number; metrics: number } {
    const port = (s: Server | undefined): number => (s?.address() as AddressInfo | null)?.port ?? 0;
    return { health: port(this.#health), metrics: port(this.#metricsServer) };
  }

  #newWriter(pool: string): PoolWriter {
    return new PoolWriter(pool, {
      client: this.#o.client,
      cached: (n) => this.pools.getByName(n),
      // The collector only releases; reserved addresses matter to allocation alone.
      reserved: (f) => IPRangeSet.empty(f),
      maxRecords: this.config.maxAllocatedIPs,
      maxRetries: 100,
      deadlineMs: 30_000,
      metrics: {
        queueDepth: () => {},
        batch: () => {},
        conflict: () => this.metrics.releaseConflicts.inc(),
      },
      log: this.log,
    });
  }

  async start(): Promise<void> {
    const ports = this.#o.ports ?? {};
    this.#health = createServer((req, res) => this.#onHealth(req, res));
    await listen(this.#health, ports.health ?? this.config.healthPort, this.config.bindAddress);
    if (this.config.enableMetric || ports.metrics !== undefined) {
      this.#metricsServer = createServer((_req, res) => void this.#onMetrics(res));
      await listen(this.#metricsServer, ports.metrics ?? this.config.metricPort, this.config.bindAddress);
    }
    if (this.config.upgradeCrds) await upgradeCrds(this.#o.client, this.log, this.config.version);
    await this.#webhooks.start(ports.webhook ?? this.config.webhookPort);
    this.writers.follow(this.pools);
    this.pools.addHandlers({
      onAdd: (p) => {
        this.#reconcilePool(p);
        this.#subnetPass.schedule();
      },
      onUpdate: (o, p) => {
        this.#reconcilePool(p);
        // Agents rewrite pool status on every allocation; subnet accounting depends only
        // on what a pool is (spec, owner, deletion), so status-only updates skip the pass.
        if (subnetRelevant(o) !== subnetRelevant(p)) this.#subnetPass.schedule();
      },
      onDelete: () => this.#subnetPass.schedule(),
    });
    this.subnets.addHandlers({
      onAdd: () => this.#subnetPass.schedule(),
      onUpdate: () => this.#subnetPass.schedule(),
    });
    // An application's entry outlives its pool only while the application lives.
    for (const inf of Object.values(this.#apps ?? {})) inf.addHandlers({ onDelete: () => this.#subnetPass.schedule() });
    const audit = this.#audit;
    if (audit !== undefined) this.pools.addHandlers({ onUpdate: (before, after) => audit.poolUpdated(before, after) });
    for (const i of this.#informers()) i.start();
    await Promise.all(this.#informers().map((i) => i.waitForSync()));
    this.gc.start();
    this.capacity.start();
    this.autoPools?.start();
    this.multusConfigs?.start();
    await this.coordinator?.start();
    this.elector.start();
    this.#ready = true;
    this.log.info({ webhook: this.#webhooks.url, ...this.ports }, "spiderpool-controller serving");
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#webhooks.stopRenewal();
    this.#subnetPass.stop();
    this.gc.stop();
    await this.capacity.stop();
    this.autoPools?.stop();
    this.multusConfigs?.stop();
    await this.coordinator?.stop();
    await this.elector.stop();
    await this.#webhooks.close();
    for (const s of [this.#health, this.#metricsServer]) {
      if (s === undefined) continue;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await Promise.all(this.#informers().map((i) => i.stop()));
    this.writers.close();
    this.#audit?.close();
  }

  #informers(): Informer<KubeObject>[] {
    return [
      this.pools,
      this.subnets,
      this.endpoints,
      this.pods,
      this.nodes,
      ...Object.values(this.#apps ?? {}),
      ...(this.#smcs !== undefined ? [this.#smcs] : []),
      ...this.#coordInformers,
    ] as unknown as Informer<KubeObject>[];
  }

  #onLeader(): void {
    this.metrics.leader.set(1);
    this.#webhooks.registerOnTakeover();
    for (const p of this.pools.list()) this.#reconcilePool(p);
    this.#subnetPass.schedule();
    this.autoPools?.resync();
    this.multusConfigs?.resync();
    this.coordinator?.enqueue();
    this.gc.replay();
    // A new leader's first job: one full scan, as upstream does when its pod informer syncs.
    void this.gc.scanAll().catch((err: unknown) => this.log.error({ err }, "GC scan failed"));
  }

  #reconcilePool(pool: SpiderIPPool): void {
    if (!this.elector.isLeader || this.#stopping) return;
    const a = reconcilePool(pool);
    if (a.kind === "none") return;
    const write =
      a.kind === "status" ? this.#o.client.updateStatus(POOLS, a.next) : this.#o.client.update(POOLS, a.next);
    write
      .then(() => {
        if (a.kind === "unfinalize")
          this.log.info({ pool: pool.metadata.name }, "released the finalizer of an empty pool");
      })
      .catch((err: unknown) => {
        // A conflict means a newer version exists; its own event reconciles it.
        if (isConflict(err) || isNotFound(err)) return;
        this.log.warn({ err, pool: pool.metadata.name }, "pool status write failed");
      });
  }

  #onHealth(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/healthz" || path === "/v1/runtime/liveness") return reply(res, this.#stopping ? 500 : 200, "ok");
    if (path === "/readyz" || path === "/v1/runtime/readiness" || path === "/v1/runtime/startup")
      return reply(res, this.ready ? 200 : 500, this.ready ? "ok" : "not ready");
    if (path === "/v1/leader") return reply(res, 200, JSON.stringify({ leader: this.isLeader }));
    reply(res, 404, "not found");
  }

  async #onMetrics(res: ServerResponse): Promise<void> {
    this.metrics.totalPools.set(this.pools.size);
    this.capacity.collect();
    this.metrics.webhookDecisions.reset();
    for (const c of this.#webhooks.decisions())
      this.metrics.webhookDecisions.set({ webhook: c.webhook, result: c.result }, c.count);
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { "content-type": this.metrics.registry.contentType });
    res.end(text);
  }
}

function reply(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(body);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
}
