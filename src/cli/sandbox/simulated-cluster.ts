/**
 * The sandbox's cluster around an API server: per simulated node a spiderpool-agent (its own
 * socket) and a kubelet (kubelet.ts), plus the scheduler and workload controllers
 * (control-plane.ts). In "netns" mode each node is a network namespace holding the macvlan
 * master, pods get namespaces of their own and the plugins run in the node's; in "ipam" mode
 * only the IPAM plugin runs.
 */
import { join } from "node:path";
import type pino from "pino";
import { SpiderpoolAgent, type AgentOptions } from "../../agent/agent.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { Informer, KubeClient, type BackoffOptions } from "../../kube/index.ts";
import type { NetLab } from "../netlab.ts";
import { CniRuntime } from "./cni-runtime.ts";
import { ControlPlane } from "./control-plane.ts";
import { Kubelet } from "./kubelet.ts";
import type { NetConfList } from "./network-plan.ts";
import { NADS } from "./resources.ts";

export interface SimulatedClusterOptions {
  server: string;
  nodes: string[];
  mode: "netns" | "ipam";
  shimDir: string;
  /** Where the agents' sockets go. */
  workDir: string;
  defaultNetwork: NetConfList;
  /** "netns" mode: the lab that makes node and pod namespaces. */
  lab?: NetLab;
  log: pino.Logger;
  agentEnv?: Record<string, string>;
  /** Labels per node name, for nodeSelector and affinities. */
  nodeLabels?: Record<string, Record<string, string>>;
  heartbeatMs?: number;
  backoff?: BackoffOptions;
  /** "netns" mode: the agent's view of its node's network (the coordinator's), given the node namespace's path. */
  nodeNetwork?: (nsPath: string) => AgentOptions["hostNetwork"];
}

interface SimNode {
  name: string;
  socket: string;
  nodeNamespace: string | undefined;
  agent: SpiderpoolAgent | undefined;
  kubelet: Kubelet;
}

export class SimulatedCluster {
  readonly #o: SimulatedClusterOptions;
  readonly #clients: KubeClient[] = [];
  readonly #nodes = new Map<string, SimNode>();
  #nads: Informer<NetworkAttachmentDefinition> | undefined;
  #control: ControlPlane | undefined;

  constructor(o: SimulatedClusterOptions) {
    this.#o = o;
  }

  #client(): KubeClient {
    const c = new KubeClient({ server: this.#o.server });
    this.#clients.push(c);
    return c;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#nads = new Informer<NetworkAttachmentDefinition>(this.#client(), NADS, {
      onError: (err) => o.log.warn({ err }, "NAD watch"),
    });
    this.#nads.start();
    await this.#nads.waitForSync();
    this.#control = new ControlPlane({
      client: this.#client(),
      log: o.log,
      ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
    });
    await this.#control.start();
    for (const [i, name] of o.nodes.entries()) {
      const socket = join(o.workDir, `${name}.sock`);
      let nodeNamespace: string | undefined;
      if (o.mode === "netns" && o.lab !== undefined) nodeNamespace = await o.lab.addNode(`${o.lab.prefix}-${name}`);
      const agent = await this.#startAgent(name, socket, nodeNamespace);
      const kubelet = new Kubelet({
        client: this.#client(),
        node: name,
        // The nodes' addresses are the documentation range's first ones; only labels and status show them.
        hostIP: `203.0.113.${i + 2}`,
        nodeLabels: o.nodeLabels?.[name] ?? {},
        runtime: new CniRuntime({
          mode: o.mode,
          shimDir: o.shimDir,
          socket,
          ...(nodeNamespace !== undefined ? { nodeNamespace } : {}),
        }),
        defaultNetwork: o.defaultNetwork,
        nads: this.#nads,
        ...(o.lab !== undefined && o.mode === "netns" ? { lab: o.lab } : {}),
        nsPrefix: `${o.lab?.prefix ?? "spt-sb"}-${name}`,
        log: o.log,
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
        ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      });
      await kubelet.start();
      this.#nodes.set(name, { name, socket, nodeNamespace, agent, kubelet });
    }
  }

  async #startAgent(name: string, socket: string, nodeNamespace: string | undefined): Promise<SpiderpoolAgent> {
    const hostNetwork =
      nodeNamespace !== undefined && this.#o.lab !== undefined
        ? this.#o.nodeNetwork?.(this.#o.lab.nsPath(nodeNamespace))
        : undefined;
    const agent = new SpiderpoolAgent({
      ...(hostNetwork !== undefined ? { hostNetwork } : {}),
      config: {
        ...loadAgentConfig({
          SPIDERPOOL_POD_NAMESPACE: "kube-system",
          SPIDERPOOL_POD_NAME: `spiderpool-agent-${name}`,
          SPIDERPOOL_NODE_NAME: name,
          SPIDERPOOL_LOG_LEVEL: "warn",
          ...this.#o.agentEnv,
        }),
        socketPath: socket,
      },
      client: this.#client(),
      logger: this.#o.log,
      healthPort: 0,
      metricPort: 0,
    });
    await agent.start();
    return agent;
  }

  kubelet(node: string): Kubelet | undefined {
    return this.#nodes.get(node)?.kubelet;
  }

  /** Stops a node's agent: its kubelet then reports the node NotReady. */
  async stopAgent(node: string): Promise<void> {
    const n = this.#nodes.get(node);
    await n?.agent?.stop();
    if (n !== undefined) n.agent = undefined;
  }

  async startAgent(node: string): Promise<void> {
    const n = this.#nodes.get(node);
    if (n !== undefined && n.agent === undefined) n.agent = await this.#startAgent(node, n.socket, n.nodeNamespace);
  }

  /** Stops the controllers, the kubelets, then the agents; namespaces are the lab's to remove. */
  async stop(): Promise<void> {
    await this.#control?.stop();
    for (const n of this.#nodes.values()) await n.kubelet.stop();
    for (const n of this.#nodes.values()) await n.agent?.stop().catch(() => undefined);
    await this.#nads?.stop();
    await Promise.all(this.#clients.map((c) => c.close()));
  }
}
