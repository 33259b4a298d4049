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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { SUBNETS } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { startLocalApiServer } from "../apiserver/index.ts";
import { loadControllerConfig } from "../controller/config.ts";
import { SpiderpoolController } from "../controller/controller.ts";
import { KubeClient, Resources, type KubeObject } from "../kube/index.ts";
import { labUnavailable, NetLab } from "./netlab.ts";
import { applyManifests, readManifests } from "./sandbox/manifests.ts";
import { ServiceAccountTokens } from "./sandbox/service-account-tokens.ts";
import { SimulatedCluster } from "./sandbox/simulated-cluster.ts";
import { loadInitConfig } from "../init/config.ts";
import { runInit } from "../init/run.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { SpiderMultusConfigKind } from "../api/multusconfig.ts";
import { confListOf } from "./sandbox/network-plan.ts";
import { serveGrid } from "./sandbox-grid.ts";
import { ensureShim, nodeNetworkUnavailable, ROOT } from "./sandbox/native.ts";
import { writeSummary } from "./sandbox/summary.ts";
import { waitForAutoPool, waitForNad, waitForPods } from "./sandbox/waits.ts";
import { NetlinkHost } from "../host/netlink-host.ts";
import { UsageError } from "./usage.ts";

const SANDBOX_SUBNET = "sandbox-subnet-v4";
const SANDBOX_SMC = "macvlan-eth-m";

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
    const { report, unreached } = await writeSummary({ client, cluster, lab, macvlan, hostAddon, waiting, out });
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
