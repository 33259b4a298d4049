// The chain a SpiderMultusConfig with `ipvlan: {master: [a, b], vlanID: 100, bond: {...}}`
// generates, run as Multus runs it in the kernel lab's guest: our shim installed as `ifacer`
// (the agent's ifacer role on NetlinkHost builds the bond and bond.100 in the node's own
// namespace), then Debian's ipvlan plugin on that master with spiderpool IPAM. The guest's
// root namespace is the node; every link made here carries the lab's prefix and is removed.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_SOCKET_PATH } from "../../src/cni/config.ts";
import { findPlugin, NetLab, runPlugin } from "../../src/cli/netlab.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { Resources } from "../../src/kube/index.ts";
import { createPod, createPool, SHIM, startCluster, type Cluster } from "../support/cluster.ts";
import { IN_GUEST, labName, linkDetails, sh } from "../support/kernel.ts";

describe("ifacer + ipvlan on a bond's VLAN (guest kernel)", () => {
  let c: Cluster;
  let lab: NetLab;
  const bond = labName("b");
  const slaves = [labName("s"), labName("t")];
  const master = `${bond}.100`;
  const ipvlan = findPlugin("ipvlan") as string;
  const pod = (): string => `${lab.prefix}-pod`;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel has no bond, vlan or ipvlan)");
    // The shim as `ifacer` has no ipam section to name a socket: it uses the default path.
    c = await startCluster({
      nodes: 1,
      config: { socketPath: DEFAULT_SOCKET_PATH },
      hostNetwork: { network: new NetlinkHost(), ns: { kind: "host" } },
    });
    lab = new NetLab("spt-kl-ib");
    for (const s of slaves) await sh("ip", "link", "add", s, "type", "dummy");
    await createPool(c.h, "kl-vlan100", {
      subnet: "203.0.113.0/24",
      ips: ["203.0.113.50"],
      gateway: "203.0.113.1",
    });
  });
  after(async () => {
    const left = await lab?.cleanup();
    for (const l of [bond, ...slaves]) await sh("ip", "link", "del", l).catch(() => undefined);
    await c?.close();
    assert.deepEqual(left, []);
  });

  it("ifacer makes the bond and its VLAN, ipvlan puts the pod on it with the pool's address; DEL leaves the bond", async () => {
    const p = await createPod(c.h, { name: "kl-ib", node: "node1" });
    await lab.addNamespace(pod());
    const env = {
      containerID: "kl-ib",
      netns: lab.nsPath(pod()),
      ifName: "net1",
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=kl-ib;K8S_POD_UID=${p.metadata?.uid}`,
      cniPath: dirname(SHIM),
    };
    const ifacerConf = {
      cniVersion: "1.0.0",
      name: "kl-bond",
      type: "ifacer",
      interfaces: slaves,
      vlanID: 100,
      bond: { name: bond, mode: 1, options: `miimon=100;primary=${slaves[0]}` },
    };
    const ipvlanConf = {
      cniVersion: "1.0.0",
      name: "kl-bond",
      type: "ipvlan",
      master,
      mtu: 0,
      ipam: { type: "spiderpool", default_ipv4_ippool: ["kl-vlan100"] },
    };
    const i = await runPlugin({ plugin: join(dirname(SHIM), "ifacer"), command: "ADD", netconf: ifacerConf, ...env });
    assert.equal(i.code, 0, i.stdout + i.stderr);
    assert.deepEqual(JSON.parse(i.stdout), { cniVersion: "1.0.0", dns: {} });
    const b = await linkDetails(undefined, bond);
    assert.equal(b.linkinfo?.info_kind, "bond");
    const v = await linkDetails(undefined, master);
    assert.equal(v.link, bond);
    assert.equal(v.linkinfo?.info_data?.["id"], 100);

    const r = await runPlugin({ plugin: ipvlan, command: "ADD", netconf: ipvlanConf, ...env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await lab.addresses(pod(), "net1"), ["203.0.113.50/24"]);
    const net1 = await linkDetails(pod(), "net1");
    assert.equal(net1.linkinfo?.info_kind, "ipvlan");

    await c.h.client.delete(Resources.pods, "kl-ib", { namespace: "default" });
    assert.equal((await runPlugin({ plugin: ipvlan, command: "DEL", netconf: ipvlanConf, ...env })).code, 0);
    const d = await runPlugin({ plugin: join(dirname(SHIM), "ifacer"), command: "DEL", netconf: ifacerConf, ...env });
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.equal((await linkDetails(undefined, master)).ifindex, v.ifindex, "the VLAN stays for the node's other pods");
  });
});
