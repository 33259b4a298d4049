// The GC acceptance cases that need whole workloads: pods allocated through the agent (the
// shim, as the runtime calls it), then deleted the ways a cluster deletes them with no CNI
// DEL at all, and only spiderpool-controller giving the addresses back (ipam-behavior §4).
// No kubelet or workload controller runs here: each pod is created by the test with its
// owner references and node, its podIPs are reported as the kubelet would after the ADD,
// and the embedded API server's garbage collector cascades deletions along owner
// references (and namespace deletion to the namespace's objects) as kube's does.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { ENDPOINTS, type SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer } from "../support/apiserver.ts";
import {
  assertConsistent,
  cni,
  controllerRef,
  createPool,
  records,
  runPod,
  shimBuilt,
  startCluster,
  type Cluster,
  type RunningPod,
} from "../support/cluster.ts";
import { testController, writeRecord } from "../support/controller.ts";
import { KUBEVIRT_CRDS, VirtualMachineInstances, VirtualMachines } from "../support/kubevirt.ts";
import { KRUISE_STATEFULSET_CRD, KruiseStatefulSets } from "../support/kruise.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

/** A workload object as its API holds it; no controller runs for it. */
function workload(c: Cluster, rt: ResourceType, name: string, owner?: KubeObject): Promise<KubeObject> {
  return c.h.client.create(rt, {
    apiVersion: rt.group === "" ? rt.version : `${rt.group}/${rt.version}`,
    kind: rt.kind,
    metadata: {
      name,
      namespace: "default",
      ...(owner !== undefined ? { ownerReferences: [controllerRef(owner)] } : {}),
    },
    spec: { replicas: 1 },
  });
}

