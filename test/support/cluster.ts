// A simulated cluster for agent tests: the embedded API server with our CRDs, Node objects,
// one spiderpool-agent per node (its own client, informers and socket), helpers to create
// pods and pools, CNI calls through the real shim, and the consistency check.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { SpiderpoolAgent, type AgentOptions } from "../../src/agent/agent.ts";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import { loadAgentConfig, type AgentConfig } from "../../src/agent/config.ts";
import type { SpiderSubnet } from "../../src/api/subnet.ts";
import { SUBNETS } from "../../src/poolstore/auto-pool.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { IPPoolSpec, SpiderIPPool } from "../../src/api/ippool.ts";
import type { OwnerReference } from "../../src/api/meta.ts";
import { checkConsistency, type ConsistencyReport } from "../../src/ipam/consistency.ts";
import { KubeClient, Resources, type KubeObject } from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "./apiserver.ts";

export const SHIM = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "native",
  "shim",
  "build",
  "spiderpool",
);
const CTL = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "spiderpoolctl");

export const shimBuilt = (): boolean => existsSync(SHIM);

export interface Node {
  name: string;
  agent: SpiderpoolAgent;
  socket: string;
}

export interface Cluster {
  h: Harness;
  nodes: Node[];
  dir: string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  agentEnv?: Record<string, string>;
  writeLatencyMs?: number;
  config?: Partial<AgentConfig>;
  /** The node's network for the agents' coordinator and ifacer roles (NetlinkHost in the kernel lab). */
  hostNetwork?: AgentOptions["hostNetwork"];
}

/**
 * A spiderpool-agent for `name` in this process, its socket in `dir`. `logger` replaces the
 * default (silent unless $AGENT_LOG names a level).
 */
