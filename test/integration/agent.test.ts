// spiderpool-agent end to end through the real shim, against the embedded API server:
// allocation and release for the spec's rules. Test names carry acceptance-case IDs.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { isNotFound, Resources, type KubeObject } from "../../src/kube/index.ts";
import { eventually } from "../support/apiserver.ts";
import {
  cni,
  consistency,
  createPod,
  createPool,
  records,
  shimBuilt,
  startCluster,
  createStatefulSet,
  type Cluster,
} from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

describe("spiderpool-agent through the shim", { skip }, () => {
  let c: Cluster;
  let socket: string;
  before(async () => {
    c = await startCluster({ nodes: 1 });
    socket = c.nodes[0]?.socket as string;
    await createPool(c.h, "v4", {
      subnet: "192.0.2.0/24",
      ips: ["192.0.2.10-192.0.2.20"],
      gateway: "192.0.2.1",
      default: true,
      routes: [{ dst: "203.0.113.0/24", gw: "192.0.2.254" }],
    });
    await createPool(c.h, "v6", {
      subnet: "2001:db8::/64",
      ips: ["2001:db8::10-2001:db8::20"],
      gateway: "2001:db8::1",
      default: true,
    });
    await createPool(c.h, "net1-pool", {
      subnet: "198.51.100.0/24",
      ips: ["198.51.100.10-198.51.100.12"],
      gateway: "198.51.100.1",
    });
    await createPool(c.h, "tiny", { subnet: "203.0.113.0/24", ips: ["203.0.113.50"] });
  });
  after(() => c.close());
  afterEach(async () => {
    const report = await consistency(c.h);
    assert.deepEqual(report.problems, [], "consistency check after the test");
  });

  const pool = (name: string): Promise<SpiderIPPool> => c.h.client.get<SpiderIPPool>(POOLS, name);
  const endpoint = (name: string, ns = "default"): Promise<SpiderEndpoint> =>
    c.h.client.get<SpiderEndpoint>(ENDPOINTS, name, ns);

  it("AC-01: dual stack from the cluster default pools; records, endpoint, result", async () => {
    const pod = await createPod(c.h, { name: "web-1", node: "node1" });
    const r = await cni({ command: "ADD", socket, pod: { name: "web-1" } });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json, {
      cniVersion: "1.0.0",
      ips: [
        { address: "192.0.2.10/24", gateway: "192.0.2.1" },
        { address: "2001:db8::10/64", gateway: "2001:db8::1" },
      ],
      routes: [
        { dst: "0.0.0.0/0", gw: "192.0.2.1" },
        { dst: "203.0.113.0/24", gw: "192.0.2.254" },
        { dst: "::/0", gw: "2001:db8::1" },
      ],
      dns: {},
    });
    assert.deepEqual(records(await pool("v4"))["192.0.2.10"], { pod: "default/web-1", podUid: pod.metadata?.uid });
    const ep = await endpoint("web-1");
    assert.deepEqual(ep.metadata.finalizers, ["spiderpool.spidernet.io"]);
    assert.equal(ep.metadata.ownerReferences?.[0]?.kind, "Pod");
    assert.equal(ep.status?.current.uid, pod.metadata?.uid);
    assert.equal(ep.status?.ownerControllerType, "Pod");
    assert.equal((await pool("v4")).status?.allocatedIPCount, 1);
  });

  it("AC-28: a second ADD of the same pod returns the same addresses and adds no record", async () => {
    const r = await cni({ command: "ADD", socket, pod: { name: "web-1" }, cniVersion: "0.4.0" });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(
      (r.json?.["ips"] as Array<{ address: string; version: string }>).map((i) => [i.version, i.address]),
      [
        ["4", "192.0.2.10/24"],
        ["6", "2001:db8::10/64"],
      ],
    );
    assert.equal((await pool("v4")).status?.allocatedIPCount, 1);
  });

  it("AC-81/AC-82: DEL of a live pod releases nothing; after the pod is gone DEL releases, twice is fine", async () => {
    const uid = String((await c.h.client.get(Resources.pods, "web-1", "default")).metadata?.uid);
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "web-1", uid } })).code, 0);
    assert.equal((await pool("v4")).status?.allocatedIPCount, 1);
    await c.h.client.delete(Resources.pods, "web-1", { namespace: "default" });
    // The runtime passes K8S_POD_UID; without it (pod gone) upstream leaves the release to GC.
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "web-1" } })).code, 0);
    assert.equal((await pool("v4")).status?.allocatedIPCount, 1);
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "web-1", uid } })).code, 0);
    assert.equal((await pool("v4")).status?.allocatedIPCount ?? 0, 0);
    assert.equal((await pool("v6")).status?.allocatedIPCount ?? 0, 0);
    await eventually(
      async () => {
        try {
          await endpoint("web-1");
          return false;
        } catch (err) {
          return isNotFound(err);
        }
      },
      3000,
      "endpoint gone",
    );
    assert.equal((await cni({ command: "DEL", socket, pod: { name: "web-1", uid } })).code, 0);
  });

  it("AC-04: an ippool annotation with only IPv4 gives one address", async () => {
    await createPod(c.h, {
      name: "v4-only",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["v4"]}' },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "v4-only" } });
    assert.deepEqual((r.json?.["ips"] as unknown[]).length, 1);
  });

  it("AC-17: named multi-NIC ippools; the first ADD allocates both NICs, the second returns net1's", async () => {
    await createPod(c.h, {
      name: "multi",
      node: "node1",
      annotations: {
        "ipam.spidernet.io/ippools":
          '[{"interface":"eth0","ipv4":["v4"]},{"interface":"net1","ipv4":["net1-pool"],"cleangateway":true}]',
      },
    });
    const eth0 = await cni({ command: "ADD", socket, pod: { name: "multi" }, ifName: "eth0" });
    assert.equal(eth0.code, 0, eth0.stdout);
    const ep = await endpoint("multi");
    assert.deepEqual(
      ep.status?.current.ips.map((i) => [i.interface, i.ipv4Pool]),
      [
        ["eth0", "v4"],
        ["net1", "net1-pool"],
      ],
    );
    const net1 = await cni({ command: "ADD", socket, pod: { name: "multi" }, ifName: "net1" });
    assert.deepEqual(net1.json?.["ips"], [{ address: "198.51.100.10/24", gateway: "198.51.100.1" }]);
    assert.deepEqual(net1.json?.["routes"], [], "cleangateway: no default route on net1");
  });

  it("AC-18: unnamed ippools; first ADD allocates both, items eth0 and '', the second ADD names net1", async () => {
    await createPod(c.h, {
      name: "noname",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippools": '[{"ipv4":["v4"]},{"ipv4":["net1-pool"]}]' },
    });
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "noname" }, ifName: "eth0" })).code, 0);
    assert.deepEqual(
      (await endpoint("noname")).status?.current.ips.map((i) => i.interface),
      ["eth0", ""],
    );
    const net1 = await cni({ command: "ADD", socket, pod: { name: "noname" }, ifName: "net1" });
    assert.equal(net1.code, 0, net1.stdout);
    assert.deepEqual(
      (await endpoint("noname")).status?.current.ips.map((i) => i.interface),
      ["eth0", "net1"],
    );
    assert.deepEqual(
      (net1.json?.["ips"] as Array<{ address: string }>).map((i) => i.address),
      ["198.51.100.11/24"],
    );
  });

  it("AC-19/AC-23: exhaustion is a CNI error with the spec's message, and counts do not grow on retry", async () => {
    await createPod(c.h, {
      name: "first",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["tiny"]}' },
    });
    await createPod(c.h, {
      name: "second",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["tiny"]}' },
    });
    assert.equal((await cni({ command: "ADD", socket, pod: { name: "first" } })).code, 0);
    for (let i = 0; i < 2; i++) {
      const r = await cni({ command: "ADD", socket, pod: { name: "second" } });
      assert.equal(r.code, 1);
      assert.equal(r.json?.["code"], 999);
      assert.equal(
        r.json?.["msg"],
        "spiderpool IP allocation error: [POST /ipam/ip][500] postIpamIpFailure  failed to allocate IP addresses in standard mode: failed to allocate any IPv4 IP address to NIC eth0 from IPPools [tiny]: all IP addresses used out",
      );
      assert.equal((await pool("tiny")).status?.allocatedIPCount, 1);
    }
  });

  it("AC-22: a used-out pool falls back to the next one named", async () => {
    // "tiny" is full since the test above.
    await createPod(c.h, {
      name: "fallback",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["tiny","v4"]}' },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "fallback" } });
    assert.equal(r.code, 0, r.stdout);
    const ip = (r.json?.["ips"] as Array<{ address: string }>)[0]?.address.replace(/\/\d+$/, "") ?? "";
    assert.equal(JSON.parse((await pool("v4")).status?.allocatedIPs ?? "{}")[ip]?.pod, "default/fallback");
    assert.equal((await pool("tiny")).status?.allocatedIPCount, 1);
  });

  it("AC-11: a pool named in the annotation that does not exist fails the ADD", async () => {
    await createPod(c.h, {
      name: "ghost",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["nope"]}' },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "ghost" } });
    assert.equal(r.code, 1);
    assert.match(String(r.json?.["msg"]), /failed to get original IPPool nope/);
  });

  it("AC-58: a StatefulSet pod re-created keeps its address; records and endpoint follow the new UID", async () => {
    const owner = await createStatefulSet(c.h, "db", { replicas: 2 });
    const first = await createPod(c.h, {
      name: "db-0",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["v4"]}' },
    });
    const a = await cni({ command: "ADD", socket, pod: { name: "db-0" } });
    const ip = (a.json?.["ips"] as Array<{ address: string }>)[0]?.address;
    assert.equal(
      (await endpoint("db-0")).metadata.ownerReferences,
      undefined,
      "no ownerRef: the endpoint outlives the pod",
    );
    await c.h.client.delete(Resources.pods, "db-0", { namespace: "default" });
    assert.equal(
      (await cni({ command: "DEL", socket, pod: { name: "db-0", uid: String(first.metadata?.uid) } })).code,
      0,
    );
    const second = await createPod(c.h, {
      name: "db-0",
      node: "node1",
      owner,
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["v4"]}' },
    });
    const b = await cni({ command: "ADD", socket, pod: { name: "db-0" } });
    assert.equal((b.json?.["ips"] as Array<{ address: string }>)[0]?.address, ip);
    assert.equal(records(await pool("v4"))[String(ip).split("/")[0] as string]?.podUid, second.metadata?.uid);
    assert.equal((await endpoint("db-0")).status?.current.uid, second.metadata?.uid);
  });

  it("AC-111: pod routes attach to the NIC whose subnet holds the gateway", async () => {
    await createPod(c.h, {
      name: "routed",
      node: "node1",
      annotations: {
        "ipam.spidernet.io/ippool": '{"ipv4":["v4"]}',
        "ipam.spidernet.io/routes":
          '[{"dst":"198.51.100.0/24","gw":"192.0.2.1"},{"dst":"10.9.0.0/16","gw":"203.0.113.1"}]',
      },
    });
    const r = await cni({ command: "ADD", socket, pod: { name: "routed" } });
    assert.deepEqual(r.json?.["routes"], [
      { dst: "0.0.0.0/0", gw: "192.0.2.1" },
      { dst: "203.0.113.0/24", gw: "192.0.2.254" },
      { dst: "198.51.100.0/24", gw: "192.0.2.1" },
    ]);
  });

  it("a dead pod gets nothing; CHECK succeeds; a coordinator call says it is not available", async () => {
    const p = await createPod(c.h, { name: "done", node: "node1" });
    await c.h.client.updateStatus(Resources.pods, { ...p, status: { phase: "Failed" } } as KubeObject);
    await c.h.client.patchMerge(Resources.pods, "done", { spec: { restartPolicy: "Never" } }, { namespace: "default" });
    const r = await cni({ command: "ADD", socket, pod: { name: "done" } });
    assert.match(String(r.json?.["msg"]), /dead Pod default\/done, we cannot allocate IP addresees to it/);
    assert.equal((await cni({ command: "CHECK", socket, pod: { name: "done" } })).code, 0);
  });
});
