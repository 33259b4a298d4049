/**
 * ifacer's ADD as a pure plan: from the netconf and the node's links, the operations that
 * build the VLAN sub-interface or the bond (and a VLAN on it) the next plugin's `master`
 * names (`ens192.100`, `bond0`, `bond0.100`). Links that already exist are reused as they are
 * (only set up); nothing is ever deleted.
 *
 * Every check runs before the first operation, so bad input leaves the node untouched: where
 * upstream created the bond and then failed on a missing slave, a bad primary or a VLAN ID in
 * use, this plan fails first (docs/compatibility.md).
 */
import type { HostOp, Link, NetnsRef, NetnsState } from "../host/model.ts";
import { parseBondOptions } from "./bond-options.ts";
import type { IfacerConf } from "./config.ts";
import { BondModeError, IfacerLinkNotFoundError, NotABondError, VlanConflictError } from "./errors.ts";

/** Go netlink's LinkNotFoundError text, which upstream's messages end with. */
const NOT_FOUND = "Link not found";

export interface IfacerPlan {
  ops: HostOp[];
  /** The link the main plugin's `master` is (undefined when ifacer has nothing to build). */
  master?: string;
}

export function vlanName(parent: string, vlanId: number): string {
  return `${parent}.${vlanId}`;
}

function byName(state: NetnsState, name: string): Link | undefined {
  return state.links.find((l) => l.name === name);
}

/** Another VLAN link with the same ID: the switch port cannot tell two such links apart. */
function checkSameVlan(state: NetnsState, vlanId: number, name: string): void {
  const other = state.links.find((l) => l.kind === "vlan" && Number(l.info?.["vlanId"]) === vlanId && l.name !== name);
  if (other !== undefined) {
    throw new VlanConflictError(
      `cannot have multiple different vlan interfaces with the same vlanId ${vlanId} on node at the same time`,
    );
  }
}

function setUp(ns: NetnsRef, link: Link | undefined, name: string, wrap: string): HostOp[] {
  return link?.flags.up === true
    ? []
    : [{ op: "link.set", ns, name, up: true, context: `${wrap}failed to set ${name} up` }];
}

/**
 * The VLAN `<parent>.<id>` on `parent` (which exists, or is created earlier in the same plan).
 * `ignore: "exists"`: a VLAN another agent call made meanwhile is the one wanted.
 */
function vlanOps(
  ns: NetnsRef,
  state: NetnsState,
  parent: string,
  vlanId: number,
  wrap: string,
  addContext: string,
): HostOp[] {
  const name = vlanName(parent, vlanId);
  const existing = byName(state, name);
  if (existing !== undefined) return setUp(ns, existing, name, wrap);
  return [
    { op: "link.addVlan", ns, name, parent, vlanId, ignore: "exists", context: addContext },
    { op: "link.set", ns, name, up: true, context: `${wrap}failed to set ${name} up` },
  ];
}

/** `node` is where the links live: the host's namespace for the agent, a node namespace in tests. */
export function planIfacerAdd(conf: IfacerConf, state: NetnsState, node: NetnsRef = { kind: "host" }): IfacerPlan {
  const ns = node;
  const [first] = conf.interfaces;
  if (conf.interfaces.length === 1 && first !== undefined) {
    if (conf.vlanID === 0) return { ops: [] };
    const name = vlanName(first, conf.vlanID);
    checkSameVlan(state, conf.vlanID, name);
    const parent = byName(state, first);
    if (parent === undefined) {
      throw new IfacerLinkNotFoundError(`failed to createVlanDevice: failed to LinkByName ${first}: ${NOT_FOUND}`);
    }
    const wrap = "failed to createVlanDevice: ";
    return {
      ops: [
        ...setUp(ns, parent, first, wrap),
        ...vlanOps(ns, state, first, conf.vlanID, wrap, "failed to createVlanDevice"),
      ],
      master: name,
    };
  }
  const bond = conf.bond;
  if (bond === undefined) return { ops: [] };

  const wrap = "failed to createBondDevice";
  if (!Number.isInteger(bond.mode) || bond.mode < 0 || bond.mode > 6) {
    throw new BondModeError(`${wrap}: unknown bond mode: ${bond.mode}, available mode: [0,6]`);
  }
  const options = parseBondOptions(bond.options);
  for (const key of ["primary", "active_slave"]) {
    const dev = options[key];
    if (typeof dev === "string" && byName(state, dev) === undefined) {
      throw new IfacerLinkNotFoundError(
        `${wrap}: parseBondOptions2NetlinkBond: failed to LinkByName bond ${key} ${dev}: ${NOT_FOUND}`,
      );
    }
  }
  if (conf.vlanID !== 0) checkSameVlan(state, conf.vlanID, vlanName(bond.name, conf.vlanID));

  const ops: HostOp[] = [];
  const existing = byName(state, bond.name);
  if (existing !== undefined) {
    if (existing.kind !== "bond") {
      throw new NotABondError(
        `${wrap}: createBondDevice failure: a non-bond type interface named ${bond.name} already exists on the host`,
      );
    }
    // Reused as it is: its slaves and options are the administrator's once it exists.
    ops.push(...setUp(ns, existing, bond.name, `${wrap}: `));
  } else {
    for (const slave of conf.interfaces) {
      if (byName(state, slave) === undefined) {
        throw new IfacerLinkNotFoundError(`${wrap}: failed to InterfaceByName ${slave}: ${NOT_FOUND}`);
      }
    }
    ops.push({
      op: "link.addBond",
      ns,
      name: bond.name,
      bond: Object.keys(options).length === 0 ? { mode: bond.mode } : { mode: bond.mode, options },
      context: wrap,
    });
    for (const slave of conf.interfaces) {
      // A link is enslaved only while down.
      ops.push(
        { op: "link.set", ns, name: slave, up: false, context: `${wrap}: failed to set slave ${slave} down` },
        { op: "link.enslave", ns, name: slave, master: bond.name, context: wrap },
        { op: "link.set", ns, name: slave, up: true, context: `${wrap}: failed to set ${slave} up` },
      );
    }
    ops.push({
      op: "link.set",
      ns,
      name: bond.name,
      up: true,
      context: `${wrap}: failed to set ${bond.name} up`,
    });
  }
  if (conf.vlanID === 0) return { ops, master: bond.name };
  const name = vlanName(bond.name, conf.vlanID);
  ops.push(...vlanOps(ns, state, bond.name, conf.vlanID, "", `failed to create vlan interface ${name}`));
  return { ops, master: name };
}
