/**
 * `match_master_subnet` (ipam-behavior §1.7 step 9): the interface on the node behind the
 * pod's NIC and its addresses, read through the agent's host network.
 *
 * - An SR-IOV VF: the netconf's `deviceID` (the VF's PCI address, which Multus passes from the
 *   device plugin) leads through sysfs (`physfn/net/`) to the PF's name on the node.
 * - A macvlan, ipvlan or vlan NIC names its parent by index (IFLA_LINK), an index in the
 *   node's namespace, where the plugin made it.
 *
 * Anything else is refused with the reason rather than matched against a stranger: a veth's
 * IFLA_LINK is an index in its peer's namespace.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { NetnsRef, NetnsState } from "../host/model.ts";
import type { HostNetwork } from "../host/network.ts";
import { IpamError } from "../ipam/errors.ts";
import type { MasterInterface } from "../ipam/filter.ts";

/** Kinds whose IFLA_LINK is the master on the node when the plugin made them there. */
const CHILD_KINDS = new Set(["macvlan", "macvtap", "ipvlan", "vlan"]);
/** A PCI address as sysfs names it (domain:bus:device.function); nothing else goes into a path. */
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;

export interface MasterQuery {
  podNetns: string;
  ifName: string;
  /** The netconf's `deviceID`: set for SR-IOV attachments. */
  deviceID?: string;
}

export type MasterLookup = (q: MasterQuery) => Promise<MasterInterface>;

export const masterNotFound = (ifName: string, why: string): IpamError =>
  new IpamError(
    "ERR_MASTER_NOT_FOUND",
    `filterPoolCandidatesByPfSubnet: failed to find the master interface of NIC ${ifName}: ${why}`,
  );

/** The PF's netdev name behind VF `deviceID`, from sysfs (the host's: the agent runs in the node's network). */
export function pfOfVf(deviceID: string, sysfs = "/sys"): string {
  if (!PCI_ADDRESS.test(deviceID)) throw new Error(`deviceID '${deviceID}' is not a PCI address`);
  let names: string[];
  try {
    names = readdirSync(join(sysfs, "bus", "pci", "devices", deviceID, "physfn", "net"));
  } catch (err) {
    throw new Error(`no PF behind VF ${deviceID} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const name = names.sort()[0];
  if (name === undefined) throw new Error(`the PF behind VF ${deviceID} has no network interface`);
  return name;
}

function addressesOf(node: NetnsState, index: number): string[] {
  // Only addresses the node can use: a tentative IPv6 one is not the master's yet.
  return node.addresses
    .filter((a) => a.linkIndex === index && a.scope === "universe" && a.tentative !== true)
    .map((a) => a.address);
}

export function masterLookup(host: HostNetwork, hostNs: NetnsRef, sysfs = "/sys"): MasterLookup {
  return async ({ podNetns, ifName, deviceID }) => {
    if (deviceID !== undefined && deviceID !== "") {
      let pf: string;
      try {
        pf = pfOfVf(deviceID, sysfs);
      } catch (err) {
        throw masterNotFound(ifName, (err as Error).message);
      }
      const node = await host.observe(hostNs);
      const link = node.links.find((l) => l.name === pf);
      if (link === undefined) throw masterNotFound(ifName, `PF ${pf} of VF ${deviceID} is not a link of the node`);
      return { name: link.name, addresses: addressesOf(node, link.index) };
    }
    const pod = await host.observe({ kind: "path", path: podNetns });
    const nic = pod.links.find((l) => l.name === ifName);
    if (nic === undefined) throw masterNotFound(ifName, `no interface ${ifName} in ${podNetns}`);
    if (!CHILD_KINDS.has(nic.kind ?? "") || nic.parentIndex === undefined)
      throw masterNotFound(
        ifName,
        `${ifName} is ${nic.kind === undefined ? "a device without a parent link and the netconf has no deviceID" : `a ${nic.kind}`}, not a macvlan, ipvlan or vlan on a node link`,
      );
    const node = await host.observe(hostNs);
    const master = node.links.find((l) => l.index === nic.parentIndex);
    if (master === undefined) throw masterNotFound(ifName, `no link with index ${nic.parentIndex} on the node`);
    return { name: master.name, addresses: addressesOf(node, master.index) };
  };
}
