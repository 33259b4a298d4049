// The `ipvlan` cniType end to end, in the kernel lab's guest (this machine's kernel has no
// ipvlan): Debian's ipvlan plugin, L2 mode, with `"ipam": {"type": "spiderpool"}` through our
// shim to an agent on the embedded API server. The pools are the ones VMware and public-cloud
// users write: one per node's subnet, chosen by node, all listed in the netconf.
// ipvlan links share their master's MAC, so coordinator's podMACPrefix does not apply to them.
// With the coordinator after ipvlan (underlay), the pod reaches its own node through veth0,
// which an ipvlan slave cannot do through its master. Last, the chain a SpiderMultusConfig
// with `ipvlan: {master: [a, b], vlanID: 100, bond: {...}}` generates: our shim as `ifacer`
// (the agent's role on NetlinkHost builds the bond and bond.100 in the node's namespace),
// then ipvlan on that master. One agent serves all of it, on the default socket (the
// `ifacer` netconf has no ipam section to name another).
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../../src/api/coordinator.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { findPlugin, NetLab, runPlugin } from "../../src/cli/netlab.ts";
import { DEFAULT_SOCKET_PATH } from "../../src/cni/config.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { resourceTypeOf } from "../../src/kube/resources.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { createPod, createPool, records, SHIM, startCluster, type Cluster } from "../support/cluster.ts";
import { IN_GUEST, ipn, linkDetails, linkNames, sh } from "../support/kernel.ts";

const COORDINATORS = resourceTypeOf(SpiderCoordinatorKind);

