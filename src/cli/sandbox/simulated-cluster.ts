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
import { Informer, KubeClient, type BackoffOptions, type ClientOptions, type ClusterConfig } from "../../kube/index.ts";
import type { NetLab } from "../netlab.ts";
import { CniRuntime } from "./cni-runtime.ts";
import { ControlPlane } from "./control-plane.ts";
import { Kubelet } from "./kubelet.ts";
import type { NetConfList } from "./network-plan.ts";
import { NADS } from "./resources.ts";

export interface SimulatedClusterOptions {
  server: string;
  /** The cluster's own parts (kubelets, scheduler, workload controllers) connect so; default: `server`, no token. */
  adminCluster?: ClusterConfig;
  /** The agents connect so (their ServiceAccount's token file); default: as the cluster's parts. */
  agentCluster?: ClusterConfig;
  /** For the agents' clients: each request's outcome (the sandbox counts refused ones). */
  onAgentRequest?: ClientOptions["onRequest"];
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

/**
 * Node i's addresses: the underlay's, at the top of 192.0.2.0/24 where the sandbox's pools
 * never hand out (a real node sits in its macvlan pods' subnet; that is why they need the
 * coordinator to reach it), and one IPv6 address in a /64 of its own.
 */
export function nodeAddresses(i: number): { v4: string; v6: string } {
  return { v4: `192.0.2.${200 + i}`, v6: `2001:db8:ff::${(i + 2).toString(16)}` };
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

  #client(agent = false): KubeClient {
    const admin = this.#o.adminCluster ?? { server: this.#o.server };
    const c =
      agent && this.#o.agentCluster !== undefined
        ? new KubeClient(this.#o.agentCluster, {
            ...(this.#o.onAgentRequest !== undefined ? { onRequest: this.#o.onAgentRequest } : {}),
          })
        : new KubeClient(admin);
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
      const addresses = nodeAddresses(i);
      if (o.mode === "netns" && o.lab !== undefined)
        nodeNamespace = await o.lab.addNode(`${o.lab.prefix}-${name}`, "eth-m", [
          `${addresses.v4}/32`,
          `${addresses.v6}/128`,
        ]);
      const agent = await this.#startAgent(name, socket, nodeNamespace);
      const kubelet = new Kubelet({
        client: this.#client(),
        node: name,
        hostIP: addresses.v4,
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
      client: this.#client(true),
      logger: this.#o.log,
      healthPort: 0,
      metricPort: 0,
    });
    await agent.start();
    return agent;
  }

  /** The node's addresses (in "netns" mode also on its namespace's master link), IPv4 first. */
  nodeAddresses(node: string): string[] {
    const i = this.#o.nodes.indexOf(node);
    if (i < 0) return [];
    const a = nodeAddresses(i);
    return [a.v4, a.v6];
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
