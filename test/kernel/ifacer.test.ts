// ifacer on a real kernel (the kernel lab's guest): the agent's ifacer role through the CNI
// handler, NetlinkHost underneath, in a node namespace this test makes with dummy NICs. What
// the kernel then reports (`ip -d -j link`) is what users would see on their node.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { handleCni, type CniAnswer } from "../../src/agent/cni-handler.ts";
import { ifacerRole } from "../../src/agent/ifacer-role.ts";
import type { IpamService } from "../../src/agent/ipam-service.ts";
import { NetLab } from "../../src/cli/netlab.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { IN_GUEST, ipn, labName, linkDetails, linkNames } from "../support/kernel.ts";

describe("ifacer on the guest's kernel (NetlinkHost)", () => {
  let lab: NetLab;
  let node: string;
  let role: ReturnType<typeof ifacerRole>;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel has no vlan or bond)");
    lab = new NetLab("spt-kl-if");
    node = labName("if");
    await lab.addNamespace(node);
    for (const nic of ["ens192", "ens224", "ens256", "ens288", "eth9"]) {
      await ipn(node, "link", "add", nic, "type", "dummy");
      await ipn(node, "link", "set", nic, "up");
    }
    role = ifacerRole(new NetlinkHost(), { kind: "path", path: lab.nsPath(node) });
  });
  after(async () => {
    assert.deepEqual(await lab.cleanup(), []);
  });

  function ifacer(command: string, netconf: Record<string, unknown>): Promise<CniAnswer> {
    return handleCni(
      {
        role: "ifacer",
        command,
        containerID: "ctr",
        netns: "/var/run/netns/pod",
        ifName: "net1",
        args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p",
        stdin: JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "ifacer", ...netconf }),
      },
      { service: {} as IpamService, ready: () => true, log: pino({ level: "silent" }), roles: { ifacer: role } },
    );
  }

  async function refused(netconf: Record<string, unknown>, msg: string): Promise<void> {
    const before = await linkNames(node);
    const r = await ifacer("ADD", netconf);
    assert.equal(r.exitCode, 1);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: "1.0.0", code: 999, msg });
    assert.deepEqual(await linkNames(node), before, "nothing created on the node");
  }

  it("a VLAN sub-interface ens192.100, up, reused by the next ADD", async () => {
    const r = await ifacer("ADD", { interfaces: ["ens192"], vlanID: 100 });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: "1.0.0", dns: {} });
    const v = await linkDetails(node, "ens192.100");
    assert.equal(v.linkinfo?.info_kind, "vlan");
    assert.equal(v.linkinfo?.info_data?.["id"], 100);
    assert.equal(v.link, "ens192");
    assert.ok(v.flags.includes("UP"));
    const index = v.ifindex;
    assert.equal((await ifacer("ADD", { interfaces: ["ens192"], vlanID: 100 })).exitCode, 0);
    assert.equal((await linkDetails(node, "ens192.100")).ifindex, index, "the same link");
  });

  it("NN-51 a VLAN ID already used on another parent: the spec's error, nothing created", async () => {
    await ipn(node, "link", "add", "link", "eth9", "name", "eth9.300", "type", "vlan", "id", "300");
    await refused(
      { interfaces: ["ens256"], vlanID: 300 },
      "cannot have multiple different vlan interfaces with the same vlanId 300 on node at the same time",
    );
  });

  it("NN-52 bond0 (active-backup, miimon 100, primary ens224) up with both slaves, and bond0.200 on it; re-ADD reuses it", async () => {
    const conf = {
      interfaces: ["ens224", "ens256"],
      vlanID: 200,
      bond: { name: "bond0", mode: 1, options: "miimon=100;primary=ens224" },
    };
    const r = await ifacer("ADD", conf);
    assert.equal(r.exitCode, 0, r.stdout);
    const b = await linkDetails(node, "bond0");
    assert.equal(b.linkinfo?.info_kind, "bond");
    assert.equal(b.linkinfo?.info_data?.["mode"], "active-backup");
    assert.equal(b.linkinfo?.info_data?.["miimon"], 100);
    assert.equal(b.linkinfo?.info_data?.["primary"], "ens224");
    assert.ok(b.flags.includes("UP"));
    for (const s of ["ens224", "ens256"]) {
      const l = await linkDetails(node, s);
      assert.equal(l.master, "bond0", s);
      assert.ok(l.flags.includes("UP"), s);
    }
    const v = await linkDetails(node, "bond0.200");
    assert.equal(v.link, "bond0");
    assert.equal(v.linkinfo?.info_data?.["id"], 200);
    const again = await ifacer("ADD", conf);
    assert.equal(again.exitCode, 0, again.stdout);
    assert.equal((await linkDetails(node, "bond0")).ifindex, b.ifindex);
  });

  it("NN-53 a non-bond link named like the bond: the spec's error, nothing created", async () => {
    await ipn(node, "link", "add", "bond9", "type", "dummy");
    await refused(
      { interfaces: ["ens288", "eth9"], bond: { name: "bond9", mode: 1 } },
      "failed to createBondDevice: createBondDevice failure: a non-bond type interface named bond9 already exists on the host",
    );
  });

  it("NN-54 mode 7, no interfaces, VLAN 5000: the spec's errors, nothing created", async () => {
    await refused(
      { interfaces: ["ens288", "eth9"], bond: { name: "bond7", mode: 7 } },
      "failed to createBondDevice: unknown bond mode: 7, available mode: [0,6]",
    );
    await refused({ interfaces: [] }, "invalid config: interfaces have at least one interface");
    await refused(
      { interfaces: ["ens288"], vlanID: 5000 },
      "invalid vlan tag 5000: vlan tag must be in range [0,4094]",
    );
  });

  it("DEL and CHECK leave the node as it is", async () => {
    const before = await linkNames(node);
    for (const command of ["DEL", "CHECK"]) {
      assert.deepEqual(await ifacer(command, { interfaces: ["ens224", "ens256"], bond: { name: "bond0" } }), {
        exitCode: 0,
        stdout: "",
      });
    }
    assert.deepEqual(await linkNames(node), before);
  });
});

