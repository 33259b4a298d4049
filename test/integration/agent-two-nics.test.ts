// Two NICs of one pod drawing from the same pool get distinct addresses (issue 16; upstream
// hands both the same one, see docs/compatibility.md), through the shim and the real pool
// writer; the consistency check holds and DEL gives both back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import {
  cni,
  consistency,
  createPod,
  createPool,
  records,
  shimBuilt,
  startCluster,
  type Cluster,
} from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

describe("two NICs from one pool", { skip }, () => {
  let c: Cluster;
  let socket: string;
  before(async () => {
    c = await startCluster({ nodes: 1 });
    socket = c.nodes[0]?.socket as string;
    await createPool(c.h, "shared", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"] });
  });
  after(() => c.close());

  it("each NIC gets its own address; a repeated ADD answers the same; DEL releases both", async () => {
    const pod = await createPod(c.h, {
      name: "twins",
      node: "node1",
      annotations: {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["shared"]},{"interface":"net1","ipv4":["shared"]}]',
      },
    });
    const eth0 = await cni({ command: "ADD", socket, pod: { name: "twins" }, ifName: "eth0" });
    assert.equal(eth0.code, 0, eth0.stdout);
    const net1 = await cni({ command: "ADD", socket, pod: { name: "twins" }, ifName: "net1" });
    assert.equal(net1.code, 0, net1.stdout);
    const a = (eth0.json?.["ips"] as Array<{ address: string }>)[0]?.address;
    const b = (net1.json?.["ips"] as Array<{ address: string }>)[0]?.address;
    assert.notEqual(a, b, "distinct addresses");
    const ep = await c.h.client.get<SpiderEndpoint>(ENDPOINTS, "twins", "default");
    assert.deepEqual(
      ep.status?.current.ips.map((i) => [i.interface, i.ipv4]),
      [
        ["eth0", a],
        ["net1", b],
      ],
    );
    assert.equal(Object.keys(records(await c.h.client.get<SpiderIPPool>(POOLS, "shared"))).length, 2);
    const again = await cni({ command: "ADD", socket, pod: { name: "twins" }, ifName: "net1" });
    assert.equal((again.json?.["ips"] as Array<{ address: string }>)[0]?.address, b);
    assert.deepEqual((await consistency(c.h)).problems, []);
    await c.h.client.delete(Resources.pods, "twins", { namespace: "default", gracePeriodSeconds: 0 });
    const uid = String(pod.metadata?.uid);
    const del = await cni({ command: "DEL", socket, pod: { name: "twins", uid }, ifName: "eth0" });
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(records(await c.h.client.get<SpiderIPPool>(POOLS, "shared")), {});
  });
});
