// The `ipvlan` cniType end to end, in the kernel lab's guest (this machine's kernel has no
// ipvlan): Debian's ipvlan plugin, L2 mode, with `"ipam": {"type": "spiderpool"}` through our
// shim to an agent on the embedded API server. The pools are the ones VMware and public-cloud
// users write: one per node's subnet, chosen by node, all listed in the netconf.
// ipvlan links share their master's MAC, so coordinator's podMACPrefix does not apply to them.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { findPlugin, NetLab, runPlugin } from "../../src/cli/netlab.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { createPod, createPool, records, SHIM, startCluster, type Cluster } from "../support/cluster.ts";
import { IN_GUEST, linkDetails, sh } from "../support/kernel.ts";

describe("ipvlan + spiderpool IPAM in the guest", () => {
  let c: Cluster;
  let lab: NetLab;
  const node = (): string => `${lab.prefix}-node`;
  const ipvlan = findPlugin("ipvlan") as string;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel has no ipvlan)");
    assert.ok(ipvlan !== undefined, "Debian's ipvlan plugin (containernetworking-plugins)");
    c = await startCluster({ nodes: 1 });
    lab = new NetLab("spt-kl-iv");
    await lab.addNode(node());
    // One pool per node's subnet: node1's is 192.0.2.0/24, another node's 198.51.100.0/24.
    await createPool(c.h, "kl-node-a", {
      subnet: "192.0.2.0/24",
      ips: ["192.0.2.40-192.0.2.41"],
      gateway: "192.0.2.1",
      nodeName: ["node1"],
    });
    await createPool(c.h, "kl-node-b", {
      subnet: "198.51.100.0/24",
      ips: ["198.51.100.40-198.51.100.41"],
      gateway: "198.51.100.1",
      nodeName: ["node2"],
    });
  });
  after(async () => {
    const left = await lab?.cleanup();
    await c?.close();
    assert.deepEqual(left, []);
  });

  function call(command: "ADD" | "DEL", pod: KubeObject, netns: string) {
    return runPlugin({
      plugin: ipvlan,
      command,
      netconf: {
        cniVersion: "1.0.0",
        name: "kl-ipvlan",
        type: "ipvlan",
        master: "eth-m",
        mtu: 0,
        ipam: {
          type: "spiderpool",
          ipam_unix_socket_path: c.nodes[0]?.socket,
          default_ipv4_ippool: ["kl-node-a", "kl-node-b"],
        },
      },
      containerID: `kl-${pod.metadata?.name}`,
      netns: lab.nsPath(netns),
      ifName: "eth0",
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.metadata?.name};K8S_POD_UID=${pod.metadata?.uid}`,
      cniPath: dirname(SHIM),
      inNamespace: node(),
    });
  }

  it("a pod gets an L2 ipvlan on the master with an address from its node's pool (one pool per node); DEL removes link and record", async () => {
    const pod = await createPod(c.h, { name: "kl-iv-a", node: "node1" });
    const ns = `${lab.prefix}-a`;
    await lab.addNamespace(ns);
    const r = await call("ADD", pod, ns);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const eth0 = await linkDetails(ns, "eth0");
    assert.equal(eth0.linkinfo?.info_kind, "ipvlan");
    assert.equal(eth0.linkinfo?.info_data?.["mode"], "l2");
    assert.deepEqual(await lab.addresses(ns, "eth0"), ["192.0.2.40/24"]);
    const routes = await lab.routes(ns, 4);
    assert.ok(
      routes.some((rt) => rt.dst === "default" && rt.gateway === "192.0.2.1"),
      JSON.stringify(routes),
    );
    // ipvlan's link shares the master's MAC: what podMACPrefix would rewrite is not the pod's own.
    assert.equal((await linkDetails(ns, "eth0")).address, (await linkDetails(node(), "eth-m")).address);

    await c.h.client.delete(Resources.pods, "kl-iv-a", { namespace: "default" });
    const d = await call("DEL", pod, ns);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.ok(!(await lab.links(ns)).includes("eth0"), "the ipvlan link is gone");
    assert.deepEqual(records(await c.h.client.get<SpiderIPPool>(POOLS, "kl-node-a")), {});
  });

  it("two pods on one master talk to each other over L2", async () => {
    const [a, b] = [`${lab.prefix}-p1`, `${lab.prefix}-p2`];
    for (const [name, ns] of [
      ["kl-iv-p1", a],
      ["kl-iv-p2", b],
    ] as const) {
      const pod = await createPod(c.h, { name, node: "node1" });
      await lab.addNamespace(ns);
      const r = await call("ADD", pod, ns);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const [peer] = await lab.addresses(b, "eth0");
    assert.ok(peer !== undefined);
    const out = await sh("ip", "netns", "exec", a, "busybox", "ping", "-c1", "-W5", peer.split("/")[0] as string);
    assert.match(out, / 0% packet loss/);
  });
});