describe("ipvlan + spiderpool IPAM (+ coordinator) in the guest", () => {
  let c: Cluster;
  let lab: NetLab;
  const node = (): string => `${lab.prefix}-node`;
  const ipvlan = findPlugin("ipvlan") as string;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel has no ipvlan)");
    assert.ok(ipvlan !== undefined, "Debian's ipvlan plugin (containernetworking-plugins)");
    lab = new NetLab("spt-kl-iv");
    await lab.addNode(node());
    await ipn(node(), "addr", "add", "192.0.2.2/24", "dev", "eth-m");
    c = await startCluster({
      nodes: 1,
      config: { socketPath: DEFAULT_SOCKET_PATH },
      hostNetwork: { network: new NetlinkHost(), ns: { kind: "path", path: lab.nsPath(node()) } },
    });
    const scc = await c.h.client.create<SpiderCoordinator>(COORDINATORS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { mode: "auto", podCIDRType: "none", tunePodRoutes: true },
    });
    await c.h.client.updateStatus(COORDINATORS, {
      ...scc,
      status: { phase: "Synced", overlayPodCIDR: [], serviceCIDR: ["198.51.100.0/25"] },
    });
    // One pool per node's subnet: node1's is 192.0.2.0/24, another node's 198.51.100.0/24.
    await createPool(c.h, "kl-node-a", {
      subnet: "192.0.2.0/24",
      ips: ["192.0.2.40-192.0.2.43"],
      gateway: "192.0.2.1",
      nodeName: ["node1"],
    });
    await createPool(c.h, "kl-vlan100", { subnet: "203.0.113.0/24", ips: ["203.0.113.50"], gateway: "203.0.113.1" });
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

  function call(command: "ADD" | "DEL", pod: KubeObject, netns: string, prevResult?: unknown) {
    const env = {
      containerID: `kl-${pod.metadata?.name}`,
      netns: lab.nsPath(netns),
      ifName: "eth0",
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.metadata?.name};K8S_POD_UID=${pod.metadata?.uid}`,
      cniPath: dirname(SHIM),
      inNamespace: node(),
    };
    if (prevResult !== undefined) {
      return runPlugin({
        plugin: join(dirname(SHIM), "coordinator"),
        command,
        // Our shim finds its agent through ipam's socket key; the coordinator ignores it.
        netconf: {
          cniVersion: "1.0.0",
          name: "kl-ipvlan",
          type: "coordinator",
          ipam: { ipam_unix_socket_path: DEFAULT_SOCKET_PATH },
          prevResult,
        },
        ...env,
      });
    }
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
          ipam_unix_socket_path: DEFAULT_SOCKET_PATH,
          default_ipv4_ippool: ["kl-node-a", "kl-node-b"],
        },
      },
      ...env,
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

  it("ipvlan then the coordinator (underlay): veth0 lets the pod reach its node, which ipvlan alone does not; DEL removes the node's veth", async () => {
    const pod = await createPod(c.h, { name: "kl-iv-co", node: "node1" });
    const ns = `${lab.prefix}-co`;
    await lab.addNamespace(ns);
    const r = await call("ADD", pod, ns);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await pingable(ns, "192.0.2.2"), false, "an ipvlan slave cannot reach its master's address");
    const prev = JSON.parse(r.stdout) as unknown;
    const co = await call("ADD", pod, ns, prev);
    assert.equal(co.code, 0, co.stdout + co.stderr);
    assert.deepEqual(JSON.parse(co.stdout), prev, "the coordinator prints prevResult unchanged");
    assert.equal((await linkDetails(ns, "veth0")).linkinfo?.info_kind, "veth");
    const hostVeth = (await linkNames(node())).find((l) => l.startsWith("veth"));
    assert.ok(hostVeth !== undefined, "the node's end of veth0");
    assert.equal(await pingable(ns, "192.0.2.2"), true, "pod → node through veth0");

    // As kubelet does: DEL (in reverse order) while the pod object still exists.
    const d = await call("DEL", pod, ns, prev);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.equal((await call("DEL", pod, ns)).code, 0);
    await c.h.client.delete(Resources.pods, "kl-iv-co", { namespace: "default" });
    assert.ok(!(await linkNames(node())).includes(hostVeth), "the node's veth is gone");
  });

  it("ifacer makes bond0 and bond0.100 in the node, ipvlan puts the pod on it with the VLAN's pool; DEL leaves the VLAN", async () => {
    const slaves = ["ens192", "ens224"];
    for (const s of slaves) await ipn(node(), "link", "add", s, "type", "dummy");
    const p = await createPod(c.h, { name: "kl-ib", node: "node1" });
    const ns = `${lab.prefix}-ib`;
    await lab.addNamespace(ns);
    const env = {
      containerID: "kl-ib",
      netns: lab.nsPath(ns),
      ifName: "net1",
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=kl-ib;K8S_POD_UID=${p.metadata?.uid}`,
      cniPath: dirname(SHIM),
      inNamespace: node(),
    };
    const ifacerConf = {
      cniVersion: "1.0.0",
      name: "kl-bond",
      type: "ifacer",
      interfaces: slaves,
      vlanID: 100,
      bond: { name: "bond0", mode: 1, options: "miimon=100;primary=ens192" },
    };
    const ipvlanConf = {
      cniVersion: "1.0.0",
      name: "kl-bond",
      type: "ipvlan",
      master: "bond0.100",
      mtu: 0,
      ipam: { type: "spiderpool", default_ipv4_ippool: ["kl-vlan100"] },
    };
    const i = await runPlugin({ plugin: join(dirname(SHIM), "ifacer"), command: "ADD", netconf: ifacerConf, ...env });
    assert.equal(i.code, 0, i.stdout + i.stderr);
    assert.deepEqual(JSON.parse(i.stdout), { cniVersion: "1.0.0", dns: {} });
    assert.equal((await linkDetails(node(), "bond0")).linkinfo?.info_kind, "bond");
    const v = await linkDetails(node(), "bond0.100");
    assert.equal(v.link, "bond0");
    assert.equal(v.linkinfo?.info_data?.["id"], 100);

    const r = await runPlugin({ plugin: ipvlan, command: "ADD", netconf: ipvlanConf, ...env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await lab.addresses(ns, "net1"), ["203.0.113.50/24"]);
    assert.equal((await linkDetails(ns, "net1")).linkinfo?.info_kind, "ipvlan");

    assert.equal((await runPlugin({ plugin: ipvlan, command: "DEL", netconf: ipvlanConf, ...env })).code, 0);
    const d = await runPlugin({ plugin: join(dirname(SHIM), "ifacer"), command: "DEL", netconf: ifacerConf, ...env });
    assert.deepEqual([d.code, d.stdout], [0, ""], d.stderr);
    assert.equal(
      (await linkDetails(node(), "bond0.100")).ifindex,
      v.ifindex,
      "the VLAN stays for the node's other pods",
    );
    await c.h.client.delete(Resources.pods, "kl-ib", { namespace: "default" });
  });
});

async function pingable(ns: string, address: string): Promise<boolean> {
  try {
    await sh("ip", "netns", "exec", ns, "busybox", "ping", "-c1", "-W2", address);
    return true;
  } catch {
    return false;
  }
}
