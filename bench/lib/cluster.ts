// A cluster for benchmarks, every component in its own process as in a deployment: the
// embedded API server (`spiderpoolctl apiserver`, optionally with added write latency to
// model etcd), one `spiderpool-controller`, and one `spiderpool-agent` per simulated node,
// each on its own unix socket. The benchmark process only drives CNI calls and reads.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeClient, loadKubeconfig, Resources, type KubeObject } from "../../src/kube/index.ts";
import { counterSum, logLine, scrape, startDaemon, type Daemon } from "./daemons.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHIM = join(ROOT, "native", "shim", "build", "spiderpool");

export interface ClusterOptions {
  nodes: number;
  /** Added to every write of the API server (0 and 5 ms are the reference points). */
  writeLatencyMs?: number;
  controller?: boolean;
  /** "graceful": deleted pods stay Terminating until deleted with grace 0, as with a kubelet. */
  podDeletion?: "immediate" | "graceful";
  controllerEnv?: Record<string, string>;
  agentEnv?: Record<string, string>;
  /**
   * `node --cpu-prof` for the API server and the agents of the first PROFILED_AGENTS nodes,
   * written into this directory. Not every agent: a hundred profilers sampling every 100 µs
   * on two cores starved the API server, and the agents never became ready.
   */
  cpuProfDir?: string;
}

/** How many agents `cpuProfDir` profiles (each node's agent does the same work). */
const PROFILED_AGENTS = 10;

export interface BenchAgent {
  node: string;
  socket: string;
  daemon: Daemon;
  metricsUrl: string;
}

