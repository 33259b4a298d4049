import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HostOp, Link, NetnsState } from "../host/model.ts";
import { parseIfacerConf } from "./config.ts";
import { BondModeError, IfacerLinkNotFoundError, NotABondError, VlanConflictError } from "./errors.ts";
import { planIfacerAdd, type IfacerPlan } from "./plan.ts";

const HOST = { kind: "host" } as const;

function link(index: number, name: string, o: { kind?: string; up?: boolean; info?: Link["info"] } = {}): Link {
  return {
    index,
    name,
    ...(o.kind === undefined ? {} : { kind: o.kind }),
    flags: { up: o.up ?? true, broadcast: true, multicast: true, loopback: false, lowerUp: o.up ?? true },
    mtu: 1500,
    mac: `02:00:00:00:00:${index.toString(16).padStart(2, "0")}`,
    txQueueLen: 1000,
    ...(o.info === undefined ? {} : { info: o.info }),
  };
}

function node(...links: Link[]): NetnsState {
  return { links: [link(1, "lo"), ...links], addresses: [], routes: [], rules: [], neighbours: [] };
}

function plan(netconf: Record<string, unknown>, state: NetnsState): IfacerPlan {
  return planIfacerAdd(parseIfacerConf(JSON.stringify({ cniVersion: "1.0.0", type: "ifacer", ...netconf })), state);
}

const ens192 = link(2, "ens192");
const ens224 = link(3, "ens224");
const up = (name: string, wrap = ""): HostOp => ({
  op: "link.set",
  ns: HOST,
  name,
  up: true,
  context: `${wrap}failed to set ${name} up`,
});

