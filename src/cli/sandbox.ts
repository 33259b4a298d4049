/**
 * `spiderpoolctl sandbox`: Spiderpool on a simulated cluster on one machine. It starts the
 * embedded API server with the CRDs, the controller, and per simulated node a
 * spiderpool-agent and a kubelet stand-in, with a scheduler and workload controllers
 * (sandbox/simulated-cluster.ts); creates a SpiderSubnet and example pools from the
 * documentation ranges, a Deployment (IPv4, an auto-created pool from the subnet) and a
 * StatefulSet (dual stack), and applies the manifests of --apply. Pods get their addresses
 * through the CNI shim: in network namespaces with Debian's macvlan plugin when run as root
 * with the plugins installed, IPAM only otherwise. It prints who got what, writes a
 * kubeconfig (kubectl apply/scale/delete behave as on a cluster while it runs), and cleans up
 * on Ctrl-C (or at once with --once).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pino from "pino";
import { ENDPOINTS } from "../agent/cache.ts";
import { SUBNETS } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import type { SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../api/subnet.ts";
import { startLocalApiServer } from "../apiserver/index.ts";
import { checkConsistency } from "../ipam/consistency.ts";
import { loadControllerConfig } from "../controller/config.ts";
import { SpiderpoolController } from "../controller/controller.ts";
import { poolAddresses } from "../ipam/pool-state.ts";
import { KubeClient, Resources, type KubeObject } from "../kube/index.ts";
import { labUnavailable, NetLab } from "./netlab.ts";
import { applyManifests, readManifests } from "./sandbox/manifests.ts";
import { ServiceAccountTokens } from "./sandbox/service-account-tokens.ts";
import { SimulatedCluster } from "./sandbox/simulated-cluster.ts";
import { COORDINATORS } from "../controller/coordinator/controller.ts";
import { NADS } from "../controller/multus/controller.ts";
import { loadInitConfig } from "../init/config.ts";
import { runInit } from "../init/run.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { SpiderMultusConfigKind } from "../api/multusconfig.ts";
import type { SpiderCoordinator } from "../api/coordinator.ts";
import type { NetworkAttachmentDefinition } from "../api/nad.ts";
import { confListOf } from "./sandbox/network-plan.ts";
import { serveGrid } from "./sandbox-grid.ts";
import { NetlinkHost } from "../host/netlink-host.ts";
import { UsageError } from "./usage.ts";

const SANDBOX_SUBNET = "sandbox-subnet-v4";
const SANDBOX_SMC = "macvlan-eth-m";

/** Polls until the controller has written the SMC's NAD; its config is the cluster's default network. */
async function waitForNad(client: KubeClient, namespace: string, name: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nad = await client.get<NetworkAttachmentDefinition>(NADS, name, namespace).catch(() => undefined);
    if (nad?.spec?.config !== undefined) return nad.spec.config;
    if (Date.now() > deadline) throw new Error(`the controller wrote no NAD ${namespace}/${name} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForSynced(client: KubeClient): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const c = await client.get<SpiderCoordinator>(COORDINATORS, "default").catch(() => undefined);
    if (c?.status?.phase === "Synced") return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until the controller has created the application's auto pool at `size` addresses. */
async function waitForAutoPool(client: KubeClient, app: string, size: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const p = (await client.listAll<SpiderIPPool>(POOLS)).items.find(
      (x) => x.metadata.labels?.["ipam.spidernet.io/owner-application-name"] === app,
    );
    if (p !== undefined && poolAddresses(p.spec).effective.size === BigInt(size)) return p.metadata.name ?? "";
    if (Date.now() > deadline)
      throw new Error(`the controller created no auto pool of ${size} addresses for ${app} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const SANDBOX_USAGE = `usage: spiderpoolctl sandbox [options]

Runs Spiderpool on a simulated cluster on this machine: the embedded API server, the
controller, per simulated node an agent and a kubelet stand-in, a scheduler and workload
controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job), a SpiderSubnet and example
pools (documentation ranges), a Deployment (its pool auto-created from the subnet) and a
StatefulSet. Pods get their addresses through the CNI shim: with root and Debian's
containernetworking-plugins the macvlan plugin, spiderpool and the coordinator run in
network namespaces it creates, and the table shows whether each pod reaches its node
(a ping over the coordinator's veth0); otherwise IPAM only. The API server authenticates
and authorizes (RBAC): the agents and the controller run as their ServiceAccounts under
deploy/rbac.yaml, and the kubeconfig it writes is the admin's. While it runs, kubectl with
it behaves as on a cluster (apply, scale, rollout restart, delete).

  --nodes N               simulated nodes, one agent and kubelet each (default 3)
  --pods N                example pods, half Deployment (IPv4), half StatefulSet (dual stack);
                          0 for none (default 6)
  --apply PATH            apply the manifests of a file or folder (*.yaml, *.yml, *.json);
                          repeatable (examples/ holds one per feature)
  --mode auto|ipam|macvlan  force a mode (default auto)
  --kubeconfig-out FILE   kubeconfig for kubectl (default ./sandbox.kubeconfig)
  --once                  print the results, clean up and exit
`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHIM_DIR = join(ROOT, "native", "shim", "build");

function ensureShim(out: NodeJS.WritableStream): string {
  const shim = join(SHIM_DIR, "spiderpool");
  if (existsSync(shim)) return shim;
  out.write("building the CNI shim (native/shim/build.sh)...\n");
  try {
    execFileSync("bash", [join(ROOT, "native", "shim", "build.sh")], { stdio: "inherit" });
  } catch {
    throw new UsageError(
      "the CNI shim is not built and gcc could not build it: install gcc, or run native/shim/build.sh",
    );
  }
  return shim;
}

/**
 * Why the host addon (the coordinator's node side) cannot load here, or undefined when it can.
 * It is built first when missing or older than its source, under the lock the daemons' launcher
 * takes (scripts/daemon.sh), so parallel runs do not write it at once.
 */
function nodeNetworkUnavailable(): string | undefined {
  const addon = join(ROOT, "native", "host", "build", "spiderpool_host.node");
  const source = join(ROOT, "native", "host", "host.c");
  const stale = (): boolean => !existsSync(addon) || statSync(source).mtimeMs > statSync(addon).mtimeMs;
  if (stale()) {
    try {
      mkdirSync(join(ROOT, "dist"), { recursive: true });
      execFileSync(
        "flock",
        [
          join(ROOT, "dist", ".build.lock"),
          "bash",
          "-c",
          `if [ ! -f "$1" ] || [ "$2" -nt "$1" ]; then bash "$3" >&2; fi`,
          "build-host-addon",
          addon,
          source,
          join(ROOT, "native", "host", "build.sh"),
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (err) {
      return `the host addon could not be built: ${(err as Error).message.split("\n")[0] ?? ""}`;
    }
  }
  try {
    new NetlinkHost();
    return undefined;
  } catch (err) {
    return `the host addon is not loadable: ${(err as Error).message}`;
  }
}

interface PodView extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIPs?: Array<{ ip: string }>;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }>;
  };
}

const settled = (p: PodView): boolean => p.status?.phase === "Running" || p.status?.phase === "Succeeded";

interface WorkloadView {
  metadata: { name?: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    numberReady?: number;
    desiredNumberScheduled?: number;
    conditions?: Array<{ type?: string; status?: string }>;
  };
}

/** The workloads whose controllers have not yet made and readied their pods. */
async function unsettledWorkloads(client: KubeClient): Promise<string[]> {
  const out: string[] = [];
  const list = async (rt: (typeof Resources)[keyof typeof Resources]): Promise<WorkloadView[]> =>
    (await client.listAll<WorkloadView>(rt)).items;
  const observed = (w: WorkloadView): boolean => (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 1);
  const name = (kind: string, w: WorkloadView): string => `${kind} ${w.metadata.namespace}/${w.metadata.name}`;
  for (const [kind, rt] of [
    ["Deployment", Resources.deployments],
    ["StatefulSet", Resources.statefulsets],
  ] as const)
    for (const w of await list(rt))
      if (!observed(w) || (w.status?.readyReplicas ?? 0) !== (w.spec?.replicas ?? 1)) out.push(name(kind, w));
  for (const w of await list(Resources.daemonsets))
    if (!observed(w) || (w.status?.numberReady ?? 0) !== (w.status?.desiredNumberScheduled ?? -1))
      out.push(name("DaemonSet", w));
  for (const w of await list(Resources.jobs))
    if (
      !(w.status?.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")
    )
      out.push(name("Job", w));
  return out;
}

/**
 * Waits until every workload has its pods ready and every pod runs (or has completed), up to
 * `ms`; returns what is still waiting.
 */
async function waitForPods(client: KubeClient, ms: number): Promise<{ pods: PodView[]; workloads: string[] }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const pods = (await client.listAll<PodView>(Resources.pods)).items;
    const waiting = pods.filter((p) => !settled(p) || p.metadata.deletionTimestamp !== undefined);
    const workloads = await unsettledWorkloads(client);
    if ((waiting.length === 0 && workloads.length === 0) || Date.now() > deadline) return { pods: waiting, workloads };
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runSandbox(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: "string", default: "3" },
      pods: { type: "string", default: "6" },
      mode: { type: "string", default: "auto" },
      apply: { type: "string", multiple: true, default: [] },
      "kubeconfig-out": { type: "string", default: "sandbox.kubeconfig" },
      once: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    out.write(SANDBOX_USAGE);
    return 0;
  }
  const nodes = Number(values.nodes);
  const pods = Number(values.pods);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50)
    throw new UsageError("--nodes must be an integer from 1 to 50");
  if (!Number.isInteger(pods) || pods < 0 || pods > 400)
    throw new UsageError("--pods must be an integer from 0 to 400");
  if (!["auto", "ipam", "macvlan"].includes(values.mode)) throw new UsageError("--mode must be auto, ipam or macvlan");
  // Read before anything starts, so a bad path is a usage error and not a half-built sandbox.
  const manifests = (() => {
    try {
      return readManifests(values.apply);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  const shim = ensureShim(out);
  const why = await labUnavailable();
  if (values.mode === "macvlan" && why !== undefined) throw new UsageError(`--mode macvlan: ${why}`);
  const macvlan = values.mode !== "ipam" && why === undefined;
  out.write(
    macvlan
      ? "mode: macvlan in network namespaces (root, containernetworking-plugins found)\n"
      : `mode: IPAM only (${values.mode === "ipam" ? "asked for" : why})\n`,
  );
  // The coordinator configures the node's side through the host addon; without it, the chain stops at spiderpool.
  const hostAddon = macvlan ? nodeNetworkUnavailable() : "no network namespaces";

  const work = mkdtempSync(join(tmpdir(), "spiderpool-sandbox-"));
  const kubeconfigPath = resolve(values["kubeconfig-out"]);
  // Pods stay Terminating until their kubelet has run DEL, as on a cluster. Authentication and
  // RBAC are on, as on a cluster: the agents and the controller hold only their ClusterRoles.
  const { server, url } = await startLocalApiServer({ podDeletion: "graceful", auth: true, tls: "generate" });
  let controller: SpiderpoolController | undefined;
  let cluster: SimulatedCluster | undefined;
  // Tests name their namespaces with a prefix of their own.
  const lab = new NetLab(process.env["SPIDERPOOL_SANDBOX_NETNS_PREFIX"] ?? `spsb${process.pid % 10000}`);
  // The cluster's own parts (kubelets, scheduler, workload controllers, spiderpool-init) act as the admin.
  const admin = { server: url, token: server.adminToken, ...(server.caPem !== undefined ? { ca: server.caPem } : {}) };
  const client = new KubeClient(admin);
  const tokens = new ServiceAccountTokens({
    admin: client,
    cluster: { server: url, ...(server.caPem !== undefined ? { ca: server.caPem } : {}) },
    dir: work,
    onError: (sa, err) => out.write(`token refresh for ${sa.namespace}/${sa.name} failed: ${(err as Error).message}\n`),
  });
  // Requests of the agents and the controller that authentication or RBAC refused: each one is a gap in deploy/rbac.yaml.
  const refused: string[] = [];
  // Once the summary is out, later refusals (a long run's) are written as they happen.
  let summarized = false;
  const record =
    (who: string) =>
    (r: { method: string; path: string; status: number }): void => {
      if (r.status !== 401 && r.status !== 403) return;
      const what = `${who}: ${r.method} ${r.path} ${r.status}`;
      refused.push(what);
      if (summarized) out.write(`RBAC refused: ${what}\n`);
    };
  const log = pino({ level: "warn" });
  const cleanup = async (): Promise<void> => {
    out.write("cleaning up...\n");
    tokens.stop();
    await cluster?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    const left = await lab.cleanup();
    if (left.length > 0) out.write(`could not remove network namespaces: ${left.join(", ")}\n`);
    await client.close();
    await server.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(kubeconfigPath, { force: true });
  };
  try {
    await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "sandbox" } });
    await applyManifests(client, readManifests([join(ROOT, "deploy", "rbac.yaml")]));
    const controllerCluster = await tokens.configFor({ namespace: "kube-system", name: "spiderpool-controller" });
    const agentCluster = await tokens.configFor({ namespace: "kube-system", name: "spiderpool-agent" });
    out.write(
      "API server: authentication and RBAC on; agents and controller run as ServiceAccounts kube-system/spiderpool-{agent,controller} under deploy/rbac.yaml\n",
    );
    const nodeNames = Array.from({ length: nodes }, (_, i) => `node${i + 1}`);
    // The controller first: its webhooks default and check the pools created below, and
    // its garbage collector reclaims what a crashed pod leaves behind.
    controller = new SpiderpoolController({
      config: loadControllerConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "spiderpool-controller-0",
        SPIDERPOOL_LOG_LEVEL: "warn",
        SPIDERPOOL_COORDINATOR_ENABLED: "true",
        SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true",
        SPIDERPOOL_CNI_CONFIG_DIR: work,
      }),
      client: new KubeClient(controllerCluster, { onRequest: record("spiderpool-controller") }),
      logger: log,
      ports: { health: 0, webhook: 0 },
    });
    await controller.start();
    out.write(`controller serving admission webhooks at ${controller.webhookUrl}\n`);
    // What kubeadm leaves in a cluster: the coordinator discovers the pod and Service CIDRs from it.
    await client.create(Resources.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kubeadm-config", namespace: "kube-system" },
      data: { ClusterConfiguration: "networking:\n  podSubnet: 203.0.113.0/25\n  serviceSubnet: 203.0.113.128/25\n" },
    } as KubeObject);
    // What the endpoints controller writes for the controller's Service once its pod is ready:
    // spiderpool-init waits for an address there before it creates anything.
    await client.create(Resources.endpoints, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "spiderpool-controller", namespace: "kube-system" },
      subsets: [
        {
          addresses: [{ ip: "127.0.0.1" }],
          ports: [{ name: "webhook", port: Number(new URL(controller.webhookUrl).port), protocol: "TCP" }],
        },
      ],
    } as KubeObject);
    // spiderpool-init, as the chart's post-install Job: the default SpiderCoordinator.
    await runInit({
      client,
      config: loadInitConfig({
        SPIDERPOOL_NAMESPACE: "kube-system",
        SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "default",
        SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POD_CIDR_TYPE: "cluster",
      }),
      // Its "not yet" while the controller takes the Lease is expected here, not news.
      log: log.child({}, { level: "error" }),
      backoff: { initialMs: 50, maxMs: 500 },
    });
    // The cluster's default network: a SpiderMultusConfig, whose NAD the controller writes;
    // every kubelet runs its plugin list for eth0, as Multus runs its clusterNetwork.
    await client.create(resourceTypeOf(SpiderMultusConfigKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderMultusConfig",
      metadata: {
        name: SANDBOX_SMC,
        namespace: "sandbox",
        annotations: { "multus.spidernet.io/cni-version": "1.0.0" },
      },
      spec: { cniType: "macvlan", macvlan: { master: ["eth-m"] } },
    } as KubeObject);
    const nadConfig = await waitForNad(client, "sandbox", SANDBOX_SMC);
    out.write(`SpiderMultusConfig sandbox/${SANDBOX_SMC}: NetworkAttachmentDefinition written: ${nadConfig}\n`);
    const pool = (name: string, subnet: string, ips: string, gateway: string): KubeObject => ({
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name },
      spec: { subnet, ips: [ips], gateway },
    });
    if (pods > 0) {
      // The Deployment's addresses come from a SpiderSubnet: the controller carves it a pool
      // of replicas+1 addresses (ipam-behavior §5) and the agents wait for it.
      await client.create(SUBNETS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderSubnet",
        metadata: { name: SANDBOX_SUBNET },
        // The top of the range is the nodes' (simulated-cluster.ts).
        spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.199"], gateway: "192.0.2.1" },
      });
      await client.create(
        POOLS,
        pool("sandbox-dual-v4", "198.51.100.0/24", "198.51.100.10-198.51.100.250", "198.51.100.1"),
      );
      await client.create(
        POOLS,
        pool("sandbox-dual-v6", "2001:db8:1::/64", "2001:db8:1::10-2001:db8:1::ff", "2001:db8:1::1"),
      );
    }

    const nadList = confListOf(nadConfig, SANDBOX_SMC);
    const defaultNetwork =
      hostAddon === undefined
        ? nadList
        : { ...nadList, plugins: nadList.plugins.filter((p) => p["type"] !== "coordinator") };
    const types = defaultNetwork.plugins.map((p) => String(p["type"]));
    out.write(
      macvlan
        ? `chain: ${[...types.slice(0, 1), "spiderpool", ...types.slice(1)].join(" → ")}${hostAddon !== undefined && types.length < nadList.plugins.length ? ` (coordinator not run: ${hostAddon})` : ""}\n`
        : "chain: spiderpool IPAM only (no network namespaces, no interfaces)\n",
    );
    cluster = new SimulatedCluster({
      server: server.url,
      adminCluster: admin,
      agentCluster,
      onAgentRequest: record("spiderpool-agent"),
      nodes: nodeNames,
      mode: macvlan ? "netns" : "ipam",
      shimDir: dirname(shim),
      workDir: work,
      defaultNetwork,
      ...(macvlan ? { lab } : {}),
      ...(hostAddon === undefined
        ? { nodeNetwork: (path: string) => ({ network: new NetlinkHost(), ns: { kind: "path" as const, path } }) }
        : {}),
      log,
      agentEnv: { SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: "100" },
    });
    await cluster.start();
    out.write(`${nodes} simulated node(s), each with an agent and a kubelet: ${nodeNames.join(", ")}\n`);
    writeFileSync(kubeconfigPath, server.kubeconfig(), { mode: 0o600 });

    if (pods > 0) {
      const webReplicas = Math.ceil(pods / 2);
      const workload = (kind: string, name: string, replicas: number, annotations: Record<string, string>) => ({
        apiVersion: "apps/v1",
        kind,
        metadata: { name, namespace: "sandbox" },
        spec: {
          replicas,
          ...(kind === "StatefulSet" ? { serviceName: name } : {}),
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name }, annotations },
            spec: { containers: [{ name: "app", image: "pause" }] },
          },
        },
      });
      await client.create(
        Resources.deployments,
        workload("Deployment", "web", webReplicas, {
          "ipam.spidernet.io/subnet": JSON.stringify({ ipv4: [SANDBOX_SUBNET] }),
          "ipam.spidernet.io/ippool-ip-number": "+1",
        }),
      );
      const autoPool = await waitForAutoPool(client, "web", webReplicas + 1);
      out.write(
        `SpiderSubnet ${SANDBOX_SUBNET}: auto-created pool ${autoPool} with ${webReplicas + 1} addresses for Deployment web (replicas ${webReplicas}, +1)\n`,
      );
      if (pods > 1)
        await client.create(
          Resources.statefulsets,
          workload("StatefulSet", "db", Math.floor(pods / 2), {
            "ipam.spidernet.io/ippool": '{"ipv4":["sandbox-dual-v4"],"ipv6":["sandbox-dual-v6"]}',
          }),
        );
    }
    for (const line of await applyManifests(client, manifests)) out.write(`${line}\n`);

    const waiting = await waitForPods(client, 60_000);
    const table = (head: string[], data: string[][]): string => {
      const w = head.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? "").length)));
      const line = (r: string[]): string =>
        r
          .map((c, i) => c.padEnd(w[i] as number))
          .join("  ")
          .trimEnd();
      return [line(head), ...data.map(line)].join("\n");
    };
    const podList = (await client.listAll<PodView>(Resources.pods)).items.sort(
      (a, b) =>
        (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    );
    const rows: string[][] = [];
    // With the coordinator in the chain each pod must reach its node through veth0: pinged, not assumed.
    const probeNode = macvlan && hostAddon === undefined;
    const unreached: string[] = [];
    for (const p of podList) {
      const node = p.spec?.nodeName ?? "";
      const sb = cluster.kubelet(node)?.sandboxOf(p.metadata.uid ?? "");
      // In network namespaces the addresses are read back from the pod's eth0, not its status.
      const addresses =
        macvlan && sb !== undefined
          ? (await lab.addresses(sb.netns, "eth0").catch(() => [])).join(" ")
          : (p.status?.podIPs ?? []).map((x) => x.ip).join(" ");
      let reaches = "-";
      if (probeNode && sb?.running === true) {
        const families = new Set(addresses.split(" ").map((a) => (a.includes(":") ? 6 : 4)));
        const targets = cluster.nodeAddresses(node).filter((a) => families.has(a.includes(":") ? 6 : 4));
        const missed: string[] = [];
        for (const a of targets) if (!(await lab.pings(sb.netns, "veth0", a))) missed.push(a);
        reaches = missed.length === 0 ? `yes (${targets.join(", ")})` : `NO (${missed.join(", ")})`;
        if (missed.length > 0) unreached.push(`${p.metadata.namespace}/${p.metadata.name} → ${missed.join(", ")}`);
      }
      rows.push([
        p.metadata.namespace ?? "",
        p.metadata.name ?? "",
        node,
        p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? p.status?.phase ?? "",
        addresses,
        ...(probeNode ? [reaches] : []),
        macvlan ? (sb !== undefined ? `netns ${sb.netns}` : "-") : "IPAM result",
      ]);
    }
    const head = ["NAMESPACE", "POD", "NODE", "STATUS", "ADDRESSES", ...(probeNode ? ["REACHES NODE"] : []), "SEEN IN"];
    out.write(`\n${table(head, rows)}\n\n`);
    if (probeNode)
      out.write(
        `REACHES NODE: one ping from the pod's namespace out of veth0 (the coordinator's link) to its node's address\n\n`,
      );
    for (const u of unreached) out.write(`cannot reach its node over veth0: ${u}\n`);
    for (const w of waiting.workloads) out.write(`not ready after 60 s: ${w}\n`);
    for (const p of waiting.pods) {
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      out.write(
        `not running after 60 s: ${p.metadata.namespace}/${p.metadata.name}${w?.message !== undefined ? `: ${w.message}` : ""}\n`,
      );
    }
    const poolList = (await client.listAll<SpiderIPPool>(POOLS)).items;
    out.write(
      `${table(
        ["POOL", "SUBNET", "ALLOCATED", "TOTAL"],
        poolList.map((p) => [
          p.metadata.name ?? "",
          p.spec.subnet,
          String(p.status?.allocatedIPCount ?? 0),
          // totalIPCount is the controller's to keep; the sandbox shows the size of the effective set.
          String(poolAddresses(p.spec).effective.size),
        ]),
      )}\n\n`,
    );
    const subnets = (await client.listAll<SpiderSubnet>(SUBNETS)).items;
    if (subnets.length > 0)
      out.write(
        `${table(
          ["SUBNET", "CIDR", "CARVED", "TOTAL", "POOLS"],
          subnets.map((sn) => [
            sn.metadata.name ?? "",
            sn.spec.subnet,
            String(sn.status?.allocatedIPCount ?? 0),
            String(sn.status?.totalIPCount ?? 0),
            [...parseControlledPools(sn.status?.controlledIPPools).keys()].join(","),
          ]),
        )}\n\n`,
      );
    const nads = (await client.listAll<NetworkAttachmentDefinition>(NADS)).items;
    out.write(
      `${table(
        ["NAMESPACE", "NAD", "OWNER", "PLUGINS"],
        nads.map((n) => [
          n.metadata.namespace ?? "",
          n.metadata.name ?? "",
          n.metadata.ownerReferences?.[0]?.name ?? "",
          n.spec?.config === undefined
            ? "(no config: Multus reads the same-named file)"
            : ((JSON.parse(n.spec.config) as { plugins?: { type?: string }[] }).plugins?.map((p) => p.type).join(",") ??
              ""),
        ]),
      )}\n\n`,
    );
    await waitForSynced(client);
    const coord = await client.get<SpiderCoordinator>(COORDINATORS, "default");
    out.write(
      `SpiderCoordinator default: ${coord.status?.phase ?? "-"}, overlayPodCIDR ${JSON.stringify(coord.status?.overlayPodCIDR ?? [])}, serviceCIDR ${JSON.stringify(coord.status?.serviceCIDR ?? [])}\n\n`,
    );
    const report = checkConsistency({
      pools: poolList,
      pods: (await client.listAll(Resources.pods)).items as never,
      endpoints: (await client.listAll<SpiderEndpoint>(ENDPOINTS)).items,
      subnets,
    });
    out.write(
      report.ok
        ? `consistency check: ok (${report.records} records)\n`
        : `consistency check FAILED:\n  ${report.problems.join("\n  ")}\n`,
    );
    // With --once the kubeconfig goes with the sandbox, so commands using it would only mislead.
    if (values.once)
      out.write("--once: done; without --once the sandbox keeps running, with its kubeconfig, for kubectl\n");
    else
      out.write(
        `kubeconfig: ${kubeconfigPath}\n  kubectl --kubeconfig ${kubeconfigPath} get pods -A -o wide\n  kubectl --kubeconfig ${kubeconfigPath} get spidersubnets,spiderippools,spiderendpoints -A\n  kubectl --kubeconfig ${kubeconfigPath} get spidermultusconfigs,network-attachment-definitions -A\n  kubectl --kubeconfig ${kubeconfigPath} get spidercoordinators -o yaml\n`,
      );
    out.write(
      refused.length === 0
        ? "RBAC: no request of the agents or the controller refused\n"
        : `RBAC refused requests of the agents or the controller:\n  ${refused.join("\n  ")}\n`,
    );
    summarized = true;
    if (
      !report.ok ||
      waiting.pods.length > 0 ||
      waiting.workloads.length > 0 ||
      unreached.length > 0 ||
      refused.length > 0
    )
      return 1;
    if (!values.once) {
      const grid = await serveGrid(client, out);
      out.write("running; Ctrl-C to stop and clean up\n");
      await new Promise<void>((r) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          r();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await grid.close();
    }
    return 0;
  } finally {
    await cleanup();
  }
}
