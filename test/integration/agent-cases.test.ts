// More acceptance cases of shared/spec/ipam-behavior.md §10 through the shim and the agent.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { ENDPOINTS, RESERVED } from "../../src/agent/cache.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { Resources } from "../../src/kube/index.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import { eventually } from "../support/apiserver.ts";
import { writeEndpoint, writeRecord } from "../support/controller.ts";
import pino from "pino";
import {
  cni,
  consistency,
  createPod,
  createPool,
  records,
  shimBuilt,
  startAgent,
  startCluster,
  type Cluster,
} from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";
const ipOf = (r: Awaited<ReturnType<typeof cni>>): string =>
  String((r.json?.["ips"] as Array<{ address: string }> | undefined)?.[0]?.address);

describe("agent acceptance cases", { skip }, () => {
  let c: Cluster;
  const socket = (node = 1): string => c.nodes[node - 1]?.socket as string;
  before(async () => {
    c = await startCluster({ nodes: 2 });
    await c.h.client.patchMerge(Resources.nodes, "node1", { metadata: { labels: { zone: "a" } } });
    await c.h.client.patchMerge(Resources.nodes, "node2", { metadata: { labels: { zone: "b" } } });
  });
  after(() => c.close());
  afterEach(async () => assert.deepEqual((await consistency(c.h)).problems, []));
  const pool = (name: string): Promise<SpiderIPPool> => c.h.client.get<SpiderIPPool>(POOLS, name);
  /**
   * A pod whose annotation names `annotated`, with the record and endpoint an earlier agent
   * process left for it (`ip` in pool `had`); its UID.
   */
  const recordedPod = async (name: string, node: string, annotated: string, had: string, ip: string) => {
    const p = await createPod(c.h, {
      name,
      node,
      annotations: { "ipam.spidernet.io/ippool": `{"ipv4":["${annotated}"]}` },
    });
    const uid = String(p.metadata?.uid);
    await writeRecord(c.h, had, ip, `default/${name}`, uid);
    await writeEndpoint(c.h, { name, uid, ip, pool: had });
    return uid;
  };
  /** The pod deleted and its DEL run: `from` holds no record after it. */
  const deleteAndRelease = async (name: string, uid: string, from: string, sock = socket()) => {
    await c.h.client.delete(Resources.pods, name, { namespace: "default" });
    await cni({ command: "DEL", socket: sock, pod: { name, uid } });
    assert.deepEqual(records(await pool(from)), {});
  };

  it("AC-02/AC-03: an excluded address is never handed out; clearing excludeIPs frees it", async () => {
    await createPool(c.h, "ex", { subnet: "192.0.2.0/24", ips: ["192.0.2.40-192.0.2.41"], excludeIPs: ["192.0.2.40"] });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["ex"]}' };
    await createPod(c.h, { name: "ex-1", node: "node1", annotations: ann });
    await createPod(c.h, { name: "ex-2", node: "node1", annotations: ann });
    assert.equal(ipOf(await cni({ command: "ADD", socket: socket(), pod: { name: "ex-1" } })), "192.0.2.41/24");
    const second = await cni({ command: "ADD", socket: socket(), pod: { name: "ex-2" } });
    assert.equal(second.code, 1);
    assert.match(String(second.json?.["msg"]), /^spiderpool IP allocation error/);
    await c.h.client.patchJson(POOLS, "ex", [{ op: "remove", path: "/spec/excludeIPs" }]);
    await eventually(
      () => c.nodes[0]?.agent.cache.pools.getByName("ex")?.spec.excludeIPs === undefined,
      3000,
      "cache sees the change",
    );
    assert.equal(ipOf(await cni({ command: "ADD", socket: socket(), pod: { name: "ex-2" } })), "192.0.2.40/24");
  });

  it("AC-33: one pool per node by nodeAffinity, all listed; each pod draws from its node's pool", async () => {
    await createPool(c.h, "zone-a", {
      subnet: "198.51.100.0/25",
      ips: ["198.51.100.10-198.51.100.20"],
      nodeAffinity: { matchLabels: { zone: "a" } },
    });
    await createPool(c.h, "zone-b", {
      subnet: "198.51.100.128/25",
      ips: ["198.51.100.130-198.51.100.140"],
      nodeAffinity: { matchLabels: { zone: "b" } },
    });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["zone-a","zone-b"]}' };
    await createPod(c.h, { name: "ds-1", node: "node1", annotations: ann });
    await createPod(c.h, { name: "ds-2", node: "node2", annotations: ann });
    assert.match(ipOf(await cni({ command: "ADD", socket: socket(1), pod: { name: "ds-1" } })), /^198\.51\.100\.1\d\//);
    assert.match(
      ipOf(await cni({ command: "ADD", socket: socket(2), pod: { name: "ds-2" } })),
      /^198\.51\.100\.13\d\//,
    );
  });

  it("AC-57: a reserved address is left with its pod, and not handed out again after release", async () => {
    await createPool(c.h, "rsv", { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.11"] });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["rsv"]}' };
    const p = await createPod(c.h, { name: "rsv-1", node: "node1", annotations: ann });
    assert.equal(ipOf(await cni({ command: "ADD", socket: socket(), pod: { name: "rsv-1" } })), "203.0.113.10/24");
    await c.h.client.create(RESERVED, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderReservedIP",
      metadata: { name: "keep-10" },
      spec: { ipVersion: 4, ips: ["203.0.113.10"] },
    });
    assert.equal(Object.keys(records(await pool("rsv"))).length, 1, "the allocation is untouched");
    await c.h.client.delete(Resources.pods, "rsv-1", { namespace: "default" });
    await cni({ command: "DEL", socket: socket(), pod: { name: "rsv-1", uid: String(p.metadata?.uid) } });
    await eventually(
      () => c.nodes[0]?.agent.cache.reserved.getByName("keep-10") !== undefined,
      3000,
      "cache sees the reservation",
    );
    await createPod(c.h, { name: "rsv-2", node: "node1", annotations: ann });
    assert.equal(ipOf(await cni({ command: "ADD", socket: socket(), pod: { name: "rsv-2" } })), "203.0.113.11/24");
  });

  it("AC-71: the same pod name in two namespaces; deleting one keeps the other's address", async () => {
    await createPool(c.h, "twins", { subnet: "192.0.2.0/24", ips: ["192.0.2.60-192.0.2.61"] });
    await c.h.client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns2" } });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["twins"]}' };
    const p1 = await createPod(c.h, { name: "same", node: "node1", annotations: ann });
    await createPod(c.h, { name: "same", namespace: "ns2", node: "node1", annotations: ann });
    await cni({ command: "ADD", socket: socket(), pod: { name: "same" } });
    await cni({ command: "ADD", socket: socket(), pod: { name: "same", namespace: "ns2" } });
    await c.h.client.delete(Resources.pods, "same", { namespace: "default" });
    await cni({ command: "DEL", socket: socket(), pod: { name: "same", uid: String(p1.metadata?.uid) } });
    assert.deepEqual(
      Object.values(records(await pool("twins"))).map((r) => r.pod),
      ["ns2/same"],
    );
  });

  it("AC-83: a DEL whose UID is not the endpoint's releases nothing", async () => {
    await createPool(c.h, "uid", { subnet: "192.0.2.0/24", ips: ["192.0.2.70"] });
    const p = await createPod(c.h, {
      name: "u-pod",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["uid"]}' },
    });
    await cni({ command: "ADD", socket: socket(), pod: { name: "u-pod" } });
    await c.h.client.delete(Resources.pods, "u-pod", { namespace: "default" });
    await cni({ command: "DEL", socket: socket(), pod: { name: "u-pod", uid: "some-other-uid" } });
    assert.equal(Object.keys(records(await pool("uid"))).length, 1);
    // The real UID releases it, as the runtime's DEL (or garbage collection) would.
    await cni({ command: "DEL", socket: socket(), pod: { name: "u-pod", uid: String(p.metadata?.uid) } });
    assert.deepEqual(records(await pool("uid")), {});
  });

  // The first ADD of a stateless pod creates its endpoint without reading it first; these
  // are the cases where one exists all the same.
  it("an ADD for a pod whose endpoint this agent never saw (agent restarted) returns the recorded address", async () => {
    await createPool(c.h, "known", { subnet: "192.0.2.0/24", ips: ["192.0.2.80-192.0.2.81"] });
    // What an earlier agent process recorded for this pod before a restart.
    const uid = await recordedPod("k-pod", "node1", "known", "known", "192.0.2.81");
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "k-pod" } });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(ipOf(r), "192.0.2.81/24");
    // The record the pod already had in this pool was found, not a second one drawn.
    assert.deepEqual(records(await pool("known")), { "192.0.2.81": { pod: "default/k-pod", podUid: uid } });
    const again = await cni({ command: "ADD", socket: socket(), pod: { name: "k-pod" } });
    assert.equal(ipOf(again), "192.0.2.81/24");
    assert.equal(Object.keys(records(await pool("known"))).length, 1);
    await deleteAndRelease("k-pod", uid, "known");
  });

  it("an endpoint found after drawing from another pool wins; the record drawn goes back", async () => {
    await createPool(c.h, "was", { subnet: "192.0.2.0/24", ips: ["192.0.2.100"] });
    await createPool(c.h, "now", { subnet: "198.51.100.0/24", ips: ["198.51.100.100"] });
    // Recorded by an earlier agent process when the pod's annotation named another pool.
    const uid = await recordedPod("m-pod", "node1", "now", "was", "192.0.2.100");
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "m-pod" } });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(ipOf(r), "192.0.2.100/24");
    assert.deepEqual(records(await pool("now")), {});
    assert.equal(Object.keys(records(await pool("was"))).length, 1);
    await deleteAndRelease("m-pod", uid, "was");
  });

  it("a first ADD that fails before it would have read the endpoint answers from the endpoint", async () => {
    await createPool(c.h, "had", { subnet: "192.0.2.0/24", ips: ["192.0.2.110"] });
    // Every address of the pool the annotation now names is excluded: drawing from it fails.
    await createPool(c.h, "none-left", { subnet: "192.0.2.0/24", ips: ["192.0.2.111"], excludeIPs: ["192.0.2.111"] });
    const uid = await recordedPod("f-pod", "node1", "none-left", "had", "192.0.2.110");
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "f-pod" } });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(ipOf(r), "192.0.2.110/24");
    assert.deepEqual(records(await pool("none-left")), {});
    await deleteAndRelease("f-pod", uid, "had");
  });

  it("after an agent (re)start, the pods already on its node read their endpoint before allocating", async () => {
    await c.h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node3", labels: { "kubernetes.io/hostname": "node3" } },
    });
    await createPool(c.h, "before", { subnet: "192.0.2.0/24", ips: ["192.0.2.120-192.0.2.121"] });
    // What the node's previous agent process recorded.
    const uid = await recordedPod("r-pod", "node3", "before", "before", "192.0.2.121");
    const lines: string[] = [];
    const { agent, socket: socket3 } = await startAgent(c.h, "node3", c.dir, {
      logger: pino({ level: "info" }, { write: (l: string) => void lines.push(l) }),
    });
    try {
      const r = await cni({ command: "ADD", socket: socket3, pod: { name: "r-pod" } });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(ipOf(r), "192.0.2.121/24");
      // Read first: no address drawn and given back, no refused create.
      assert.deepEqual(
        lines.filter((l) => l.includes("already has a SpiderEndpoint")),
        [],
      );
      assert.deepEqual(Object.keys(records(await pool("before"))), ["192.0.2.121"]);
      await deleteAndRelease("r-pod", uid, "before", socket3);
    } finally {
      await agent.stop();
    }
  });

  it("an ADD for a pod whose name still has a previous pod's endpoint replaces that endpoint", async () => {
    await createPool(c.h, "leftover", { subnet: "192.0.2.0/24", ips: ["192.0.2.90"] });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["leftover"]}' };
    // The previous pod's addresses were reclaimed; its endpoint is not gone yet.
    await writeEndpoint(c.h, { name: "l-pod", uid: "previous-pod-uid", ip: "192.0.2.90", pool: "leftover" });
    const p = await createPod(c.h, { name: "l-pod", node: "node1", annotations: ann });
    const uid = String(p.metadata?.uid);
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "l-pod" } });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(ipOf(r), "192.0.2.90/24");
    assert.deepEqual(records(await pool("leftover")), { "192.0.2.90": { pod: "default/l-pod", podUid: uid } });
    const ep = await c.h.client.get<SpiderEndpoint>(ENDPOINTS, "l-pod", "default");
    assert.equal(ep.status?.current.uid, uid);
    assert.equal(ep.metadata.ownerReferences?.[0]?.uid, uid);
    await deleteAndRelease("l-pod", uid, "leftover");
  });

  it("AC-99: a subnet annotation on a pod without a controller is refused", async () => {
    await createPod(c.h, {
      name: "bare",
      node: "node1",
      annotations: { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}' },
    });
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "bare" } });
    assert.equal(r.code, 1);
    assert.match(String(r.json?.["msg"]), /SpiderSubnet feature doesn't support no-controller pod/);
  });
  it("CNI GC releases the addresses of this node's pods that are gone, and only those", async () => {
    await createPool(c.h, "gc", { subnet: "192.0.2.0/24", ips: ["192.0.2.60-192.0.2.69"] });
    const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["gc"]}' };
    for (const [name, node] of [
      ["gc-live", "node1"],
      ["gc-gone", "node1"],
      ["gc-other", "node2"],
    ] as const) {
      await createPod(c.h, { name, node, annotations: ann });
      const r = await cni({ command: "ADD", socket: socket(node === "node1" ? 1 : 2), pod: { name } });
      assert.equal(r.code, 0, r.stdout);
    }
    // Both node1's gone pod and node2's pod are deleted without a CNI DEL; GC runs on node1.
    await c.h.client.delete(Resources.pods, "gc-gone", { namespace: "default", gracePeriodSeconds: 0 });
    await c.h.client.delete(Resources.pods, "gc-other", { namespace: "default", gracePeriodSeconds: 0 });
    const gc = await cni({
      command: "GC",
      socket: socket(1),
      pod: { name: "" },
      netconf: {},
      cniVersion: "1.1.0",
    });
    assert.equal(gc.code, 0, gc.stdout);
    const held = new Set(Object.values(records(await pool("gc"))).map((r) => r.pod));
    assert.deepEqual([...held].sort(), ["default/gc-live", "default/gc-other"]);
    // node2's endpoint is left to node2's GC (or the controller's).
    const ep = (name: string) =>
      c.h.client.get(ENDPOINTS, name, "default").then(
        () => true,
        () => false,
      );
    assert.equal(await ep("gc-gone"), false);
    assert.equal(await ep("gc-other"), true);
    assert.equal(await ep("gc-live"), true);
    await c.h.client.delete(Resources.pods, "gc-live", { namespace: "default", gracePeriodSeconds: 0 });
    assert.equal((await cni({ command: "GC", socket: socket(1), pod: { name: "" }, cniVersion: "1.1.0" })).code, 0);
    assert.equal((await cni({ command: "GC", socket: socket(2), pod: { name: "" }, cniVersion: "1.1.0" })).code, 0);
    assert.deepEqual(records(await pool("gc")), {});
  });
});
