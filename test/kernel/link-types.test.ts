// The link types this project's node-side features build and this machine's kernel lacks:
// each one is created in a namespace of the guest, observed with the kind the kernel gives
// it, and removed. If one is missing from Debian's kernel the lab is not what it claims.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NetLab } from "../../src/cli/netlab.ts";
import { IN_GUEST, ipn, labName, linkDetails, sh } from "../support/kernel.ts";

describe("kernel lab: the link types exist", () => {
  let lab: NetLab;
  let ns: string;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel lacks these link types)");
    lab = new NetLab("spt-kl");
    ns = labName("lt");
    await lab.addNamespace(ns);
    await ipn(ns, "link", "add", "d0", "type", "dummy");
    await ipn(ns, "link", "add", "d1", "type", "dummy");
  });
  after(async () => {
    assert.deepEqual(await lab.cleanup(), []);
  });

  it("dummy", async () => {
    assert.equal((await linkDetails(ns, "d0")).linkinfo?.info_kind, "dummy");
  });

  it("vlan (8021q) with its id", async () => {
    await ipn(ns, "link", "add", "link", "d0", "name", "d0.100", "type", "vlan", "id", "100");
    const l = await linkDetails(ns, "d0.100");
    assert.equal(l.linkinfo?.info_kind, "vlan");
    assert.equal(l.linkinfo?.info_data?.["id"], 100);
  });

  it("bond (active-backup) with a slave", async () => {
    await ipn(ns, "link", "add", "b0", "type", "bond", "mode", "active-backup", "miimon", "100");
    await ipn(ns, "link", "set", "d1", "master", "b0");
    const b = await linkDetails(ns, "b0");
    assert.equal(b.linkinfo?.info_kind, "bond");
    assert.equal(b.linkinfo?.info_data?.["mode"], "active-backup");
    assert.equal((await linkDetails(ns, "d1")).master, "b0");
  });

  it("ipvlan (L2) moved into another namespace", async () => {
    const pod = labName("lp");
    await lab.addNamespace(pod);
    await ipn(ns, "link", "add", "link", "d0", "name", "iv0", "type", "ipvlan", "mode", "l2");
    await ipn(ns, "link", "set", "iv0", "netns", pod);
    const l = await linkDetails(pod, "iv0");
    assert.equal(l.linkinfo?.info_kind, "ipvlan");
    assert.equal(l.linkinfo?.info_data?.["mode"], "l2");
  });

  it("soft-RoCE (rdma_rxe) on a dummy", async () => {
    // rdma links live in the initial namespace in shared mode; this one is the guest's own.
    const dev = labName("rd");
    const rxe = `${dev}x`;
    await sh("ip", "link", "add", dev, "type", "dummy");
    try {
      await sh("ip", "link", "set", dev, "up");
      await sh("rdma", "link", "add", rxe, "type", "rxe", "netdev", dev);
      const links = JSON.parse(await sh("rdma", "-j", "link", "show")) as Array<{ ifname: string; netdev?: string }>;
      assert.equal(links.find((l) => l.ifname === rxe)?.netdev, dev);
    } finally {
      await sh("rdma", "link", "delete", rxe).catch(() => undefined);
      await sh("ip", "link", "del", dev);
    }
  });
});
