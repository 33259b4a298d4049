// ifacer through the agent's CNI handler (the shim's `ifacer` role) against FakeHost: what it
// builds on the node, what it reuses, and that bad input is refused with upstream's message
// and leaves the node as it was. The same calls against the kernel run in the kernel lab
// (test/kernel/ifacer.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { handleCni, type CniAnswer, type CniHandlerDeps } from "../../src/agent/cni-handler.ts";
import { ifacerRole } from "../../src/agent/ifacer-role.ts";
import type { IpamService } from "../../src/agent/ipam-service.ts";
import type { HostOp, Link } from "../../src/host/model.ts";
import { FakeHost } from "../support/fake-host.ts";

const HOST = { kind: "host" } as const;

/** A node with two NICs (veth stand-ins: the fake has no physical links), both up. */
async function node(...extra: HostOp[]): Promise<FakeHost> {
  const fake = new FakeHost();
  const nic = (name: string): HostOp[] => [
    { op: "link.addVeth", ns: HOST, name, mtu: 1500, mac: "", peerName: `${name}p`, peerMac: "", peerNs: HOST },
    { op: "link.set", ns: HOST, name, up: true },
  ];
  assert.equal(await fake.apply([...nic("ens192"), ...nic("ens224"), ...extra]), undefined);
  fake.applied.length = 0;
  return fake;
}

/** One role per node, as the agent has: it serialises the node's ifacer calls. */
const roles = new WeakMap<FakeHost, ReturnType<typeof ifacerRole>>();

function ifacer(fake: FakeHost, command: string, netconf: Record<string, unknown>): Promise<CniAnswer> {
  let role = roles.get(fake);
  if (role === undefined) roles.set(fake, (role = ifacerRole(fake)));
  const deps: CniHandlerDeps = {
    // The ifacer role never reaches IPAM.
    service: {} as IpamService,
    ready: () => true,
    log: pino({ level: "silent" }),
    roles: { ifacer: role },
  };
  return handleCni(
    {
      role: "ifacer",
      command,
      containerID: "ctr1",
      netns: "/var/run/netns/pod1",
      ifName: "net1",
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod1",
      stdin: JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "ifacer", ...netconf }),
    },
    deps,
  );
}

async function links(fake: FakeHost): Promise<Map<string, Link>> {
  return new Map((await fake.observe(HOST)).links.map((l) => [l.name, l]));
}

const BOND = {
  interfaces: ["ens192", "ens224"],
  bond: { name: "bond0", mode: 1, options: "miimon=100;primary=ens192" },
};

