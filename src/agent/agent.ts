/**
 * spiderpool-agent: informer caches, the unix socket for the shim and for tooling, the TCP
 * health probes and Prometheus metrics. The socket opens only after the caches have synced,
 * as upstream's does, so the first CNI call never decides on an empty cache.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import pino, { type Logger } from "pino";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../api/coordinator.ts";
import { agentCoordinatorConfig } from "../coordinator/config.ts";
import { CoordinatorConfigUnavailableError } from "../coordinator/errors.ts";
import { coordinatorRole } from "../coordinator/flow.ts";
import { PluginMetrics } from "../coordinator/metrics.ts";
import type { NetnsRef } from "../host/model.ts";
import type { HostNetwork } from "../host/network.ts";
import type { KubeClient } from "../kube/client.ts";
import { headerValues } from "../kube/http1.ts";
import { Informer } from "../kube/informer.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { AgentCache } from "./cache.ts";
import { handleCni, type CniHandlerDeps } from "./cni-handler.ts";
import { ifacerRole } from "./ifacer-role.ts";
import { rdmaPodOf } from "./rdma-pods.ts";
import { NetlinkRdmaSource } from "../rdma/netlink-source.ts";
import { RdmaExporter } from "../rdma/exporter.ts";
import type { RdmaSource } from "../rdma/model.ts";
import type { AgentConfig } from "./config.ts";
import { IpamService } from "./ipam-service.ts";
import { AgentMetrics } from "./metrics.ts";
import { secureSocketDir } from "./socket-dir.ts";
import { SocketServer, type SocketAnswer, type SocketRequest } from "./socket-server.ts";

const MAX_BODY = 1 << 20;
const COORDINATORS = resourceTypeOf(SpiderCoordinatorKind);

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
    ...headers,
  });
  res.end(body);
}

/** The first value of header `name` (lower case). */
function header(req: SocketRequest, name: string): string {
  return headerValues(req.headers, name)[0] ?? "";
}

function json(status: number, value: unknown, headers?: Record<string, string>): SocketAnswer {
  return { status, body: JSON.stringify(value), ...(headers !== undefined ? { headers } : {}) };
}

export interface AgentOptions {
  config: AgentConfig;
  client: KubeClient;
  logger?: Logger;
  /** Listen on these TCP ports instead of the configured ones (0: any free port), for tests. */
  healthPort?: number;
  metricPort?: number;
  /**
   * The node's network, for the coordinator and ifacer roles: netlink on the agent's own namespace in
   * production, a simulated node's namespace in end-to-end tests. Without it the role is refused.
   */
  hostNetwork?: { network: HostNetwork; ns: NetnsRef };
  /** With `enableRdmaMetric`: its port (0: any free port) and where it reads (default: `rdma`/`ip`). */
  rdmaMetricPort?: number;
  rdmaSource?: RdmaSource;
}