export async function startAgent(
  h: Harness,
  name: string,
  dir: string,
  opts: Pick<ClusterOptions, "agentEnv" | "config" | "hostNetwork"> & {
    logger?: pino.Logger;
    client?: KubeClient;
  } = {},
): Promise<Node> {
  const socket = join(dir, `${name}.sock`);
  const config: AgentConfig = {
    ...loadAgentConfig({
      SPIDERPOOL_POD_NAMESPACE: "kube-system",
      SPIDERPOOL_POD_NAME: `spiderpool-agent-${name}`,
      SPIDERPOOL_NODE_NAME: name,
      SPIDERPOOL_LOG_LEVEL: "warn",
      ...opts.agentEnv,
    }),
    socketPath: socket,
    ...opts.config,
  };
  const agent = new SpiderpoolAgent({
    config,
    client: opts.client ?? new KubeClient({ server: h.url }),
    logger: opts.logger ?? pino({ level: process.env["AGENT_LOG"] ?? "silent" }),
    healthPort: 0,
    metricPort: 0,
    ...(opts.hostNetwork === undefined ? {} : { hostNetwork: opts.hostNetwork }),
  });
  await agent.start();
  return { name, agent, socket };
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const h = await startApiServer({ writeLatencyMs: opts.writeLatencyMs ?? 0, historyCapacity: 100_000 });
  const dir = mkdtempSync(join(tmpdir(), "cluster-"));
  const nodes: Node[] = [];
  const count = opts.nodes ?? 1;
  for (let i = 0; i < count; i++) {
    const name = `node${i + 1}`;
    await h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
    });
  }
  for (let i = 0; i < count; i++) nodes.push(await startAgent(h, `node${i + 1}`, dir, opts));
  return {
    h,
    nodes,
    dir,
    close: async () => {
      for (const n of nodes) await n.agent.stop();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createPool(
  h: Harness,
  name: string,
  spec: Partial<IPPoolSpec> & { subnet: string },
  labels?: Record<string, string>,
): Promise<SpiderIPPool> {
  return h.client.create(POOLS, {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: labels === undefined ? { name } : { name, labels },
    spec,
  } as SpiderIPPool);
}

export interface PodSpec {
  name: string;
  namespace?: string;
  node: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  owner?: OwnerReference;
  /** The phase the pod is created in; Running unless told. */
  phase?: string;
}

export async function createPod(h: Harness, p: PodSpec): Promise<KubeObject> {
  const meta: Record<string, unknown> = { name: p.name, namespace: p.namespace ?? "default" };
  if (p.annotations !== undefined) meta["annotations"] = p.annotations;
  if (p.labels !== undefined) meta["labels"] = p.labels;
  if (p.owner !== undefined) meta["ownerReferences"] = [p.owner];
  const pod = await h.client.create(Resources.pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta,
    spec: { nodeName: p.node, containers: [{ name: "c", image: "pause" }] },
  });
  return h.client.updateStatus(Resources.pods, { ...pod, status: { phase: p.phase ?? "Running" } });
}

export interface CniResult {
  code: number | null;
  stdout: string;
  json: Record<string, unknown> | undefined;
}

export interface CniCallOptions {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
  socket: string;
  pod: { name: string; namespace?: string; uid?: string };
  ifName?: string;
  containerID?: string;
  netconf?: Record<string, unknown>;
  cniVersion?: string;
  /** Replaces CNI_* variables; an undefined value unsets the variable. */
  env?: Record<string, string | undefined>;
}

/** Runs the shim as a container runtime would, with the netconf on stdin. */
export function cni(o: CniCallOptions): Promise<CniResult> {
  const conf = {
    cniVersion: o.cniVersion ?? "1.0.0",
    name: "test-net",
    type: "macvlan",
    ipam: { type: "spiderpool", ipam_unix_socket_path: o.socket, ...(o.netconf ?? {}) },
  };
  const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${o.pod.namespace ?? "default"};K8S_POD_NAME=${o.pod.name}${o.pod.uid !== undefined ? `;K8S_POD_UID=${o.pod.uid}` : ""}`;
  return new Promise((resolveRun) => {
    const child = spawn(SHIM, [], {
      env: {
        CNI_COMMAND: o.command,
        CNI_CONTAINERID: o.containerID ?? `ctr-${o.pod.name}`,
        CNI_NETNS: `/var/run/netns/${o.pod.name}`,
        CNI_IFNAME: o.ifName ?? "eth0",
        CNI_ARGS: args,
        CNI_PATH: "/opt/cni/bin",
        ...o.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("close", (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() === "" ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      resolveRun({ code, stdout, json });
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

/**
 * A StatefulSet in `default`, and the controller reference its pods carry (without
 * blockOwnerDeletion, as the tests that use it always wrote it).
 */
export async function createStatefulSet(
  h: Harness,
  name: string,
  spec: Record<string, unknown> = { replicas: 1 },
): Promise<OwnerReference> {
  const sts: KubeObject = await h.client.create(Resources.statefulsets, {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: "default" },
    spec,
  });
  return { apiVersion: "apps/v1", kind: "StatefulSet", name, uid: String(sts.metadata?.uid), controller: true };
}

/** The owner reference a workload controller puts on what it creates. */
export function controllerRef(o: KubeObject): OwnerReference {
  return {
    apiVersion: String(o.apiVersion),
    kind: String(o.kind),
    name: String(o.metadata?.name),
    uid: String(o.metadata?.uid),
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface RunningPod {
  name: string;
  namespace: string;
  node: string;
  uid: string;
  ip: string;
}

/**
 * A pod taken through what its node does for it: created Pending with `pool` in its ippool
 * annotation, the runtime's CNI ADD through the shim on its node (retried, as the kubelet
 * retries a failed sandbox, until `retryForMs` has passed), then Running with the podIPs
 * the kubelet reports. Rejects when the ADD keeps failing.
 */
export async function runPod(c: Cluster, p: PodSpec & { pool: string; retryForMs?: number }): Promise<RunningPod> {
  const namespace = p.namespace ?? "default";
  const pod = await createPod(c.h, {
    ...p,
    phase: "Pending",
    annotations: { "ipam.spidernet.io/ippool": JSON.stringify({ ipv4: [p.pool] }), ...p.annotations },
  });
  const uid = String(pod.metadata?.uid);
  const socket = c.nodes.find((n) => n.name === p.node)?.socket ?? "";
  const deadline = Date.now() + (p.retryForMs ?? 0);
  for (;;) {
    const r = await cni({ command: "ADD", socket, pod: { name: p.name, namespace, uid } });
    const ip = ((r.json?.["ips"] ?? []) as Array<{ address: string }>)[0]?.address.split("/")[0] ?? "";
    if (r.code === 0 && ip !== "") {
      await c.h.client.patchMerge(
        Resources.pods,
        p.name,
        { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } },
        { namespace, subresource: "status" },
      );
      return { name: p.name, namespace, node: p.node, uid, ip };
    }
    if (Date.now() >= deadline) throw new Error(`ADD of ${namespace}/${p.name} failed: ${r.stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function consistency(h: Harness): Promise<ConsistencyReport> {
  const [pools, pods, endpoints, subnets] = await Promise.all([
    h.client.listAll<SpiderIPPool>(POOLS),
    h.client.listAll<KubeObject & { metadata: { name?: string } }>(Resources.pods),
    h.client.listAll<SpiderEndpoint>(ENDPOINTS),
    h.client.listAll<SpiderSubnet>(SUBNETS),
  ]);
  return checkConsistency({
    pools: pools.items,
    pods: pods.items as never,
    endpoints: endpoints.items,
    subnets: subnets.items,
  });
}

/** The consistency check, given a few seconds for what is settling (a GC release, a cascade). */
export async function assertConsistent(h: Harness, timeoutMs = 5000): Promise<void> {
  let problems: string[] = [];
  await eventually(
    async () => {
      problems = (await consistency(h)).problems;
      return problems.length === 0;
    },
    timeoutMs,
    "consistency",
  ).catch(() => assert.deepEqual(problems, []));
}

/**
 * `spiderpoolctl check` run as users run it, against the harness's API server; resolves
 * with its exit code and report.
 */
export async function ctlCheck(h: Harness): Promise<{ code: number; report: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ctl-check-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, h.server.kubeconfig());
  try {
    return await new Promise((done) => {
      execFile(CTL, ["check", "--kubeconfig", kubeconfig], { timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        done({ code, report: `${stdout}${stderr}` });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function records(pool: SpiderIPPool): Record<string, { pod: string; podUid: string }> {
  return pool.status?.allocatedIPs === undefined
    ? {}
    : (JSON.parse(pool.status.allocatedIPs) as Record<string, { pod: string; podUid: string }>);
}