describe("ifacer role (FakeHost)", () => {
  it("NN-52 builds bond0 (active-backup, miimon 100, primary ens192) up with both slaves; re-ADD reuses it", async () => {
    const fake = await node();
    const r = await ifacer(fake, "ADD", BOND);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: "1.0.0", dns: {} });
    const l = await links(fake);
    const bond = l.get("bond0");
    assert.equal(bond?.kind, "bond");
    assert.equal(bond?.flags.up, true);
    assert.deepEqual(bond?.info, { mode: 1, miimon: 100, primary: "ens192" });
    for (const s of ["ens192", "ens224"]) {
      assert.equal(l.get(s)?.masterIndex, bond?.index, s);
      assert.equal(l.get(s)?.flags.up, true, s);
    }
    const before = fake.applied.length;
    const again = await ifacer(fake, "ADD", BOND);
    assert.equal(again.exitCode, 0, again.stdout);
    assert.equal(fake.applied.length, before, "nothing done the second time");
  });

  it("a VLAN on the bond (bond0.100), and a VLAN on a NIC (ens192.200)", async () => {
    const fake = await node();
    assert.equal((await ifacer(fake, "ADD", { ...BOND, vlanID: 100 })).exitCode, 0);
    const l = await links(fake);
    assert.equal(l.get("bond0.100")?.kind, "vlan");
    assert.equal(l.get("bond0.100")?.parentIndex, l.get("bond0")?.index);
    assert.deepEqual(l.get("bond0.100")?.info, { vlanId: 100 });
    assert.equal(l.get("bond0.100")?.flags.up, true);

    const other = await node();
    assert.equal((await ifacer(other, "ADD", { interfaces: ["ens192"], vlanID: 200 })).exitCode, 0);
    const o = await links(other);
    assert.equal(o.get("ens192.200")?.parentIndex, o.get("ens192")?.index);
  });

  it("the empty result is in the netconf's cniVersion; one interface without a VLAN does nothing", async () => {
    const fake = await node();
    const r = await handleCni(
      {
        role: "ifacer",
        command: "ADD",
        containerID: "c",
        netns: "/x",
        ifName: "net1",
        args: "",
        stdin: JSON.stringify({ cniVersion: "0.4.0", type: "ifacer", interfaces: ["ens192"] }),
      },
      {
        service: {} as IpamService,
        ready: () => true,
        log: pino({ level: "silent" }),
        roles: { ifacer: ifacerRole(fake) },
      },
    );
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: "0.4.0", dns: {} });
    assert.deepEqual(fake.applied, []);
  });

  it("DEL and CHECK do nothing, whatever the netconf", async () => {
    const fake = await node();
    await ifacer(fake, "ADD", BOND);
    const state = await fake.observe(HOST);
    for (const command of ["DEL", "CHECK"]) {
      const r = await ifacer(fake, command, { ...BOND, vlanID: 5000 });
      assert.deepEqual(r, { exitCode: 0, stdout: "" }, command);
    }
    assert.deepEqual(await fake.observe(HOST), state, "the bond stays: other pods use it");
  });

  const refused: Array<[string, HostOp[], Record<string, unknown>, string]> = [
    [
      "NN-51 a VLAN ID already used on another parent",
      [{ op: "link.addVlan", ns: HOST, name: "ens224.100", parent: "ens224", vlanId: 100 }],
      { interfaces: ["ens192"], vlanID: 100 },
      "cannot have multiple different vlan interfaces with the same vlanId 100 on node at the same time",
    ],
    [
      "NN-51 a VLAN ID used elsewhere, asked on a bond that does not exist yet",
      [{ op: "link.addVlan", ns: HOST, name: "ens224.100", parent: "ens224", vlanId: 100 }],
      { ...BOND, interfaces: ["ens192", "ens224p"], vlanID: 100 },
      "cannot have multiple different vlan interfaces with the same vlanId 100 on node at the same time",
    ],
    [
      "NN-53 a non-bond link named like the bond",
      [
        {
          op: "link.addVeth",
          ns: HOST,
          name: "bond0",
          mtu: 1500,
          mac: "",
          peerName: "bond0p",
          peerMac: "",
          peerNs: HOST,
        },
      ],
      BOND,
      "failed to createBondDevice: createBondDevice failure: a non-bond type interface named bond0 already exists on the host",
    ],
    [
      "NN-54 bond mode 7",
      [],
      { ...BOND, bond: { name: "bond0", mode: 7 } },
      "failed to createBondDevice: unknown bond mode: 7, available mode: [0,6]",
    ],
    ["NN-54 no interfaces", [], { interfaces: [] }, "invalid config: interfaces have at least one interface"],
    [
      "NN-54 VLAN 5000",
      [],
      { interfaces: ["ens192"], vlanID: 5000 },
      "invalid vlan tag 5000: vlan tag must be in range [0,4094]",
    ],
    [
      "a slave that is not on the node",
      [],
      { ...BOND, interfaces: ["ens192", "ens999"] },
      "failed to createBondDevice: failed to InterfaceByName ens999: Link not found",
    ],
    [
      "a bond option of the wrong type",
      [],
      { ...BOND, bond: { name: "bond0", mode: 1, options: "miimon=fast" } },
      "failed to convert options to BondOptions: json: cannot unmarshal string into Go struct field BondOptions.miimon of type int",
    ],
  ];
  for (const [name, given, netconf, msg] of refused) {
    it(`refuses ${name}: CNI code 999 with upstream's message, nothing created`, async () => {
      const fake = await node(...given);
      const before = await fake.observe(HOST);
      const r = await ifacer(fake, "ADD", netconf);
      assert.equal(r.exitCode, 1);
      assert.deepEqual(JSON.parse(r.stdout), { cniVersion: "1.0.0", code: 999, msg });
      assert.deepEqual(fake.applied, []);
      assert.deepEqual(await fake.observe(HOST), before);
    });
  }

  it("a refusal by the node is reported with the op's context and the kernel's text", async () => {
    const fake = await node();
    fake.failNext((op) => op.op === "link.addBond", "EPERM");
    const r = await ifacer(fake, "ADD", BOND);
    assert.equal(r.exitCode, 1);
    assert.equal(JSON.parse(r.stdout).msg, "failed to createBondDevice: operation not permitted");
  });

  it("two ADDs at once for one bond: both succeed, one bond is made", async () => {
    const fake = await node();
    const [a, b] = await Promise.all([ifacer(fake, "ADD", BOND), ifacer(fake, "ADD", BOND)]);
    assert.equal(a.exitCode, 0, a.stdout);
    assert.equal(b.exitCode, 0, b.stdout);
    assert.equal(fake.applied.filter((o) => o.op === "link.addBond").length, 1);
  });
});