export class SpiderpoolAgent {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly cache: AgentCache;
  readonly service: IpamService;
  readonly #client: KubeClient;
  readonly #opts: AgentOptions;
  #socket: SocketServer | undefined;
  #health: Server | undefined;
  #metricsServer: Server | undefined;
  /** The RDMA exporter, when enabled. */
  rdma: RdmaExporter | undefined;
  #rdmaPort = 0;
  #started = false;
  readonly #coordinators: Informer<SpiderCoordinator> | undefined;
  readonly #roles: NonNullable<CniHandlerDeps["roles"]> = {};
  #stopping = false;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.config = opts.config;
    this.#client = opts.client;
    this.log = (
      opts.logger ??
      pino({ level: opts.config.logLevel, base: { component: "spiderpool-agent", node: opts.config.nodeName } })
    ).child({});
    this.metrics = new AgentMetrics(opts.config.podName);
    this.cache = new AgentCache(opts.client, opts.config.nodeName, this.log, { poolWatch: opts.config.poolWatch });
    this.service = new IpamService({
      client: opts.client,
      cache: this.cache,
      config: opts.config,
      metrics: this.metrics,
      log: this.log,
      ...(opts.hostNetwork !== undefined ? { host: opts.hostNetwork.network, hostNs: opts.hostNetwork.ns } : {}),
    });
    const hostNet = opts.hostNetwork;
    if (hostNet !== undefined) {
      const coordinators = new Informer<SpiderCoordinator>(opts.client, COORDINATORS, {
        onError: (err) => this.log.warn({ err, informer: "spidercoordinators" }, "informer error; retrying"),
      });
      this.#coordinators = coordinators;
      this.#roles = {
        coordinator: coordinatorRole({
          host: hostNet.network,
          hostNs: hostNet.ns,
          randomBytes,
          metrics: new PluginMetrics(this.metrics.registry),
          agentConfig: async (ns, name) =>
            agentCoordinatorConfig(coordinators.list(), await this.cache.getPod(ns, name), ns, name),
        }),
        ifacer: ifacerRole(hostNet.network, hostNet.ns),
      };
    }
  }

  get ready(): boolean {
    return this.#started && this.cache.synced && !this.#stopping;
  }

  /** TCP ports actually bound (health, metrics), once started. */
  get ports(): { health: number; metrics: number; rdmaMetrics: number } {
    const port = (s: Server | undefined): number => (s?.address() as AddressInfo | null)?.port ?? 0;
    return { health: port(this.#health), metrics: port(this.#metricsServer), rdmaMetrics: this.#rdmaPort };
  }

  async start(): Promise<void> {
    this.#health = createServer((req, res) => this.#onHealth(req, res));
    await this.#listenTcp(this.#health, this.#opts.healthPort ?? this.config.healthPort);
    if (this.config.enableMetric || this.#opts.metricPort !== undefined) {
      this.#metricsServer = createServer((_req, res) => void this.#onMetrics(res));
      await this.#listenTcp(this.#metricsServer, this.#opts.metricPort ?? this.config.metricPort);
    }
    if (this.config.enableRdmaMetric) {
      this.rdma = new RdmaExporter(
        this.#opts.rdmaSource ?? new NetlinkRdmaSource(),
        { nodeName: this.config.nodeName, podOf: rdmaPodOf(this.cache) },
        this.log,
      );
      this.#rdmaPort = await this.rdma.start(
        this.#opts.rdmaMetricPort ?? this.config.rdmaMetricPort,
        this.config.bindAddress,
      );
    }
    const t0 = performance.now();
    this.#coordinators?.start();
    await Promise.all([this.cache.start(), this.#coordinators?.waitForSync(60_000)]);
    // Pods already on this node (after a reboot, an agent upgrade) may have endpoints: their
    // ADDs read them first. Only pods that arrive from now on are taken for new.
    const present = this.cache.pods.list();
    this.service.knownPods(present.map((p) => p.metadata.uid ?? ""));
    this.log.info({ ms: Math.round(performance.now() - t0), pods: present.length }, "caches synced");
    secureSocketDir(dirname(this.config.socketPath), this.log);
    rmSync(this.config.socketPath, { force: true });
    this.#socket = new SocketServer((req) => this.#onSocket(req), {
      maxBody: MAX_BODY,
      requestMs: 60_000,
      onError: (err) => this.log.error({ err }, "socket request failed unexpectedly"),
    });
    await this.#socket.listen(this.config.socketPath);
    // Only root may talk to the agent; the shim also checks the directory and the peer.
    chmodSync(this.config.socketPath, 0o600);
    this.#started = true;
    this.log.info({ socket: this.config.socketPath, ...this.ports }, "spiderpool-agent serving");
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#socket?.close();
    await this.rdma?.stop();
    for (const s of [this.#health, this.#metricsServer]) {
      if (s === undefined) continue;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    rmSync(this.config.socketPath, { force: true });
    await Promise.all([this.cache.stop(), this.#coordinators?.stop()]);
    this.service.close();
  }

  #listenTcp(server: Server, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.config.bindAddress, () => resolve());
    });
  }

  #onHealth(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "").split("?")[0];
    switch (path) {
      case "/v1/runtime/liveness":
        return reply(res, this.#stopping ? 500 : 200, "");
      case "/v1/runtime/startup":
      case "/v1/runtime/readiness":
        return reply(res, this.ready ? 200 : 500, "");
      default:
        return reply(res, 404, JSON.stringify("not found"));
    }
  }

  async #onMetrics(res: ServerResponse): Promise<void> {
    const text = await this.metrics.registry.metrics();
    res.writeHead(200, { "content-type": this.metrics.registry.contentType });
    res.end(text);
  }

  /** `GET /v1/explain?podNamespace=&podName=[&ifName=&defaultIPv4IPPool=a,b&defaultIPv6IPPool=]` (issue 22). */
  async #explain(queryText: string): Promise<SocketAnswer> {
    const q = new URLSearchParams(queryText);
    const ns = q.get("podNamespace");
    const name = q.get("podName");
    if (ns === null || name === null) return json(400, "podNamespace and podName are required");
    const list = (k: string): string[] | undefined =>
      q
        .get(k)
        ?.split(",")
        .filter((x) => x !== "");
    const v4 = list("defaultIPv4IPPool");
    const v6 = list("defaultIPv6IPPool");
    const e = await this.service.explain({
      podNamespace: ns,
      podName: name,
      ...(q.get("ifName") !== null ? { ifName: q.get("ifName") as string } : {}),
      ...(v4 !== undefined ? { defaultIPv4IPPool: v4 } : {}),
      ...(v6 !== undefined ? { defaultIPv6IPPool: v6 } : {}),
    });
    return e === undefined ? json(404, `no pod ${ns}/${name} on this node`) : json(200, e);
  }

  /** Upstream's JSON API (`POST`/`DELETE /v1/ipam/ip`), for tools written against it. */
  async #ipamApi(method: string, body: string): Promise<SocketAnswer> {
    const a = JSON.parse(body || "{}") as Record<string, unknown>;
    const str = (k: string): string => (typeof a[k] === "string" ? (a[k] as string) : "");
    for (const k of ["containerID", "ifName", "podNamespace", "podName"]) {
      if (str(k) === "") return json(500, `${k} in body is required`);
    }
    const log = this.log.child({
      pod: `${str("podNamespace")}/${str("podName")}`,
      container: str("containerID"),
      interface: str("ifName"),
    });
    try {
      if (method === "DELETE") {
        await this.service.release(
          {
            containerID: str("containerID"),
            ifName: str("ifName"),
            podName: str("podName"),
            podNamespace: str("podNamespace"),
            podUid: str("podUID"),
          },
          log,
        );
        return { status: 200, body: "" };
      }
      const list = (k: string): string[] => (Array.isArray(a[k]) ? (a[k] as string[]) : []);
      const addReq = {
        containerID: str("containerID"),
        ifName: str("ifName"),
        netns: str("netNamespace"),
        podName: str("podName"),
        podNamespace: str("podNamespace"),
        podUid: str("podUID"),
        defaultIPv4IPPool: list("defaultIPv4IPPool"),
        defaultIPv6IPPool: list("defaultIPv6IPPool"),
        cleanGateway: a["cleanGateway"] === true,
        matchMasterSubnet: a["matchMasterSubnet"] === true,
      };
      const out = await this.service.allocate(addReq, log);
      // The caller of this API probes, as upstream's plugin does; the flags say what to probe.
      const on = await this.service.detectionFlags(addReq, log);
      return json(200, {
        ips: out.ips.map((i) => ({
          version: i.family,
          address: i.address,
          nic: i.nic,
          ipPool: i.pool,
          ...(i.gateway !== undefined ? { gateway: i.gateway } : {}),
          ...(on.gateway ? { enableGatewayDetection: true } : {}),
          ...(on.ipConflict ? { enableIPConflictDetection: true } : {}),
        })),
        routes: out.routes.map((r) => ({ ifName: r.nic, dst: r.dst, gw: r.gw })),
      });
    } catch (err) {
      return json(500, (err as Error).message);
    }
  }

  /**
   * `GET /v1/coordinator/config`: the first SpiderCoordinator's spec once it is Synced, with
   * the pod's `ipam.spidernet.io/default-route-nic` overriding podDefaultRouteNIC.
   */
  async #coordinatorConfig(body: string): Promise<SocketAnswer> {
    const a = JSON.parse(body || "{}") as { podName?: string; podNamespace?: string };
    const ns = a.podNamespace ?? "";
    const name = a.podName ?? "";
    const coordinators = this.#coordinators?.list() ?? (await this.#client.list<SpiderCoordinator>(COORDINATORS)).items;
    const pod = name !== "" && ns !== "" ? await this.cache.getPod(ns, name) : undefined;
    try {
      return json(200, agentCoordinatorConfig(coordinators, pod, ns, name));
    } catch (err) {
      if (err instanceof CoordinatorConfigUnavailableError) return json(500, err.reason);
      throw err;
    }
  }

  async #onSocket(req: SocketRequest): Promise<SocketAnswer> {
    try {
      const m = /^\/v1\/cni\/(ipam|coordinator|ifacer)$/.exec(req.path);
      if (m !== null && req.method === "POST") {
        const answer = await handleCni(
          {
            role: m[1] as string,
            command: header(req, "x-cni-command"),
            containerID: header(req, "x-cni-containerid"),
            netns: header(req, "x-cni-netns"),
            ifName: header(req, "x-cni-ifname"),
            args: header(req, "x-cni-args"),
            path: header(req, "x-cni-path"),
            stdin: req.body,
          },
          { service: this.service, ready: () => this.ready, log: this.log, roles: this.#roles },
        );
        return {
          status: answer.exitCode === 0 ? 200 : 500,
          body: answer.stdout,
          headers: { "x-cni-exit-code": String(answer.exitCode) },
        };
      }
      if (req.path === "/v1/ipam/healthy" && req.method === "GET") return { status: this.ready ? 200 : 500, body: "" };
      if (req.path === "/v1/ipam/ip" && (req.method === "POST" || req.method === "DELETE"))
        return await this.#ipamApi(req.method, req.body);
      if (req.path === "/v1/coordinator/config" && req.method === "GET") return await this.#coordinatorConfig(req.body);
      if (req.path === "/v1/explain" && req.method === "GET") return await this.#explain(req.query);
      if (req.path === "/v1/workloadendpoint" && req.method === "GET") {
        const query = new URLSearchParams(req.query);
        const ns = query.get("podNamespace");
        const name = query.get("podName");
        if (ns === null || name === null) return json(400, "podNamespace and podName are required");
        const ep = await this.cache.getEndpointFresh(ns, name);
        if (ep?.status === undefined) return json(404, `no SpiderEndpoint ${ns}/${name}`);
        return json(200, {
          podNamespace: ns,
          podName: name,
          podUID: ep.status.current.uid,
          node: ep.status.current.node,
          interfaces: ep.status.current.ips,
        });
      }
      return json(404, `no route for ${req.method} ${req.path}`);
    } catch (err) {
      this.log.error({ err: (err as Error).message, path: req.path }, "request failed");
      return json(500, (err as Error).message, { "x-cni-exit-code": "1" });
    }
  }
}