describe("ifacer bonds in every mode with the recognised options (guest kernel)", () => {
  let lab: NetLab;
  let node: string;
  let role: ReturnType<typeof ifacerRole>;
  const modes = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
  // Per mode, options the kernel accepts together; across the modes every recognised key appears
  // (active_slave only names a slave once enslaved, so a new bond cannot take it). Expected
  // values are as `ip -d -j` names them.
  const options: Record<number, [string, Record<string, unknown>]> = {
    0: ["miimon=100;packets_per_slave=3;up_delay=200", { packets_per_slave: 3, updelay: 200 }],
    1: [
      'arp_interval=100;arp_ip_target=["192.0.2.1","192.0.2.2"];arp_validate=1;arp_all_targets=1;primary=a1;primary_reselect=1;fail_over_mac=1;resend_igmp=3',
      {
        arp_interval: 100,
        arp_ip_target: ["192.0.2.1", "192.0.2.2"],
        arp_validate: "active",
        arp_all_targets: "all",
        primary: "a1",
        primary_reselect: "better",
        fail_over_mac: "active",
        resend_igmp: 3,
      },
    ],
    2: [
      "miimon=50;xmit_hash_policy=1;downdelay=100;min_links=1",
      { xmit_hash_policy: "layer3+4", downdelay: 100, min_links: 1 },
    ],
    3: ["miimon=100;use_carrier=1;all_slaves_active=1", { use_carrier: 1, all_slaves_active: 1 }],
    4: [
      "miimon=100;lacp_rate=1;ad_select=1;ad_actor_sys_prio=100;ad_user_port_key=2;ad_actor_system=02:00:00:00:00:01;lp_interval=2",
      {
        ad_lacp_rate: "fast",
        ad_select: "bandwidth",
        ad_actor_sys_prio: 100,
        ad_user_port_key: 2,
        ad_actor_system: "02:00:00:00:00:01",
        lp_interval: 2,
      },
    ],
    5: ["miimon=100;tlb_dynamic_lb=1", { tlb_dynamic_lb: 1 }],
    // The kernel refuses peer_notif_delay without miimon (EPERM).
    6: ["miimon=100;peer_notif_delay=200", { miimon: 100, peer_notify_delay: 200 }],
  };

  before(async () => {
    lab = new NetLab("spt-kl-bm");
    node = labName("bm");
    await lab.addNamespace(node);
    role = ifacerRole(new NetlinkHost(), { kind: "path", path: lab.nsPath(node) });
  });
  after(async () => {
    assert.deepEqual(await lab.cleanup(), []);
  });

  for (let mode = 0; mode <= 6; mode++) {
    it(`mode ${mode} (${modes[mode]}) with ${options[mode]?.[0]}`, async () => {
      const [a, b] = [`a${mode}`, `b${mode}`];
      for (const nic of [a, b]) await ipn(node, "link", "add", nic, "type", "dummy");
      const text = (options[mode]?.[0] ?? "").replaceAll("primary=a1", `primary=${a}`);
      const r = await handleCni(
        {
          role: "ifacer",
          command: "ADD",
          containerID: "c",
          netns: "/x",
          ifName: "net1",
          args: "",
          stdin: JSON.stringify({
            cniVersion: "1.0.0",
            type: "ifacer",
            interfaces: [a, b],
            bond: { name: `bond${mode}`, mode, options: text },
          }),
        },
        { service: {} as IpamService, ready: () => true, log: pino({ level: "silent" }), roles: { ifacer: role } },
      );
      assert.equal(r.exitCode, 0, r.stdout);
      const data = (await linkDetails(node, `bond${mode}`)).linkinfo?.info_data ?? {};
      assert.equal(data["mode"], modes[mode]);
      for (const [k, v] of Object.entries(options[mode]?.[1] ?? {})) {
        assert.deepEqual(data[k], k === "primary" ? a : v, `${k} in ${JSON.stringify(data)}`);
      }
      for (const nic of [a, b]) assert.equal((await linkDetails(node, nic)).master, `bond${mode}`);
    });
  }
});
