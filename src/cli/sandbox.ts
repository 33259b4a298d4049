/**
 * `spiderpoolctl sandbox`: the whole data path on one machine. It starts the embedded API
 * server with the CRDs, the controller, one spiderpool-agent per simulated node (each with
 * its own socket), a SpiderSubnet and example pools from the documentation ranges, a
 * Deployment (IPv4, an auto-created pool from the subnet) and a StatefulSet (dual stack)
 * spread over the nodes, and runs CNI ADD for every pod through the shim: inside
 * network namespaces with Debian's macvlan plugin when run as root with the plugins
 * installed, IPAM only otherwise. Then it prints who got what, writes a kubeconfig, and
 * cleans up on Ctrl-C (or at once with --once).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pino from "pino";
import { SpiderpoolAgent } from "../agent/agent.ts";
import { ENDPOINTS } from "../agent/cache.ts";
import { loadAgentConfig } from "../agent/config.ts";
import { SUBNETS } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { toCrd } from "../api/crd.ts";
import type { SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../api/subnet.ts";
import { ALL_KINDS } from "../api/kinds.ts";
import { EmbeddedApiServer } from "../apiserver/index.ts";
import { checkConsistency } from "../ipam/consistency.ts";
import { loadControllerConfig } from "../controller/config.ts";
import { SpiderpoolController } from "../controller/controller.ts";
import { poolAddresses } from "../ipam/pool-state.ts";
import { KubeClient, Resources, type KubeObject } from "../kube/index.ts";
import { findPlugin, labUnavailable, NetLab, runPlugin } from "./netlab.ts";
import { COORDINATORS } from "../controller/coordinator/controller.ts";
import { NADS } from "../controller/multus/controller.ts";
import { loadInitConfig } from "../init/config.ts";
import { runInit } from "../init/run.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { SpiderMultusConfigKind } from "../api/multusconfig.ts";
import type { SpiderCoordinator } from "../api/coordinator.ts";
import type { NetworkAttachmentDefinition } from "../api/nad.ts";
import { UsageError } from "./usage.ts";

const SANDBOX_SUBNET = "sandbox-subnet-v4";
const SANDBOX_SMC = "macvlan-eth-m";

/** Polls until the controller has written the SMC's NAD; its config is what the pods' CNI calls use. */
async function waitForNad(client: KubeClient, namespace: string, name: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nad = await client.get<NetworkAttachmentDefinition>(NADS, name, namespace).catch(() => undefined);
    if (nad?.spec?.config !== undefined) return nad.spec.config;
    if (Date.now() > deadline) throw new Error(`the controller wrote no NAD ${namespace}/${name} in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The main plugin of a generated NAD as a single-plugin netconf, with this node's agent
 * socket: what Multus would hand the macvlan plugin. The coordinator entry that follows it
 * belongs to the coordinator data path, which the sandbox does not run.
 */
export function netconfFromNad(config: string, socket: string): Record<string, unknown> {
  const c = JSON.parse(config) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const main = c.plugins.find((p) => p["type"] !== "ifacer") ?? {};
  return {
    cniVersion: c.cniVersion,
    name: c.name,
    ...main,
    ipam: { ...(main["ipam"] as object), ipam_unix_socket_path: socket },
  };
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

Runs Spiderpool on this machine: the embedded API server, the controller, one agent per
simulated node, a SpiderSubnet and example pools (documentation ranges), a Deployment (its
pool auto-created from the subnet) and a StatefulSet whose pods get their addresses through
the CNI shim. With root and Debian's containernetworking-plugins it runs
the macvlan plugin in network namespaces it creates; otherwise IPAM only.

  --nodes N               simulated nodes, one agent each (default 3)
  --pods N                pods in all, half Deployment (IPv4), half StatefulSet (dual stack) (default 6)
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

interface PodRow {
  name: string;
  node: string;
  addresses: string[];
  where: string;
}

export async function runSandbox(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: "string", default: "3" },
      pods: { type: "string", default: "6" },
      mode: { type: "string", default: "auto" },
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
  if (!Number.isInteger(pods) || pods < 1 || pods > 400)
    throw new UsageError("--pods must be an integer from 1 to 400");
  if (!["auto", "ipam", "macvlan"].includes(values.mode)) throw new UsageError("--mode must be auto, ipam or macvlan");
  const shim = ensureShim(out);
  const why = await labUnavailable();
  if (values.mode === "macvlan" && why !== undefined) throw new UsageError(`--mode macvlan: ${why}`);
  const macvlan = values.mode !== "ipam" && why === undefined;
  out.write(
    macvlan
      ? "mode: macvlan in network namespaces (root, containernetworking-plugins found)\n"
      : `mode: IPAM only (${values.mode === "ipam" ? "asked for" : why})\n`,
  );

  const work = mkdtempSync(join(tmpdir(), "spiderpool-sandbox-"));
  const kubeconfigPath = resolve(values["kubeconfig-out"]);
  const server = new EmbeddedApiServer();
  const agents: SpiderpoolAgent[] = [];
  let controller: SpiderpoolController | undefined;
  const lab = new NetLab(`sps${process.pid % 10000}`);
  const client = new KubeClient({ server: await server.listen() });
  const log = pino({ level: "warn" });
  const cleanup = async (): Promise<void> => {
    out.write("cleaning up...\n");
    for (const a of agents) await a.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    const left = await lab.cleanup();
    if (left.length > 0) out.write(`could not remove network namespaces: ${left.join(", ")}\n`);
    await client.close();
    await server.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(kubeconfigPath, { force: true });
  };
  try {
    for (const def of ALL_KINDS)
      await client.create(Resources.customresourcedefinitions, toCrd(def) as unknown as KubeObject);
    await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "sandbox" } });
    const nodeNames = Array.from({ length: nodes }, (_, i) => `node${i + 1}`);
    for (const n of nodeNames)
      await client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: n } });
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
      client: new KubeClient({ server: server.url }),
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
    // The pods' network: a SpiderMultusConfig, whose NAD the controller writes.
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
    const pool = (name: string, subnet: string, ips: string, gateway: string, dflt: boolean): KubeObject => ({
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name },
      spec: { subnet, ips: [ips], gateway, default: dflt },
    });
    // The Deployment's addresses come from a SpiderSubnet: the controller carves it a pool
    // of replicas+1 addresses (ipam-behavior §5) and the agents wait for it.
    await client.create(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: SANDBOX_SUBNET },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.250"], gateway: "192.0.2.1" },
    });
    await client.create(
      POOLS,
      pool("sandbox-dual-v4", "198.51.100.0/24", "198.51.100.10-198.51.100.250", "198.51.100.1", false),
    );
    await client.create(
      POOLS,
      pool("sandbox-dual-v6", "2001:db8:1::/64", "2001:db8:1::10-2001:db8:1::ff", "2001:db8:1::1", false),
    );

    for (const n of nodeNames) {
      const config = {
        ...loadAgentConfig({
          SPIDERPOOL_POD_NAMESPACE: "kube-system",
          SPIDERPOOL_POD_NAME: `spiderpool-agent-${n}`,
          SPIDERPOOL_NODE_NAME: n,
          SPIDERPOOL_LOG_LEVEL: "warn",
          SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: "100",
        }),
        socketPath: join(work, `${n}.sock`),
      };
      const agent = new SpiderpoolAgent({
        config,
        client: new KubeClient({ server: server.url }),
        logger: log,
        healthPort: 0,
      });
      await agent.start();
      agents.push(agent);
      out.write(`agent for ${n} serving on ${config.socketPath}\n`);
    }

    // The objects a Deployment and a StatefulSet controller would have created.
    const webAnnotations = {
      "ipam.spidernet.io/subnet": JSON.stringify({ ipv4: [SANDBOX_SUBNET] }),
      "ipam.spidernet.io/ippool-ip-number": "+1",
    };
    const webReplicas = Math.ceil(pods / 2);
    const deploy: KubeObject = await client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "sandbox" },
      spec: {
        replicas: webReplicas,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" }, annotations: webAnnotations },
          spec: { containers: [{ name: "app", image: "pause" }] },
        },
      },
    });
    const autoPool = await waitForAutoPool(client, "web", webReplicas + 1);
    out.write(
      `SpiderSubnet ${SANDBOX_SUBNET}: auto-created pool ${autoPool} with ${webReplicas + 1} addresses for Deployment web (replicas ${webReplicas}, +1)\n`,
    );
    const rs: KubeObject = await client.create(Resources.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "web-5d8f9c",
        namespace: "sandbox",
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: deploy.metadata?.uid, controller: true },
        ],
      },
      spec: { replicas: Math.ceil(pods / 2) },
    });
    const sts: KubeObject = await client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "sandbox" },
      spec: { replicas: Math.floor(pods / 2) },
    });
    const specs = Array.from({ length: pods }, (_, i) => {
      const isWeb = i % 2 === 0;
      const ordinal = Math.floor(i / 2);
      return {
        name: isWeb ? `web-5d8f9c-${ordinal}` : `db-${ordinal}`,
        node: nodeNames[i % nodes] as string,
        owner: isWeb
          ? { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f9c", uid: rs.metadata?.uid, controller: true }
          : { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: sts.metadata?.uid, controller: true },
        annotations: isWeb
          ? webAnnotations
          : { "ipam.spidernet.io/ippool": '{"ipv4":["sandbox-dual-v4"],"ipv6":["sandbox-dual-v6"]}' },
      };
    });

    if (macvlan) for (const n of nodeNames) await lab.addNode(`${lab.prefix}-${n}`);
    const rows: PodRow[] = [];
    let done = 0;
    for (const s of specs) {
      const pod: KubeObject = await client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: s.name, namespace: "sandbox", ownerReferences: [s.owner], annotations: s.annotations },
        spec: { nodeName: s.node, containers: [{ name: "app", image: "pause" }] },
      });
      await client.updateStatus(Resources.pods, { ...pod, status: { phase: "Running" } });
      const socket = join(work, `${s.node}.sock`);
      const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=sandbox;K8S_POD_NAME=${s.name};K8S_POD_UID=${pod.metadata?.uid ?? ""}`;
      let addresses: string[];
      let where: string;
      if (macvlan) {
        const podNs = `${lab.prefix}-p${done}`;
        const path = await lab.addNamespace(podNs);
        const r = await runPlugin({
          plugin: findPlugin("macvlan") as string,
          command: "ADD",
          netconf: netconfFromNad(nadConfig, socket),
          containerID: `sandbox-${s.name}`,
          netns: path,
          ifName: "eth0",
          args,
          cniPath: dirname(shim),
          inNamespace: `${lab.prefix}-${s.node}`,
        });
        if (r.code !== 0) throw new Error(`CNI ADD for ${s.name} failed: ${r.stdout}${r.stderr}`);
        addresses = await lab.addresses(podNs, "eth0");
        where = `netns ${podNs}`;
      } else {
        const r = await runPlugin({
          plugin: shim,
          command: "ADD",
          netconf: netconfFromNad(nadConfig, socket),
          containerID: `sandbox-${s.name}`,
          netns: `/var/run/netns/sandbox-${s.name}`,
          ifName: "eth0",
          args,
          cniPath: dirname(shim),
        });
        if (r.code !== 0) throw new Error(`CNI ADD for ${s.name} failed: ${r.stdout}`);
        addresses = ((JSON.parse(r.stdout) as { ips: Array<{ address: string }> }).ips ?? []).map((i) => i.address);
        where = "IPAM result";
      }
      done++;
      out.write(`[${done}/${pods}] ${s.name} on ${s.node}: ${addresses.join(", ")}\n`);
      rows.push({ name: s.name, node: s.node, addresses, where });
    }

    const table = (head: string[], data: string[][]): string => {
      const w = head.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? "").length)));
      const line = (r: string[]): string =>
        r
          .map((c, i) => c.padEnd(w[i] as number))
          .join("  ")
          .trimEnd();
      return [line(head), ...data.map(line)].join("\n");
    };
    out.write(
      `\n${table(
        ["POD", "NODE", "ADDRESSES", "SEEN IN"],
        rows.map((r) => [r.name, r.node, r.addresses.join(" "), r.where]),
      )}\n\n`,
    );
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
    writeFileSync(kubeconfigPath, server.kubeconfig(), { mode: 0o600 });
    out.write(
      `kubeconfig: ${kubeconfigPath}\n  kubectl --kubeconfig ${kubeconfigPath} get spidersubnets,spiderippools,spiderendpoints -A\n  kubectl --kubeconfig ${kubeconfigPath} get spidermultusconfigs,network-attachment-definitions -A\n  kubectl --kubeconfig ${kubeconfigPath} get spidercoordinators -o yaml\n`,
    );
    if (!report.ok) return 1;
    if (!values.once) {
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
    }
    return 0;
  } finally {
    await cleanup();
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
