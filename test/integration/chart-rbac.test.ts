// The chart's RBAC against the code (issue 21): spiderpool-agent and spiderpool-controller run
// behind recording proxies through a whole cycle — webhooks admitting pools, a pod's ADD
// and DEL through the shim, a Deployment's auto-pool created and deleted, a deleted pod's
// address collected by GC, leader election, a SpiderMultusConfig's NetworkAttachmentDefinition,
// the SpiderCoordinator's status from kubeadm-config, the CNI directory and the third-party
// kinds (Calico, Cilium, ServiceCIDRs), spiderpool-init's defaults, and the pre-delete hook's
// clean — and every request each made must be allowed by the ClusterRoles and Roles `helm
// template` renders for its ServiceAccount; conversely every grant must have been used, or
// be listed below with the code path that needs it.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { SpiderpoolAgent } from "../../src/agent/agent.ts";
import { loadAgentConfig } from "../../src/agent/config.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { SpiderMultusConfigKind } from "../../src/api/multusconfig.ts";
import type { OwnerReference } from "../../src/api/meta.ts";
import { toCrd } from "../../src/api/crd.ts";
import { SpiderIPPoolKind } from "../../src/api/ippool.ts";
import { cleanWebhooks } from "../../src/controller/clean.ts";
import { covers } from "../../src/controller/crd-upgrade.ts";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { SpiderpoolController } from "../../src/controller/controller.ts";
import { COORDINATORS } from "../../src/controller/coordinator/controller.ts";
import { NADS } from "../../src/controller/multus/controller.ts";
import { loadInitConfig } from "../../src/init/config.ts";
import { runInit } from "../../src/init/run.ts";
import { isNotFound } from "../../src/kube/errors.ts";
import { KubeClient, Resources, resourceTypeOf, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { SUBNETS } from "../../src/poolstore/auto-pool.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { NAMESPACE, objects, template } from "../support/chart.ts";
import { cni, controllerRef, createPod, runPod, shimBuilt, type Cluster } from "../support/cluster.ts";
import { allowed, grantKey, grants, rulesOf } from "../support/rbac.ts";
import { startRecordingProxy, type RecordingProxy, type RequestAttributes } from "../support/recording-proxy.ts";

function socketGet(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: "GET" }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The environment the chart's spiderpool-init Job sets, with the CNI directory it mounts moved to `cniDir`. */
function initEnv(rendered: Array<Record<string, unknown>>, cniDir: string): NodeJS.ProcessEnv {
  const job = rendered.find(
    (o) => o["kind"] === "Job" && (o["metadata"] as { name?: string }).name === "spiderpool-init",
  );
  assert.ok(job !== undefined, "the chart renders the spiderpool-init Job");
  const spec = job["spec"] as {
    template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
  };
  const env: NodeJS.ProcessEnv = {};
  for (const e of spec.template.spec.containers[0]?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  assert.ok(env["SPIDERPOOL_INIT_DEFAULT_CNI_DIR"] !== undefined, "the Job names the CNI directory");
  return { ...env, SPIDERPOOL_INIT_DEFAULT_CNI_DIR: cniDir };
}

/** The Secret the chart's controller Deployment names (tls.method auto: no mounted files). */
function tlsSecretName(rendered: ReturnType<typeof objects>): string {
  const d = rendered.find((o) => o.kind === "Deployment" && o.metadata?.name === "spiderpool-controller") as
    | {
        spec: {
          template: { spec: { containers: Array<{ args?: string[]; env?: Array<{ name: string; value?: string }> }> } };
        };
      }
    | undefined;
  const c = d?.spec.template.spec.containers[0];
  assert.ok(c !== undefined, "the chart renders the controller Deployment");
  assert.ok(!(c.args ?? []).some((a) => a.startsWith("--tls-server-cert")), "auto mounts no certificate files");
  const name = c.env?.find((e) => e.name === "SPIDERPOOL_TS_TLS_SECRET_NAME")?.value;
  assert.ok(name !== undefined && name !== "", "the Deployment names the certificate Secret");
  return name;
}

/** Grants no step of the cycle reaches, each with the code that needs it. */
const AGENT_AUTO_POOL =
  "src/poolstore/auto-pool.ts reconcileAutoPool, from src/agent/ipam-service.ts when an application's auto-pool is missing or too small before the controller has caught up";
const OWNER_KINDS =
  "src/poolstore/auto-pool.ts APP_RESOURCES and src/ipam/pod.ts resolveTopController: the application of a pod of this kind, as for the Deployment the cycle runs";
const THIRD_PARTY =
  "src/controller/auto-pool.ts #watchThirdParty: the application of an OpenKruise workload's auto-pool (test/integration/agent-subnet.test.ts runs it)";
const WEBHOOK_CREATE =
  "src/controller/webhooks/registration.ts: a configuration someone deleted is created again at start (the chart creates both, so the cycle updates them)";
const MULTUS =
  "Multus's own ClusterRole: the Multus binary on the node calls the API server with the kubeconfig the agent's multus-config sidecar writes from the agent's token";
const UNEXERCISED: Record<string, Record<string, string>> = {
  agent: {
    "k8s.cni.cncf.io|*|*": MULTUS,
    "|pods/status|get": MULTUS,
    "|pods/status|list": MULTUS,
    "|pods/status|update": MULTUS,
    "|pods/status|watch": MULTUS,
    "|pods|update": MULTUS,
    "|events|create": MULTUS,
    "|events|patch": MULTUS,
    "|events|update": MULTUS,
    "events.k8s.io|events|create": MULTUS,
    "events.k8s.io|events|patch": MULTUS,
    "events.k8s.io|events|update": MULTUS,
    "spiderpool.spidernet.io|spiderippools|create": AGENT_AUTO_POOL,
    "spiderpool.spidernet.io|spiderippools|update": AGENT_AUTO_POOL,
    "spiderpool.spidernet.io|spidersubnets|get": AGENT_AUTO_POOL,
    "spiderpool.spidernet.io|spidersubnets/status|update": AGENT_AUTO_POOL,
    "spiderpool.spidernet.io|spiderendpoints|delete":
      "src/agent/ipam-service.ts #dropEndpoint: a DEL or CNI GC after the pod object is gone (in a test the controller's GC, which is immediate, gets there first)",
    "apps|daemonsets|get": OWNER_KINDS,
    "batch|jobs|get": OWNER_KINDS,
    "batch|cronjobs|get": OWNER_KINDS,
    "kubevirt.io|virtualmachines|get":
      "src/agent/ipam-service.ts: whether a KubeVirt VM's addresses are still its own at DEL",
    "kubevirt.io|virtualmachineinstances|get":
      "src/agent/ipam-service.ts: whether a KubeVirt VM's addresses are still its own at DEL",
  },
  init: {
    "coordination.k8s.io|leases|get":
      "src/init/run.ts controllerServing: while the controller's Service has no Endpoints object yet, its held Lease stands in",
  },
  controller: {
    "|secrets|update":
      "src/controller/webhooks/tls-secret.ts sharedTls: the replica that finds the chart's certificate due (a third of its validity left) renews it in place",
    "admissionregistration.k8s.io|mutatingwebhookconfigurations|create": WEBHOOK_CREATE,
    "admissionregistration.k8s.io|validatingwebhookconfigurations|create": WEBHOOK_CREATE,
    "spiderpool.spidernet.io|spiderendpoints|delete":
      "src/controller/gc/collector.ts: a StatefulSet's or KubeVirt VM's endpoint once its workload is gone, and outdated endpoints (ipam.enableCleanOutdatedEndpoint)",
    "apps|replicasets|get": OWNER_KINDS,
    "apps|daemonsets|get": OWNER_KINDS,
    "batch|jobs|get": OWNER_KINDS,
    "batch|cronjobs|get": OWNER_KINDS,
    "kubevirt.io|virtualmachines|get": "src/controller/gc/collector.ts: whether a KubeVirt VM still owns its addresses",
    "kubevirt.io|virtualmachineinstances|get":
      "src/controller/gc/collector.ts: whether a KubeVirt VM still owns its addresses",
    "apps.kruise.io|clonesets|get": THIRD_PARTY,
    "apps.kruise.io|clonesets|list": THIRD_PARTY,
    "apps.kruise.io|clonesets|watch": THIRD_PARTY,
    "apps.kruise.io|statefulsets|get": THIRD_PARTY,
    "apps.kruise.io|statefulsets|list": THIRD_PARTY,
    "apps.kruise.io|statefulsets|watch": THIRD_PARTY,
    "k8s.cni.cncf.io|network-attachment-definitions|get":
      "src/controller/webhooks/routes.ts: a SpiderMultusConfig's NetworkAttachmentDefinition, read by its webhook",
  },
};

describe("the chart's RBAC and the daemons' requests (issue 21)", { skip: !shimBuilt() && "no shim" }, () => {
  let h: Harness;
  let dir: string;
  let agentProxy: RecordingProxy;
  let ctrlProxy: RecordingProxy;
  let initProxy: RecordingProxy;
  let agent: SpiderpoolAgent;
  let ctrl: SpiderpoolController;
  let rendered: ReturnType<typeof objects>;
  let secret: KubeObject;

  before(async () => {
    // The test's API server calls the webhooks at 127.0.0.1, so the certificate names it too;
    // spiderpool-init also makes a default subnet and pool.
    rendered = objects(
      template([
        "--set=spiderpoolController.tls.auto.extraIpAddresses={127.0.0.1}",
        "--set=clusterDefaultPool.installIPv4IPPool=true",
        "--set=clusterDefaultPool.ipv4Subnet=203.0.113.0/24",
        "--set=clusterDefaultPool.ipv4IPRanges={203.0.113.10-203.0.113.20}",
        "--set=clusterDefaultPool.ipv4Gateway=203.0.113.1",
        "--set=spiderpoolController.podResourceInject.enabled=true",
      ]),
    );
    h = await startApiServer({ historyCapacity: 10_000 });
    dir = mkdtempSync(join(tmpdir(), "chart-rbac-"));
    agentProxy = await startRecordingProxy(h.url);
    ctrlProxy = await startRecordingProxy(h.url);
    initProxy = await startRecordingProxy(h.url);
    // The node's CNI directory, as the chart mounts it: Calico is the default CNI, so the
    // coordinator reads Calico's pools and spiderpool-init names the default CNI's SMC after it.
    mkdirSync(join(dir, "net.d"));
    writeFileSync(
      join(dir, "net.d", "10-calico.conflist"),
      JSON.stringify({ cniVersion: "0.3.1", name: "k8s-pod-network", plugins: [{ type: "calico" }] }),
    );
    await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
    // As after `helm install`: the chart's webhook certificate Secret and webhook configurations
    // exist before the controller starts; it serves the one and takes the others over.
    secret = rendered.find((x) => x.kind === "Secret" && x.metadata?.name === tlsSecretName(rendered)) as KubeObject;
    assert.ok(secret !== undefined, "the chart renders the Secret the controller is told to use");
    secret = await h.client.create(Resources.secrets, secret);
    for (const o of rendered.filter((x) => String(x.kind).endsWith("WebhookConfiguration"))) {
      const rt =
        o.kind === "MutatingWebhookConfiguration"
          ? Resources.mutatingwebhookconfigurations
          : Resources.validatingwebhookconfigurations;
      await h.client.create(rt, o as KubeObject);
    }
    // An older SpiderIPPool CRD, as `helm upgrade` leaves it: the controller brings it up to date.
    const crd = await h.client.get(Resources.customresourcedefinitions, "spiderippools.spiderpool.spidernet.io");
    const spec = structuredClone(crd["spec"]) as { versions: Array<Record<string, unknown>> };
    delete spec.versions[0]!["additionalPrinterColumns"];
    await h.client.update(Resources.customresourcedefinitions, { ...crd, spec });
    // The controller reads the chart's conf.yml, so the pod webhook is on as the chart turns it on.
    const cm = rendered.find((x) => x.kind === "ConfigMap" && x.metadata?.name === "spiderpool-conf") as
      (KubeObject & { data: Record<string, string> }) | undefined;
    assert.ok(cm?.data["conf.yml"] !== undefined, "the chart renders spiderpool-conf");
    writeFileSync(join(dir, "conf.yml"), cm.data["conf.yml"]);
    ctrl = new SpiderpoolController({
      config: loadControllerConfig(
        {
          SPIDERPOOL_POD_NAMESPACE: NAMESPACE,
          SPIDERPOOL_POD_NAME: "spiderpool-controller-0",
          VERSION: "0.1.0",
          SPIDERPOOL_COORDINATOR_ENABLED: "true",
          SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true",
          SPIDERPOOL_CNI_CONFIG_DIR: join(dir, "net.d"),
          SPIDERPOOL_TS_TLS_SECRET_NAME: tlsSecretName(rendered),
          SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS: "100",
          SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS: "100",
          SPIDERPOOL_TS_GC_INTERVAL_MS: "300",
          SPIDERPOOL_TS_LEADER_DURATION_MS: "1500",
          SPIDERPOOL_TS_LEADER_RENEW_DEADLINE_MS: "1000",
          SPIDERPOOL_TS_LEADER_RETRY_PERIOD_MS: "100",
        },
        join(dir, "conf.yml"),
      ),
      client: new KubeClient({ server: ctrlProxy.url }),
      logger: pino({ level: process.env["CTRL_LOG"] ?? "silent" }),
      ports: { health: 0, metrics: 0, webhook: 0 },
    });
    await ctrl.start();
    await eventually(() => ctrl.isLeader, 5000, "leader");
    // The chart's Secret is the controller's shared certificate: served as it is, not replaced,
    // and its CA is the caBundle the controller registers.
    const served = await h.client.get(Resources.secrets, secret.metadata!.name!, NAMESPACE);
    assert.equal(served.metadata?.resourceVersion, secret.metadata?.resourceVersion, "the chart's Secret kept");
    const vwc = await h.client.get<KubeObject & { webhooks: Array<{ clientConfig: { caBundle?: string } }> }>(
      Resources.validatingwebhookconfigurations,
      "spiderpool-controller",
    );
    const caCrt = (secret as KubeObject & { data: Record<string, string> }).data["ca.crt"];
    assert.ok(
      vwc.webhooks.every((w) => w.clientConfig.caBundle === caCrt),
      "the registered caBundle is the chart's CA",
    );
    const upgraded = await h.client.get(Resources.customresourcedefinitions, "spiderippools.spiderpool.spidernet.io");
    assert.ok(covers(upgraded["spec"], toCrd(SpiderIPPoolKind).spec), "the older CRD was upgraded at start");
    agent = new SpiderpoolAgent({
      config: {
        ...loadAgentConfig({
          SPIDERPOOL_POD_NAMESPACE: NAMESPACE,
          SPIDERPOOL_POD_NAME: "spiderpool-agent-node1",
          SPIDERPOOL_NODE_NAME: "node1",
          SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: "50",
        }),
        socketPath: join(dir, "agent.sock"),
      },
      client: new KubeClient({ server: agentProxy.url }),
      logger: pino({ level: "silent" }),
      healthPort: 0,
      metricPort: 0,
    });
    await agent.start();
  });

  after(async () => {
    await agent?.stop();
    await ctrl?.stop();
    await agentProxy?.close();
    await ctrlProxy?.close();
    await initProxy?.close();
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("issue 21: a whole allocate/auto-pool/GC/webhook/SMC/coordinator/init cycle makes no request the chart forbids", async () => {
    const c = { h, nodes: [{ name: "node1", socket: join(dir, "agent.sock") }], dir } as unknown as Cluster;
    const socket = join(dir, "agent.sock");
    await h.client.create(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s4" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.200"], gateway: "192.0.2.1" },
    });
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "p4" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"] },
    } as SpiderIPPool);

    // A pod allocated and released by CNI (Terminating, within its grace period, so GC waits),
    // another collected by GC once deleted.
    const a = await runPod(c, { name: "a", node: "node1", pool: "p4" });
    await h.client.delete(Resources.pods, "a", { namespace: "default", gracePeriodSeconds: 60 });
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "a", uid: a.uid } })).code, 0);
    await runPod(c, { name: "b", node: "node1", pool: "p4" });
    await eventually(() => ctrl.pods.getByName("b", "default")?.status !== undefined, 5000, "b seen by the controller");
    await h.client.delete(Resources.pods, "b", { namespace: "default", gracePeriodSeconds: 0 });
    await eventually(
      async () => ((await h.client.get<SpiderIPPool>(POOLS, "p4")).status?.allocatedIPCount ?? 0) === 0,
      10_000,
      "b's address collected",
    );

    // A Deployment's auto-pool, carved from the subnet, used, then deleted with it.
    const ann = { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}', "ipam.spidernet.io/ippool-ip-number": "+0" };
    const tpl = {
      metadata: { labels: { app: "api" }, annotations: ann },
      spec: { containers: [{ name: "c", image: "i" }] },
    };
    const d = await h.client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "default" },
      spec: { replicas: 1, selector: { matchLabels: { app: "api" } }, template: tpl },
    });
    const rs = await h.client.create(Resources.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "api-1", namespace: "default", ownerReferences: [controllerRef(d)] },
      spec: { replicas: 1, selector: { matchLabels: { app: "api" } }, template: tpl },
    });
    await createPod(h, {
      name: "api-1-a",
      node: "node1",
      annotations: ann,
      owner: controllerRef(rs) as OwnerReference,
    });
    const add = await cni({ command: "ADD", socket, pod: { name: "api-1-a" } });
    assert.equal(add.code, 0, add.stdout);
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "api-1-a" } })).code, 0);
    await h.client.delete(Resources.pods, "api-1-a", { namespace: "default", gracePeriodSeconds: 0 });
    await h.client.delete(Resources.replicasets, "api-1", { namespace: "default" });
    await h.client.delete(Resources.deployments, "api", { namespace: "default" });
    await eventually(
      async () => (await h.client.listAll<SpiderIPPool>(POOLS)).items.every((p) => p.metadata.name === "p4"),
      10_000,
      "the auto-pool deleted with its Deployment",
    );

    // A StatefulSet's pod: at DEL its addresses are kept while the StatefulSet still wants it.
    const sts = await h.client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "default" },
      spec: {
        replicas: 1,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: { ...tpl, metadata: { labels: { app: "db" } } },
      },
    });
    const db = await runPod(c, {
      name: "db-0",
      node: "node1",
      pool: "p4",
      owner: controllerRef(sts) as OwnerReference,
    });
    await h.client.delete(Resources.pods, "db-0", { namespace: "default", gracePeriodSeconds: 60 });
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "db-0", uid: db.uid } })).code, 0);

    // The coordinator's configuration over the socket, and the runtime's CNI GC.
    assert.ok((await socketGet(socket, "/v1/coordinator/config")) >= 200);
    assert.equal((await cni({ command: "GC", socket, pod: { name: "" }, cniVersion: "1.1.0" })).code, 0);

    // The StatefulSet gone, GC releases its pod's address; then the subnet deleted: its pools
    // go first, then its finalizer.
    await h.client.delete(Resources.statefulsets, "db", { namespace: "default" });
    await h.client
      .delete(Resources.pods, "db-0", { namespace: "default", gracePeriodSeconds: 0 })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err; // the StatefulSet's deletion may have taken it already
      });
    await h.client.delete(SUBNETS, "s4");
    await eventually(
      async () =>
        (await h.client.listAll(SUBNETS)).items.length === 0 && (await h.client.listAll(POOLS)).items.length === 0,
      10_000,
      "the subnet and its pools deleted",
    );

    // Node networking. The third-party kinds the coordinator follows, once their CRDs exist;
    // kubeadm-config without subnets, so it also asks kube-controller-manager's pod.
    for (const [group, kind, plural, version] of [
      ["crd.projectcalico.org", "IPPool", "ippools", "v1"],
      ["cilium.io", "CiliumPodIPPool", "ciliumpodippools", "v2alpha1"],
      ["networking.k8s.io", "ServiceCIDR", "servicecidrs", "v1"],
    ] as const) {
      await h.client.create(Resources.customresourcedefinitions, {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: "Cluster",
          names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
          versions: [
            {
              name: version,
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          ],
        },
      } as KubeObject);
    }
    const calico: ResourceType = {
      group: "crd.projectcalico.org",
      version: "v1",
      plural: "ippools",
      kind: "IPPool",
      namespaced: false,
    };
    await eventually(
      async () => (await h.client.resourceFor("crd.projectcalico.org/v1", "IPPool")) !== undefined,
      5000,
      "Calico's IPPools served",
    );
    await h.client.create(calico, {
      apiVersion: "crd.projectcalico.org/v1",
      kind: "IPPool",
      metadata: { name: "default-ipv4-ippool" },
      spec: { cidr: "198.51.100.0/24" },
    } as KubeObject);
    await h.client.create(Resources.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kubeadm-config", namespace: "kube-system" },
      data: { ClusterConfiguration: "networking: {}\n" },
    } as KubeObject);

    // spiderpool-init, with the chart's Job's environment: it waits for the controller, then
    // creates the default SpiderCoordinator, subnet and pool, and the default CNI's SpiderMultusConfig.
    // It waits for the controller's Service to have endpoints, as kube's endpoints controller writes them.
    await h.client.create({ group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true }, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "spiderpool-controller", namespace: NAMESPACE },
      subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "webhook", port: 5722 }] }],
    } as KubeObject);
    const initClient = new KubeClient({ server: initProxy.url });
    try {
      const r = await runInit({
        client: initClient,
        config: loadInitConfig(initEnv(rendered as Array<Record<string, unknown>>, join(dir, "net.d"))),
        log: pino({ level: "silent" }),
        backoff: { initialMs: 50, maxMs: 200 },
      });
      assert.ok(
        r.created.some((id) => id.startsWith("SpiderCoordinator")),
        JSON.stringify(r),
      );
      assert.ok(
        r.created.some((id) => id.startsWith("SpiderMultusConfig")),
        JSON.stringify(r),
      );
    } finally {
      await initClient.close();
    }
    // The coordinator's status from what it read; a macvlan SMC's NAD.
    await eventually(
      async () =>
        ((await h.client.get<KubeObject & { status?: { phase?: string } }>(COORDINATORS, "default")).status?.phase ??
          "") !== "",
      10_000,
      "the default SpiderCoordinator's status",
    );
    await h.client.create(resourceTypeOf(SpiderMultusConfigKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderMultusConfig",
      metadata: {
        name: "macvlan-eth1",
        namespace: "default",
        annotations: { "cni.spidernet.io/network-resource-inject": "rbac-g" },
      },
      spec: { cniType: "macvlan", macvlan: { master: ["eth1"], ippools: { ipv4: ["p4"] } } },
    } as KubeObject);
    await eventually(
      async () => {
        try {
          return (await h.client.get(NADS, "macvlan-eth1", "default")) !== undefined;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      },
      10_000,
      "the SMC's NetworkAttachmentDefinition",
    );
    // The pod webhook: a pod naming the SMC's group gets its network (the controller reads the
    // namespace's annotation and lists the group).
    const grouped = await createPod(h, {
      name: "grouped",
      node: "node1",
      annotations: { "cni.spidernet.io/network-resource-inject": "rbac-g" },
    });
    const ga = grouped.metadata?.annotations as Record<string, string> | undefined;
    assert.equal(ga?.["k8s.v1.cni.cncf.io/networks"], "default/macvlan-eth1");
    // podCIDRType changes are recorded as Events (the same change twice: one Event, counted).
    for (const podCIDRType of ["cluster", "auto", "cluster"]) {
      const cur = await h.client.get<KubeObject & { spec: Record<string, unknown> }>(COORDINATORS, "default");
      await h.client.update(COORDINATORS, { ...cur, spec: { ...cur.spec, podCIDRType } });
      await eventually(
        () => ctrlProxy.requests.filter((r) => r.resource === "events").length >= 1,
        5000,
        "an Event recorded",
      );
    }
    await eventually(
      () => ctrlProxy.requests.some((r) => r.resource === "events" && r.verb === "patch"),
      5000,
      "a repeated Event counted",
    );
    // An SMC's change rewrites its NAD.
    const smcs = resourceTypeOf(SpiderMultusConfigKind);
    const m = await h.client.get<KubeObject & { spec: { macvlan: Record<string, unknown> } }>(
      smcs,
      "macvlan-eth1",
      "default",
    );
    await h.client.update(smcs, { ...m, spec: { ...m.spec, macvlan: { ...m.spec.macvlan, mtu: 1400 } } });
    await eventually(
      async () => JSON.stringify(await h.client.get(NADS, "macvlan-eth1", "default")).includes("1400"),
      10_000,
      "the NAD rewritten",
    );
    // A deleted coordinator goes: the controller releases the webhook's finalizer.
    await h.client.delete(COORDINATORS, "default");
    await eventually(
      async () => {
        try {
          await h.client.get(COORDINATORS, "default");
          return false;
        } catch (err) {
          if (isNotFound(err)) return true;
          throw err;
        }
      },
      10_000,
      "the coordinator deleted",
    );

    // The pre-delete hook runs as the controller's ServiceAccount.
    const hookClient = new KubeClient({ server: ctrlProxy.url });
    try {
      const names = { validating: "spiderpool-controller", mutating: "spiderpool-controller" };
      assert.equal((await cleanWebhooks(hookClient, names)).length, 2);
      // A retried hook finds nothing left, and succeeds.
      assert.deepEqual(await cleanWebhooks(hookClient, names), []);
    } finally {
      await hookClient.close();
    }

    const check = (who: "agent" | "controller" | "init", sa: string, reqs: RequestAttributes[]): void => {
      const rules = rulesOf(rendered, { name: sa, namespace: NAMESPACE });
      assert.ok(rules.length > 0, `no rules bound to ${sa}`);
      const forbidden = [
        ...new Set(
          reqs.filter((r) => !allowed(rules, r)).map((r) => `${grantKey(r)} ns=${r.namespace} name=${r.name}`),
        ),
      ];
      const used = new Set(reqs.filter((r) => r.nonResource === undefined).map(grantKey));
      const unused = [...new Set(grants(rules))].filter((g) => !used.has(g) && UNEXERCISED[who]![g] === undefined);
      assert.deepEqual(forbidden, [], `${who} made requests its chart RBAC forbids`);
      assert.deepEqual(unused, [], `${who}'s chart RBAC grants what the cycle never used (least privilege)`);
    };
    check("agent", "spiderpool-agent", agentProxy.requests);
    check("controller", "spiderpool-controller", ctrlProxy.requests);
    check("init", "spiderpool-init", initProxy.requests);
  });
});