const poolRecords = async (c: Cluster, pool: string) => records(await c.h.client.get<SpiderIPPool>(POOLS, pool));
const endpointNames = async (c: Cluster): Promise<string[]> =>
  (await c.h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items.map(
    (e) => `${e.metadata.namespace ?? ""}/${e.metadata.name ?? ""}`,
  );

describe("GC of workloads deleted without a CNI DEL", { skip }, () => {
  let c: Cluster;
  let ctrl: SpiderpoolController;

  before(async () => {
    c = await startCluster({ nodes: 2 });
    // testController's periodic scan is 10 minutes away: what is released here is released by
    // the pod-event trace (and the scan the leader runs once when elected, before any pod exists).
    ctrl = testController(c.h, "ctrl");
    await ctrl.start();
    await eventually(() => ctrl.isLeader, 5000, "leader");
    await createPool(c.h, "wl", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.59"], gateway: "192.0.2.1" });
  });
  afterEach(() => assertConsistent(c.h));
  after(async () => {
    await ctrl?.stop();
    await c?.close();
  });

  it("AC-72: deleting a namespace releases the addresses of its pods; a same-name pod elsewhere keeps its own", async () => {
    await c.h.client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    const doomed = [
      await runPod(c, { name: "api", namespace: "team", node: "node1", pool: "wl" }),
      await runPod(c, { name: "web", namespace: "team", node: "node2", pool: "wl" }),
    ];
    const twin = await runPod(c, { name: "api", node: "node1", pool: "wl" });
    await eventually(
      () => doomed.every((p) => ctrl.pods.getByName(p.name, p.namespace) !== undefined),
      5000,
      "pods seen",
    );
    // The embedded API server deletes what a terminating namespace holds, as kube's namespace
    // controller does; the endpoints' finalizer keeps the namespace until the GC removes it.
    await c.h.client.delete(Resources.namespaces, "team");
    await eventually(
      async () => Object.values(await poolRecords(c, "wl")).every((r) => !r.pod.startsWith("team/")),
      5000,
      "the namespace's records released",
    );
    await eventually(
      async () => (await c.h.client.listAll(Resources.namespaces)).items.every((n) => n.metadata?.name !== "team"),
      5000,
      "the namespace gone (its endpoints' finalizers removed)",
    );
    assert.deepEqual(
      (await endpointNames(c)).filter((n) => n.startsWith("team/")),
      [],
      "the namespace's endpoints are gone",
    );
    const recs = await poolRecords(c, "wl");
    for (const p of doomed) assert.equal(recs[p.ip], undefined, `${p.namespace}/${p.name}'s ${p.ip}`);
    assert.deepEqual(recs[twin.ip], { pod: "default/api", podUid: twin.uid }, "the twin in default keeps its address");
    await c.h.client.delete(Resources.pods, "api", { namespace: "default" });
    await cni({ command: "DEL", socket: c.nodes[0]!.socket, pod: { name: "api", uid: twin.uid } });
  });

  it("AC-73: a Pod and Deployment, StatefulSet, DaemonSet, ReplicaSet and Job pods deleted with grace 0 and no CNI DEL are all released", async () => {
    const deploy = await workload(c, Resources.deployments, "deploy");
    const deployRs = await workload(c, Resources.replicasets, "deploy-5d8f9", deploy);
    const sts = await workload(c, Resources.statefulsets, "sts");
    const ds = await workload(c, Resources.daemonsets, "ds");
    const rs = await workload(c, Resources.replicasets, "rs");
    const job = await workload(c, Resources.jobs, "job");
    const placed = [
      await runPod(c, { name: "pod", node: "node1", pool: "wl" }),
      await runPod(c, { name: "deploy-5d8f9-x7k2p", node: "node1", pool: "wl", owner: controllerRef(deployRs) }),
      await runPod(c, { name: "sts-0", node: "node2", pool: "wl", owner: controllerRef(sts) }),
      await runPod(c, { name: "ds-q9w8e", node: "node1", pool: "wl", owner: controllerRef(ds) }),
      await runPod(c, { name: "ds-r5t6y", node: "node2", pool: "wl", owner: controllerRef(ds) }),
      await runPod(c, { name: "rs-b4n3m", node: "node2", pool: "wl", owner: controllerRef(rs) }),
      await runPod(c, { name: "job-z1x2c", node: "node1", pool: "wl", owner: controllerRef(job) }),
    ];
    const recs = await poolRecords(c, "wl");
    for (const p of placed) assert.equal(recs[p.ip]?.podUid, p.uid, `${p.name} recorded`);
    assert.equal(
      (await c.h.client.get<SpiderEndpoint>(ENDPOINTS, "sts-0", "default")).status?.ownerControllerType,
      "StatefulSet",
    );
    await eventually(
      () => placed.every((p) => ctrl.pods.getByName(p.name, "default") !== undefined),
      5000,
      "pods seen",
    );
    // As upstream's G00004: the pod and the workloads deleted with grace 0 (their pods go
    // with them by owner reference), then whatever pod is left, with no CNI DEL anywhere.
    const grace0 = { namespace: "default", gracePeriodSeconds: 0 };
    await c.h.client.delete(Resources.pods, "pod", grace0);
    await c.h.client.delete(Resources.deployments, "deploy", grace0);
    await c.h.client.delete(Resources.statefulsets, "sts", grace0);
    await c.h.client.delete(Resources.daemonsets, "ds", grace0);
    await c.h.client.delete(Resources.replicasets, "rs", grace0);
    await c.h.client.delete(Resources.jobs, "job", grace0);
    for (const p of (await c.h.client.listAll(Resources.pods, { namespace: "default" })).items) {
      await c.h.client.delete(Resources.pods, String(p.metadata?.name), grace0).catch(() => undefined);
    }
    await eventually(
      async () => (await c.h.client.listAll(Resources.pods, { namespace: "default" })).items.length === 0,
      5000,
      "every pod gone",
    );
    await eventually(
      async () => {
        const now = await poolRecords(c, "wl");
        return placed.every((p) => now[p.ip] === undefined);
      },
      5000,
      "every record released",
    );
    await eventually(async () => (await endpointNames(c)).length === 0, 5000, "every endpoint gone");
  });
  it("an OpenKruise Advanced StatefulSet's pod is stateless: released when deleted, though an apps/v1 StatefulSet of its name wants it", async () => {
    // ipam-behavior §3.1: third-party controllers, kruise included, are stateless. Checked by
    // kind alone, the pod would be held for "StatefulSet web", which here wants ordinal 0.
    await c.h.client.create(Resources.customresourcedefinitions, KRUISE_STATEFULSET_CRD);
    const kruise = await workload(c, KruiseStatefulSets, "web");
    await workload(c, Resources.statefulsets, "web");
    const pod = await runPod(c, {
      name: "web-0",
      node: "node1",
      pool: "wl",
      owner: controllerRef(kruise as KubeObject),
    });
    assert.equal((await poolRecords(c, "wl"))[pod.ip]?.podUid, pod.uid);
    assert.equal(
      (await c.h.client.get<SpiderEndpoint>(ENDPOINTS, "web-0", "default")).status?.ownerControllerType,
      "StatefulSet",
    );
    await eventually(() => ctrl.pods.getByName("web-0", "default") !== undefined, 5000, "pod seen");
    await c.h.client.delete(Resources.pods, "web-0", { namespace: "default", gracePeriodSeconds: 0 });
    await eventually(async () => (await poolRecords(c, "wl"))[pod.ip] === undefined, 5000, "record released");
    await eventually(async () => !(await endpointNames(c)).includes("default/web-0"), 5000, "endpoint gone");
  });
});

describe("AC-69: KubeVirt VM deleted without a CNI DEL", { skip }, () => {
  let c: Cluster;
  let ctrl: SpiderpoolController;
  let scans = 0;

  before(async () => {
    c = await startCluster({ nodes: 1 });
    for (const crd of KUBEVIRT_CRDS) await c.h.client.create(Resources.customresourcedefinitions, crd);
    ctrl = testController(c.h, "ctrl", { SPIDERPOOL_TS_GC_INTERVAL_MS: "200" });
    // Counts finished scans, periodic ones included (the timer calls this method).
    const scanAll = ctrl.gc.scanAll.bind(ctrl.gc);
    ctrl.gc.scanAll = () => scanAll().then((s) => (scans++, s));
    await ctrl.start();
    await eventually(() => ctrl.isLeader, 5000, "leader");
    await createPool(c.h, "vm", { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.19"] });
  });
  afterEach(() => assertConsistent(c.h));
  after(async () => {
    await ctrl?.stop();
    await c?.close();
  });

  it("AC-69: the periodic scan reclaims the VM's record (`pod: ns/<vmi>`) and its endpoint once the VM and its VMI are deleted", async () => {
    const vm = await c.h.client.create<KubeObject>(VirtualMachines, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm1", namespace: "default" },
      spec: {},
    });
    const vmi = await c.h.client.create<KubeObject>(VirtualMachineInstances, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: { name: "vm1", namespace: "default", ownerReferences: [controllerRef(vm)] },
      spec: {},
    });
    const launcher = await runPod(c, {
      name: "virt-launcher-vm1-abcde",
      node: "node1",
      pool: "vm",
      owner: controllerRef(vmi),
    });
    assert.deepEqual((await poolRecords(c, "vm"))[launcher.ip], { pod: "default/vm1", podUid: launcher.uid });
    const ep = await c.h.client.get<SpiderEndpoint>(ENDPOINTS, "vm1", "default");
    assert.equal(ep.status?.ownerControllerType, "VirtualMachineInstance");
    assert.equal(ep.metadata.ownerReferences, undefined, "a VMI's endpoint is owned by nothing");
    // While the VM lives, scans keep its address.
    const before = scans;
    await eventually(() => scans >= before + 2, 5000, "two periodic scans");
    assert.ok((await poolRecords(c, "vm"))[launcher.ip] !== undefined, "kept while the VM lives");

    // KubeVirt deletes the VMI with its VM and the launcher pod with its VMI: owner references.
    await c.h.client.delete(VirtualMachines, "vm1", { namespace: "default" });
    await eventually(
      async () =>
        (await c.h.client.listAll(VirtualMachineInstances, { namespace: "default" })).items.length === 0 &&
        (await c.h.client.listAll(Resources.pods, { namespace: "default" })).items.length === 0,
      5000,
      "the VMI and its virt-launcher pod to go with the VM",
    );
    // The pod's own delete event finds no endpoint named after the pod: only the scan can do this.
    await eventually(async () => (await poolRecords(c, "vm"))[launcher.ip] === undefined, 5000, "the record reclaimed");
    await eventually(async () => !(await endpointNames(c)).includes("default/vm1"), 5000, "the VMI's endpoint gone");
  });
});

describe("AC-76: a pod left Terminating on a NotReady node", { skip }, () => {
  let c: Cluster;
  const GRACE = 1;
  const NOT_READY_SWITCH = "SPIDERPOOL_GC_STATELESS_TERMINATING_POD_ON_NOT_READY_NODE_ENABLED";

  before(async () => {
    c = await startCluster({ nodes: 1 });
    await createPool(c.h, "nr", { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.19"] });
    // With its kubelet stopped nothing finishes a pod's deletion: it stays Terminating (the
    // embedded server keeps a scheduled pod deleted with a grace period until a delete with
    // grace 0, which stands in for the kubelet).
    c.h.server.registry.podDeletion = "graceful";
  });
  afterEach(() => assertConsistent(c.h));
  after(() => c?.close());

  async function nodeReady(ctrl: SpiderpoolController, status: "True" | "False"): Promise<void> {
    const n = await c.h.client.get(Resources.nodes, "node1");
    await c.h.client.updateStatus(Resources.nodes, {
      ...n,
      status: {
        conditions: [{ type: "Ready", status, reason: status === "True" ? "KubeletReady" : "NodeStatusUnknown" }],
      },
    });
    const seen = (): string | undefined =>
      (ctrl.nodes.getByName("node1")?.["status"] as { conditions?: { status: string }[] } | undefined)?.conditions?.[0]
        ?.status;
    await eventually(() => seen() === status, 5000, `the controller to see node1 Ready=${status}`);
  }

  /** A running pod on node1; node1 goes NotReady; the pod is deleted and stays Terminating. */
  async function strand(ctrl: SpiderpoolController, name: string): Promise<{ pod: RunningPod; windowEnd: number }> {
    await nodeReady(ctrl, "True");
    const pod = await runPod(c, { name, node: "node1", pool: "nr" });
    await eventually(() => (ctrl.pods.getByName(name, "default")?.status?.podIPs ?? []).length > 0, 5000, "pod seen");
    await nodeReady(ctrl, "False");
    await c.h.client.delete(Resources.pods, name, { namespace: "default", gracePeriodSeconds: GRACE });
    const cur = await c.h.client.get(Resources.pods, name, "default");
    assert.equal(cur.metadata?.deletionGracePeriodSeconds, GRACE, "Terminating");
    // Upstream's window: deletionTimestamp (which already includes the grace) plus the grace again.
    return { pod, windowEnd: Date.parse(String(cur.metadata?.deletionTimestamp)) + GRACE * 1000 };
  }

  /** Stands in for the kubelet coming back (or the pod being force-deleted). */
  const finish = (name: string) =>
    c.h.client.delete(Resources.pods, name, { namespace: "default", gracePeriodSeconds: 0 });

  it(`AC-76: with ${NOT_READY_SWITCH}=true the record is released after the grace window, without any CNI DEL`, async () => {
    const ctrl = testController(c.h, "ctrl-on", { [NOT_READY_SWITCH]: "true" });
    await ctrl.start();
    try {
      await eventually(() => ctrl.isLeader, 5000, "leader");
      const { pod, windowEnd } = await strand(ctrl, "stranded");
      await eventually(async () => (await poolRecords(c, "nr"))[pod.ip] === undefined, 10_000, "the record released");
      assert.ok(Date.now() >= windowEnd, "never inside the grace window");
      const still = await c.h.client.get(Resources.pods, "stranded", "default");
      assert.ok(still.metadata?.deletionTimestamp, "released while the pod is still Terminating: no DEL was involved");
      await finish("stranded");
      await eventually(async () => (await endpointNames(c)).length === 0, 5000, "the endpoint gone with its pod");
    } finally {
      await ctrl.stop();
    }
  });

  it(`AC-76 (negative): with ${NOT_READY_SWITCH}=false the record is kept past the window, by the trace and the scan`, async () => {
    const ctrl = testController(c.h, "ctrl-off", { [NOT_READY_SWITCH]: "false" });
    await ctrl.start();
    try {
      await eventually(() => ctrl.isLeader, 5000, "leader");
      const { pod, windowEnd } = await strand(ctrl, "kept");
      // Well past the window: the trace entry came due several ticks ago.
      await new Promise((r) => setTimeout(r, Math.max(0, windowEnd - Date.now()) + 1000));
      await ctrl.gc.scanAll();
      assert.deepEqual((await poolRecords(c, "nr"))[pod.ip], { pod: "default/kept", podUid: pod.uid }, "kept");
      // Deleted for good, the pod's addresses go whatever the node: the switch gates only Terminating pods.
      await finish("kept");
      await eventually(async () => (await poolRecords(c, "nr"))[pod.ip] === undefined, 5000, "released once deleted");
    } finally {
      await ctrl.stop();
    }
  });
});

describe("SPIDERPOOL_GC_IP_ENABLED=false", () => {
  it("nothing is reclaimed, not even by the scan a newly elected leader runs", async () => {
    const h = await startApiServer();
    const ctrl = testController(h, "ctrl-off", { SPIDERPOOL_GC_IP_ENABLED: "false" });
    try {
      await h.client.create(POOLS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderIPPool",
        metadata: { name: "off" },
        spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.11"] },
      });
      // A record whose pod is long gone, as a failed DEL leaves it.
      await writeRecord(h, "off", "192.0.2.10", "default/gone", "uid-gone");
      await ctrl.start();
      await eventually(() => ctrl.isLeader, 5000, "leader");
      await eventually(() => ctrl.pools.getByName("off") !== undefined, 5000, "pool seen");
      // The scan a new leader runs is this one: awaited, it has had its chance to reclaim.
      assert.equal((await ctrl.gc.scanAll()).released, 0);
      assert.deepEqual(records(await h.client.get<SpiderIPPool>(POOLS, "off")), {
        "192.0.2.10": { pod: "default/gone", podUid: "uid-gone" },
      });
    } finally {
      await ctrl.stop();
      await h.close();
    }
  });
});
