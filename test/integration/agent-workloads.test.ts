// spiderpool-agent: StatefulSet pool changes, KubeVirt fixed addresses, the JSON API,
// coordinator configuration and metrics. Test names carry acceptance-case IDs.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { Resources, resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { SpiderCoordinatorKind } from "../../src/api/coordinator.ts";
import { KUBEVIRT_CRDS, VirtualMachineInstances, VirtualMachines } from "../support/kubevirt.ts";
import { KRUISE_STATEFULSET_CRD, KruiseStatefulSets } from "../support/kruise.ts";
import {
  cni,
  consistency,
  controllerRef,
  createPod,
  createPool,
  records,
  shimBuilt,
  startCluster,
  createStatefulSet,
  type Cluster,
} from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

function socketCall(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? "" : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("agent: workloads, API, metrics", { skip }, () => {
  let c: Cluster;
  let socket: string;
  before(async () => {
    c = await startCluster({ nodes: 1 });
    socket = c.nodes[0]?.socket as string;
    for (const crd of KUBEVIRT_CRDS) await c.h.client.create(Resources.customresourcedefinitions, crd);
    await createPool(c.h, "pool-a", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.19"], gateway: "192.0.2.1" });
    await createPool(c.h, "pool-b", {
      subnet: "198.51.100.0/24",
      ips: ["198.51.100.10-198.51.100.19"],
      gateway: "198.51.100.1",
    });
  });
  after(() => c.close());
  afterEach(async () => assert.deepEqual((await consistency(c.h)).problems, []));

  const ep = (name: string): Promise<SpiderEndpoint> => c.h.client.get<SpiderEndpoint>(ENDPOINTS, name, "default");
  const ipOf = (r: Awaited<ReturnType<typeof cni>>): string =>
    String((r.json?.["ips"] as Array<{ address: string }>)[0]?.address);

  it("AC-63: a StatefulSet pod whose net1 moves to another pool keeps eth0's address recorded (never handed out twice)", async () => {
    await createPool(c.h, "pool-c", { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.19"] });
    const owner = await createStatefulSet(c.h, "db");
    const nics = (net1Pool: string): Record<string, string> => ({
      "ipam.spidernet.io/ippools": `[{"interface":"eth0","ipv4":["pool-a"]},{"interface":"net1","ipv4":["${net1Pool}"]}]`,
    });
    // A filler holds the lowest address while db-0 is first allocated, then leaves, so
    // eth0's address is not the one a fresh allocation would pick.
    const filler = await createPod(c.h, {
      name: "filler",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "filler" } })).code, 0);
    const first = await createPod(c.h, { name: "db-0", node: "node1", owner, annotations: nics("pool-b") });
    const eth0 = await cni({ command: "ADD", socket, pod: { name: "db-0" }, ifName: "eth0" });
    assert.equal(eth0.code, 0, eth0.stdout);
    const eth0Ip = ipOf(eth0).split("/")[0] as string;
    await c.h.client.delete(Resources.pods, "filler", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "filler", uid: String(filler.metadata?.uid) } });
    await c.h.client.delete(Resources.pods, "db-0", { namespace: "default" });
    const second = await createPod(c.h, { name: "db-0", node: "node1", owner, annotations: nics("pool-c") });
    assert.notEqual(second.metadata?.uid, first.metadata?.uid);
    // The kubelet's ADDs for the new pod: eth0 reuses, net1 finds its pool changed.
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "db-0" }, ifName: "eth0" })).code, 0);
    const net1 = await cni({ command: "ADD", socket, pod: { name: "db-0" }, ifName: "net1" });
    assert.equal(net1.code, 0, net1.stdout);
    assert.match(ipOf(net1), /^203\.0\.113\./);
    const a = records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-a"));
    assert.equal(a[eth0Ip]?.podUid, second.metadata?.uid, "eth0's record stays, now for the new pod");
    assert.deepEqual(
      Object.values(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-b"))).filter(
        (r) => r.pod === "default/db-0",
      ),
      [],
      "net1's old address went back",
    );
    const e = await ep("db-0");
    assert.deepEqual(
      e.status?.current.ips.map((i) => [i.interface, i.ipv4Pool]),
      [
        ["eth0", "pool-a"],
        ["net1", "pool-c"],
      ],
    );
    assert.equal(e.status?.current.uid, second.metadata?.uid);
    // Another pod on pool-a never gets eth0's address.
    const other = await createPod(c.h, {
      name: "other",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    const o = await cni({ command: "ADD", socket, pod: { name: "other" } });
    assert.notEqual(ipOf(o).split("/")[0], eth0Ip);
    await c.h.client.delete(Resources.pods, "other", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "other", uid: String(other.metadata?.uid) } });
    await c.h.client.patchMerge(Resources.statefulsets, "db", { spec: { replicas: 0 } }, { namespace: "default" });
    await c.h.client.delete(Resources.pods, "db-0", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "db-0", uid: String(second.metadata?.uid) } });
  });

  it("a failing family writes nothing: a missing IPv6 pool leaves no IPv4 record behind", async () => {
    await createPod(c.h, {
      name: "half",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"],"ipv6":["missing-v6"]}' },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "half" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /missing-v6/);
    const left = Object.values(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-a"))).filter(
      (x) => x.pod === "default/half",
    );
    assert.deepEqual(left, [], "no record for the failed pod");
    await c.h.client.delete(Resources.pods, "half", { namespace: "default" });
  });

  it("a pool whose records are corrupt fails its ADDs and leaves the agent serving other pools", async () => {
    await createPool(c.h, "pool-bad", { subnet: "203.0.113.0/24", ips: ["203.0.113.100-203.0.113.101"] });
    const bad = await c.h.client.get<SpiderIPPool>(POOLS, "pool-bad");
    await c.h.client.updateStatus(POOLS, { ...bad, status: { allocatedIPs: "{not json", allocatedIPCount: 1 } });
    await createPod(c.h, {
      name: "victim",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-bad"]}' },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "victim" } });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /IPPool pool-bad cannot be read/);
    const healthy = await createPod(c.h, {
      name: "bystander",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-b"]}' },
    });
    const ok = await cni({ command: "ADD", socket, pod: { name: "bystander" } });
    assert.equal(ok.code, 0, ok.stdout);
    await c.h.client.delete(Resources.pods, "bystander", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "bystander", uid: String(healthy.metadata?.uid) } });
    await c.h.client.delete(Resources.pods, "victim", { namespace: "default" });
    await c.h.client.delete(POOLS, "pool-bad");
  });

  it("AC-59: a StatefulSet whose template moves to another pool gets an address from it; the old record is released", async () => {
    const owner = await createStatefulSet(c.h, "web");
    const first = await createPod(c.h, {
      name: "web-0",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    const a = await cni({ command: "ADD", socket, pod: { name: "web-0" } });
    assert.match(ipOf(a), /^192\.0\.2\./);
    await c.h.client.delete(Resources.pods, "web-0", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "web-0", uid: String(first.metadata?.uid) } });
    const second = await createPod(c.h, {
      name: "web-0",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-b"]}' },
    });
    const b = await cni({ command: "ADD", socket, pod: { name: "web-0" } });
    assert.equal(b.code, 0, b.stdout);
    assert.match(ipOf(b), /^198\.51\.100\./);
    assert.deepEqual(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-a")), {});
    assert.equal((await ep("web-0")).status?.current.uid, second.metadata?.uid);
  });

  it("AC-61: a StatefulSet scaled below a pod's ordinal releases that pod's address on DEL", async () => {
    const owner = await createStatefulSet(c.h, "x", { replicas: 2, ordinals: { start: 2 } });
    const pod = await createPod(c.h, {
      name: "x-3",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "x-3" } })).code, 0);
    await c.h.client.patchMerge(Resources.statefulsets, "x", { spec: { replicas: 1 } }, { namespace: "default" });
    await c.h.client.delete(Resources.pods, "x-3", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "x-3", uid: String(pod.metadata?.uid) } });
    assert.equal(
      Object.values(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-a"))).filter((r) => r.pod === "default/x-3")
        .length,
      0,
    );
  });

  it("an OpenKruise Advanced StatefulSet's pod is stateless on DEL, though an apps/v1 StatefulSet of its name wants it", async () => {
    // The endpoint records only the kind ("StatefulSet", as upstream's); the pod's owner names the group.
    await c.h.client.create(Resources.customresourcedefinitions, KRUISE_STATEFULSET_CRD);
    const spec = { replicas: 1 };
    await c.h.client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "k", namespace: "default" },
      spec,
    });
    const kruise = await c.h.client.create<KubeObject>(KruiseStatefulSets, {
      apiVersion: "apps.kruise.io/v1beta1",
      kind: "StatefulSet",
      metadata: { name: "k", namespace: "default" },
      spec,
    });
    const pod = await createPod(c.h, {
      name: "k-0",
      node: "node1",
      owner: controllerRef(kruise),
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "k-0" } })).code, 0);
    assert.equal((await ep("k-0")).status?.ownerControllerType, "StatefulSet");
    // Evicted: no longer alive, still there, so its owner is read from the pod.
    await c.h.client.patchMerge(
      Resources.pods,
      "k-0",
      { status: { phase: "Failed", reason: "Evicted" } },
      { namespace: "default", subresource: "status" },
    );
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "k-0", uid: String(pod.metadata?.uid) } })).code, 0);
    assert.deepEqual(
      Object.values(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-a"))).filter(
        (r) => r.pod === "default/k-0",
      ),
      [],
    );
    await c.h.client.delete(Resources.pods, "k-0", { namespace: "default" });
  });

  it("AC-66/AC-68: a KubeVirt VM keeps its address across virt-launcher pods; the endpoint is named after the VMI", async () => {
    const vm: KubeObject = await c.h.client.create(VirtualMachines, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm1", namespace: "default" },
      spec: {},
    });
    const vmi: KubeObject = await c.h.client.create(VirtualMachineInstances, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: {
        name: "vm1",
        namespace: "default",
        ownerReferences: [
          {
            apiVersion: "kubevirt.io/v1",
            kind: "VirtualMachine",
            name: "vm1",
            uid: vm.metadata?.uid,
            controller: true,
          },
        ],
      },
      spec: {},
    });
    const owner = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      name: "vm1",
      uid: String(vmi.metadata?.uid),
      controller: true,
    };
    const p1 = await createPod(c.h, {
      name: "virt-launcher-vm1-abcde",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-b"]}' },
    });
    const a = await cni({ command: "ADD", socket, pod: { name: "virt-launcher-vm1-abcde" } });
    assert.equal(a.code, 0, a.stdout);
    assert.equal((await ep("vm1")).status?.ownerControllerType, "VirtualMachineInstance");
    const rec = Object.entries(records(await c.h.client.get<SpiderIPPool>(POOLS, "pool-b"))).find(
      ([, r]) => r.pod === "default/vm1",
    );
    assert.ok(rec, "the record names the VMI");
    await c.h.client.delete(Resources.pods, "virt-launcher-vm1-abcde", { namespace: "default" });
    await cni({ command: "DEL", socket, pod: { name: "virt-launcher-vm1-abcde", uid: String(p1.metadata?.uid) } });
    const p2 = await createPod(c.h, {
      name: "virt-launcher-vm1-fghij",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-b"]}' },
    });
    const b = await cni({ command: "ADD", socket, pod: { name: "virt-launcher-vm1-fghij" } });
    assert.equal(ipOf(b), ipOf(a));
    assert.equal((await ep("vm1")).status?.current.uid, p2.metadata?.uid);
  });

  it("upstream's JSON API: POST and DELETE /v1/ipam/ip, GET /v1/workloadendpoint", async () => {
    const pod = await createPod(c.h, {
      name: "api-pod",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["pool-a"]}' },
    });
    const add = await socketCall(socket, "POST", "/v1/ipam/ip", {
      containerID: "c1",
      ifName: "eth0",
      netNamespace: "/x",
      podNamespace: "default",
      podName: "api-pod",
      podUID: pod.metadata?.uid,
    });
    assert.equal(add.status, 200, add.body);
    const r = JSON.parse(add.body) as {
      ips: Array<{ version: number; nic: string; ipPool: string }>;
      routes: Array<{ ifName: string }>;
    };
    assert.deepEqual([r.ips[0]?.version, r.ips[0]?.nic, r.ips[0]?.ipPool], [4, "eth0", "pool-a"]);
    assert.equal(r.routes[0]?.ifName, "eth0");
    const wep = await socketCall(socket, "GET", "/v1/workloadendpoint?podNamespace=default&podName=api-pod");
    assert.equal(JSON.parse(wep.body).podUID, pod.metadata?.uid);
    assert.equal((await socketCall(socket, "GET", "/v1/ipam/healthy")).status, 200);
    assert.equal((await socketCall(socket, "POST", "/v1/ipam/ip", { ifName: "eth0" })).status, 500);
    await c.h.client.delete(Resources.pods, "api-pod", { namespace: "default" });
    assert.equal(
      (
        await socketCall(socket, "DELETE", "/v1/ipam/ip", {
          containerID: "c1",
          ifName: "eth0",
          podNamespace: "default",
          podName: "api-pod",
          podUID: pod.metadata?.uid,
        })
      ).status,
      200,
    );
  });

  it("AC-113: coordinator config needs a Synced SpiderCoordinator; default-route-nic overrides its NIC", async () => {
    await createPod(c.h, {
      name: "coord",
      node: "node1",
      annotations: { "ipam.spidernet.io/default-route-nic": "net1" },
    });
    assert.equal(
      (await socketCall(socket, "GET", "/v1/coordinator/config", { podName: "coord", podNamespace: "default" })).status,
      500,
    );
    const SCC = resourceTypeOf(SpiderCoordinatorKind);
    const scc: KubeObject = await c.h.client.create(SCC, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { podCIDRType: "none", podDefaultRouteNIC: "eth0" },
    });
    await c.h.client.updateStatus(SCC, {
      ...scc,
      status: { phase: "Synced", overlayPodCIDR: [], serviceCIDR: ["203.0.113.0/24"] },
    });
    const r = await socketCall(socket, "GET", "/v1/coordinator/config", { podName: "coord", podNamespace: "default" });
    assert.equal(r.status, 200, r.body);
    const cfg = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(cfg["podDefaultRouteNIC"], "net1");
    assert.equal(cfg["mode"], "auto");
    assert.deepEqual(cfg["serviceCIDR"], ["203.0.113.0/24"]);
  });

  it("metrics and probes: the documented names count what happened", async () => {
    const agent = c.nodes[0]?.agent;
    assert.ok(agent);
    const m = await httpGet(agent.ports.metrics, "/metrics");
    assert.equal(m.status, 200);
    assert.match(m.body, /^spiderpool_ipam_allocation_counts_total\{[^}]*\} [1-9]\d*$/m);
    assert.match(m.body, /^spiderpool_ipam_release_counts_total\{[^}]*\} [1-9]\d*$/m);
    assert.match(m.body, /^spiderpool_ipam_allocation_duration_seconds_bucket\{/m);
    assert.match(m.body, /^spiderpool_ts_pool_write_batch_size_count\{/m);
    assert.equal((await httpGet(agent.ports.health, "/v1/runtime/readiness")).status, 200);
    assert.equal((await httpGet(agent.ports.health, "/v1/runtime/liveness")).status, 200);
  });
});