export class BenchCluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly apiUrl: string;
  readonly client: KubeClient;
  readonly apiserver: Daemon;
  readonly controller: Daemon | undefined;
  readonly controllerMetricsUrl: string | undefined;
  readonly agents: BenchAgent[];

  private constructor(f: {
    dir: string;
    kubeconfig: string;
    apiUrl: string;
    client: KubeClient;
    apiserver: Daemon;
    controller: Daemon | undefined;
    controllerMetricsUrl: string | undefined;
    agents: BenchAgent[];
  }) {
    this.dir = f.dir;
    this.kubeconfig = f.kubeconfig;
    this.apiUrl = f.apiUrl;
    this.client = f.client;
    this.apiserver = f.apiserver;
    this.controller = f.controller;
    this.controllerMetricsUrl = f.controllerMetricsUrl;
    this.agents = f.agents;
  }

  static async start(o: ClusterOptions): Promise<BenchCluster> {
    const dir = mkdtempSync(join(tmpdir(), "spiderpool-bench-"));
    const kubeconfig = join(dir, "kubeconfig");
    const started: Daemon[] = [];
    try {
      const apiserver = await startDaemon(
        "apiserver",
        join(ROOT, "bin", "spiderpoolctl"),
        [
          "apiserver",
          "--listen",
          "127.0.0.1:0",
          "--kubeconfig-out",
          kubeconfig,
          "--write-latency-ms",
          String(o.writeLatencyMs ?? 0),
          "--pod-deletion",
          o.podDeletion ?? "immediate",
        ],
        o.cpuProfDir !== undefined
          ? {
              NODE_OPTIONS: `--cpu-prof --cpu-prof-interval=100 --cpu-prof-dir=${o.cpuProfDir} --cpu-prof-name=apiserver.cpuprofile`,
            }
          : {},
        /^ready /m,
      );
      started.push(apiserver);
      const kc = loadKubeconfig(kubeconfig);
      const apiUrl = /server:\s*(\S+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1] ?? "";
      const client = new KubeClient(kc);
      const nodes = Array.from({ length: o.nodes }, (_, i) => `node${i + 1}`);
      for (const n of nodes)
        await client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: n } });
      const common = {
        KUBECONFIG: kubeconfig,
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_LOG_LEVEL: "info",
        SPIDERPOOL_ENABLED_METRIC: "true",
        SPIDERPOOL_HEALTH_PORT: "0",
        SPIDERPOOL_METRIC_HTTP_PORT: "0",
      };
      let controller: Daemon | undefined;
      let controllerMetricsUrl: string | undefined;
      if (o.controller !== false) {
        controller = await startDaemon(
          "controller",
          join(ROOT, "bin", "spiderpool-controller"),
          [],
          {
            ...common,
            SPIDERPOOL_POD_NAME: "spiderpool-controller-0",
            SPIDERPOOL_WEBHOOK_PORT: "0",
            ...o.controllerEnv,
          },
          /spiderpool-controller serving/,
        );
        started.push(controller);
        controllerMetricsUrl = `http://127.0.0.1:${String(logLine(controller, "spiderpool-controller serving")?.["metrics"])}/metrics`;
        // Pools created below pass the controller's webhooks; wait until it leads, so the
        // pools' status is kept from the start.
        await waitFor(async () =>
          /spiderpool_ts_controller_leader\S* 1/.test(await scrape(controllerMetricsUrl ?? "")),
        );
      }
      const agents: BenchAgent[] = [];
      // Agents start in parallel: each spends its first second compiling, and ten of them
      // one after the other would add ten seconds to every run.
      const made = await Promise.all(
        nodes.map(async (node) => {
          const socket = join(dir, `${node}.sock`);
          const conf = join(dir, `${node}.yml`);
          writeFileSync(conf, `ipamUnixSocketPath: ${socket}\n`);
          const env: Record<string, string> = {
            ...common,
            SPIDERPOOL_POD_NAME: `spiderpool-agent-${node}`,
            SPIDERPOOL_NODE_NAME: node,
            ...o.agentEnv,
          };
          if (o.cpuProfDir !== undefined && nodes.indexOf(node) < PROFILED_AGENTS)
            env["NODE_OPTIONS"] =
              `--cpu-prof --cpu-prof-interval=100 --cpu-prof-dir=${o.cpuProfDir} --cpu-prof-name=agent-${node}.cpuprofile`;
          const daemon = await startDaemon(
            `agent-${node}`,
            join(ROOT, "bin", "spiderpool-agent"),
            ["--config-path", conf],
            env,
            /spiderpool-agent serving/,
          );
          started.push(daemon);
          const metrics = logLine(daemon, "spiderpool-agent serving")?.["metrics"];
          return { node, socket, daemon, metricsUrl: `http://127.0.0.1:${String(metrics)}/metrics` };
        }),
      );
      agents.push(...made);
      return new BenchCluster({ dir, kubeconfig, apiUrl, client, apiserver, controller, controllerMetricsUrl, agents });
    } catch (err) {
      for (const d of started.reverse()) await d.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get daemons(): Daemon[] {
    return [
      this.apiserver,
      ...(this.controller !== undefined ? [this.controller] : []),
      ...this.agents.map((a) => a.daemon),
    ];
  }

  /** Creates pods as a workload controller and the scheduler would: named, owned, on a node. */
  async createPods(pods: PodSpec[], concurrency = 16): Promise<Map<string, string>> {
    const uids = new Map<string, string>();
    await forEachLimit(pods, concurrency, async (p) => {
      const o: KubeObject = await this.client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: p.name,
          namespace: p.namespace,
          ...(p.annotations !== undefined ? { annotations: p.annotations } : {}),
          ...(p.ownerReferences !== undefined ? { ownerReferences: p.ownerReferences } : {}),
        },
        spec: { nodeName: p.node, containers: [{ name: "app", image: "pause" }] },
      });
      uids.set(`${p.namespace}/${p.name}`, o.metadata?.uid ?? "");
    });
    return uids;
  }

  /** Writes answered by the API server, and the 409s among them, from its request counter. */
  async apiWrites(): Promise<{ total: number; conflicts: number; events: number }> {
    const text = await scrape(`${this.apiUrl}/metrics`);
    let total = 0;
    let conflicts = 0;
    let events = 0;
    for (const verb of ["POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"]) {
      total += counterSum(text, "apiserver_request_total", { verb });
      conflicts += counterSum(text, "apiserver_request_total", { verb, code: "409" });
      events += counterSum(text, "apiserver_request_total", { verb, resource: "events" });
    }
    return { total, conflicts, events };
  }

  async stop(): Promise<void> {
    await this.client.close();
    for (const d of [...this.daemons].reverse()) await d.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PodSpec {
  name: string;
  namespace: string;
  node: string;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
}

export async function waitFor(cond: () => Promise<boolean>, timeoutMs = 60_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const t = items[next++] as T;
      await fn(t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