describe("ifacer ADD plan", () => {
  const built: Array<[string, Record<string, unknown>, NetnsState, IfacerPlan]> = [
    ["one interface without a VLAN: nothing to do", { interfaces: ["ens192"] }, node(ens192), { ops: [] }],
    [
      "two interfaces without a bond: nothing to do",
      { interfaces: ["ens192", "ens224"], vlanID: 100 },
      node(ens192, ens224),
      { ops: [] },
    ],
    [
      "a VLAN on its parent, set up",
      { interfaces: ["ens192"], vlanID: 100 },
      node(ens192),
      {
        master: "ens192.100",
        ops: [
          {
            op: "link.addVlan",
            ns: HOST,
            name: "ens192.100",
            parent: "ens192",
            vlanId: 100,
            ignore: "exists",
            context: "failed to createVlanDevice",
          },
          up("ens192.100", "failed to createVlanDevice: "),
        ],
      },
    ],
    [
      "a parent that is down is set up first",
      { interfaces: ["ens192"], vlanID: 4094 },
      node(link(2, "ens192", { up: false })),
      {
        master: "ens192.4094",
        ops: [
          up("ens192", "failed to createVlanDevice: "),
          {
            op: "link.addVlan",
            ns: HOST,
            name: "ens192.4094",
            parent: "ens192",
            vlanId: 4094,
            ignore: "exists",
            context: "failed to createVlanDevice",
          },
          up("ens192.4094", "failed to createVlanDevice: "),
        ],
      },
    ],
    [
      "an existing VLAN link is reused (set up when down)",
      { interfaces: ["ens192"], vlanID: 100 },
      node(ens192, link(4, "ens192.100", { kind: "vlan", up: false, info: { vlanId: 100 } })),
      { master: "ens192.100", ops: [up("ens192.100", "failed to createVlanDevice: ")] },
    ],
    [
      "an existing VLAN link that is up: nothing to do",
      { interfaces: ["ens192"], vlanID: 100 },
      node(ens192, link(4, "ens192.100", { kind: "vlan", info: { vlanId: 100 } })),
      { master: "ens192.100", ops: [] },
    ],
    [
      "NN-52 a bond (active-backup, miimon 100, primary ens192) with both slaves",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 1, options: "miimon=100;primary=ens192" } },
      node(ens192, ens224),
      {
        master: "bond0",
        ops: [
          {
            op: "link.addBond",
            ns: HOST,
            name: "bond0",
            bond: { mode: 1, options: { miimon: 100, primary: "ens192" } },
            context: "failed to createBondDevice",
          },
          ...["ens192", "ens224"].flatMap((s): HostOp[] => [
            {
              op: "link.set",
              ns: HOST,
              name: s,
              up: false,
              context: `failed to createBondDevice: failed to set slave ${s} down`,
            },
            { op: "link.enslave", ns: HOST, name: s, master: "bond0", context: "failed to createBondDevice" },
            {
              op: "link.set",
              ns: HOST,
              name: s,
              up: true,
              context: `failed to createBondDevice: failed to set ${s} up`,
            },
          ]),
          {
            op: "link.set",
            ns: HOST,
            name: "bond0",
            up: true,
            context: "failed to createBondDevice: failed to set bond0 up",
          },
        ],
      },
    ],
    [
      "NN-52 re-ADD reuses the bond as it is",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 1, options: "miimon=100;primary=ens192" } },
      node(ens192, ens224, link(5, "bond0", { kind: "bond", info: { mode: 1 } })),
      { master: "bond0", ops: [] },
    ],
    [
      "a bond that exists but is down is set up, its slaves left alone",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 4 } },
      node(ens192, ens224, link(5, "bond0", { kind: "bond", up: false })),
      { master: "bond0", ops: [up("bond0", "failed to createBondDevice: ")] },
    ],
    [
      "a VLAN on an existing bond (bond0.100)",
      { interfaces: ["ens192", "ens224"], vlanID: 100, bond: { name: "bond0", mode: 1 } },
      node(ens192, ens224, link(5, "bond0", { kind: "bond" })),
      {
        master: "bond0.100",
        ops: [
          {
            op: "link.addVlan",
            ns: HOST,
            name: "bond0.100",
            parent: "bond0",
            vlanId: 100,
            ignore: "exists",
            context: "failed to create vlan interface bond0.100",
          },
          up("bond0.100"),
        ],
      },
    ],
    [
      "an existing bond0.100 is reused",
      { interfaces: ["ens192", "ens224"], vlanID: 100, bond: { name: "bond0", mode: 1 } },
      node(
        ens192,
        ens224,
        link(5, "bond0", { kind: "bond" }),
        link(6, "bond0.100", { kind: "vlan", info: { vlanId: 100 } }),
      ),
      { master: "bond0.100", ops: [] },
    ],
  ];
  for (const [name, netconf, state, want] of built) {
    it(name, () => assert.deepEqual(plan(netconf, state), want));
  }

  it("a new bond and a VLAN on it in one plan, the VLAN after the bond is up", () => {
    const p = plan({ interfaces: ["ens192", "ens224"], vlanID: 200, bond: { mode: 0 } }, node(ens192, ens224));
    assert.equal(p.master, "sp_bond0.200");
    assert.deepEqual(
      p.ops.map((o) => `${o.op} ${"name" in o ? o.name : ""}`),
      [
        "link.addBond sp_bond0",
        "link.set ens192",
        "link.enslave ens192",
        "link.set ens192",
        "link.set ens224",
        "link.enslave ens224",
        "link.set ens224",
        "link.set sp_bond0",
        "link.addVlan sp_bond0.200",
        "link.set sp_bond0.200",
      ],
    );
  });

  it("every mode 0–6 makes a bond", () => {
    for (let mode = 0; mode <= 6; mode++) {
      const p = plan({ interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode } }, node(ens192, ens224));
      assert.deepEqual(p.ops[0], {
        op: "link.addBond",
        ns: HOST,
        name: "bond0",
        bond: { mode },
        context: "failed to createBondDevice",
      });
    }
  });

  const refused: Array<[string, Record<string, unknown>, NetnsState, new (...a: never[]) => Error, string]> = [
    [
      "NN-51 a VLAN ID already used on another parent",
      { interfaces: ["ens192"], vlanID: 100 },
      node(ens192, link(4, "eth9"), link(5, "eth9.100", { kind: "vlan", info: { vlanId: 100 } })),
      VlanConflictError,
      "cannot have multiple different vlan interfaces with the same vlanId 100 on node at the same time",
    ],
    [
      "NN-51 a VLAN ID used by a link with another name on the bond's path, before the bond is made",
      { interfaces: ["ens192", "ens224"], vlanID: 100, bond: { name: "bond0", mode: 1 } },
      node(ens192, ens224, link(5, "vlan100", { kind: "vlan", info: { vlanId: 100 } })),
      VlanConflictError,
      "cannot have multiple different vlan interfaces with the same vlanId 100 on node at the same time",
    ],
    [
      "NN-53 a non-bond link named like the bond",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 1 } },
      node(ens192, ens224, link(5, "bond0", { kind: "dummy" })),
      NotABondError,
      "failed to createBondDevice: createBondDevice failure: a non-bond type interface named bond0 already exists on the host",
    ],
    [
      "NN-53 a physical NIC named like the bond",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 1 } },
      node(ens192, ens224, link(5, "bond0")),
      NotABondError,
      "failed to createBondDevice: createBondDevice failure: a non-bond type interface named bond0 already exists on the host",
    ],
    [
      "NN-54 bond mode 7",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 7 } },
      node(ens192, ens224),
      BondModeError,
      "failed to createBondDevice: unknown bond mode: 7, available mode: [0,6]",
    ],
    [
      "a missing VLAN parent",
      { interfaces: ["ens192"], vlanID: 100 },
      node(),
      IfacerLinkNotFoundError,
      "failed to createVlanDevice: failed to LinkByName ens192: Link not found",
    ],
    [
      "a missing slave, before the bond is made",
      { interfaces: ["ens192", "ens999"], bond: { name: "bond0", mode: 1 } },
      node(ens192),
      IfacerLinkNotFoundError,
      "failed to createBondDevice: failed to InterfaceByName ens999: Link not found",
    ],
    [
      "a primary that is not on the node",
      { interfaces: ["ens192", "ens224"], bond: { name: "bond0", mode: 1, options: "primary=ens999" } },
      node(ens192, ens224),
      IfacerLinkNotFoundError,
      "failed to createBondDevice: parseBondOptions2NetlinkBond: failed to LinkByName bond primary ens999: Link not found",
    ],
  ];
  for (const [name, netconf, state, cls, message] of refused) {
    it(`refuses ${name}, planning nothing`, () => {
      assert.throws(
        () => plan(netconf, state),
        (err: unknown) => err instanceof cls && err.message === message,
      );
    });
  }
});

describe("ifacer ADD plan: where", () => {
  it("every op runs in the node namespace it is given", () => {
    const node1 = { kind: "path", path: "/var/run/netns/node1" } as const;
    const conf = parseIfacerConf(
      JSON.stringify({ cniVersion: "1.0.0", interfaces: ["ens192", "ens224"], vlanID: 7, bond: { name: "b" } }),
    );
    const p = planIfacerAdd(conf, node(ens192, ens224), node1);
    assert.equal(p.ops.length, 10);
    assert.ok(p.ops.every((o) => o.ns === node1));
  });
});
