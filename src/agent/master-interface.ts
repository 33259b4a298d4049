/**
 * `match_master_subnet` (ipam-behavior §1.7 step 9): the interface on the node behind the
 * pod's NIC and its addresses, read through the agent's host network. A macvlan, ipvlan or
 * vlan NIC names its parent by index (IFLA_LINK), an index in the node's namespace, where the
 * plugin made it. Other kinds are refused with the reason rather than matched against a
 * stranger: a veth's IFLA_LINK is an index in its peer's namespace, and an SR-IOV VF has no
 * parent link at all (its PF is found through sysfs, not done yet).
 */
import type { NetnsRef } from "../host/model.ts";
import type { HostNetwork } from "../host/network.ts";
import { IpamError } from "../ipam/errors.ts";
import type { MasterInterface } from "../ipam/filter.ts";

/** Kinds whose IFLA_LINK is the master on the node when the plugin made them there. */
const CHILD_KINDS = new Set(["macvlan", "macvtap", "ipvlan", "vlan"]);

export type MasterLookup = (podNetns: string, ifName: string) => Promise<MasterInterface>;

export const masterNotFound = (ifName: string, why: string): IpamError =>
  new IpamError(
    "ERR_MASTER_NOT_FOUND",
    `filterPoolCandidatesByPfSubnet: failed to find the master interface of NIC ${ifName}: ${why}`,
  );

export function masterLookup(host: HostNetwork, hostNs: NetnsRef): MasterLookup {
  return async (podNetns, ifName) => {
    const pod = await host.observe({ kind: "path", path: podNetns });
    const nic = pod.links.find((l) => l.name === ifName);
    if (nic === undefined) throw masterNotFound(ifName, `no interface ${ifName} in ${podNetns}`);
    if (!CHILD_KINDS.has(nic.kind ?? "") || nic.parentIndex === undefined)
      throw masterNotFound(
        ifName,
        `${ifName} is ${nic.kind === undefined ? "a device without a parent link (SR-IOV VFs are not resolved yet)" : `a ${nic.kind}`}, not a macvlan, ipvlan or vlan on a node link`,
      );
    const node = await host.observe(hostNs);
    const master = node.links.find((l) => l.index === nic.parentIndex);
    if (master === undefined) throw masterNotFound(ifName, `no link with index ${nic.parentIndex} on the node`);
    // Only addresses the node can use: a tentative IPv6 one is not the master's yet.
    const addresses = node.addresses
      .filter((a) => a.linkIndex === master.index && a.scope === "universe" && a.tentative !== true)
      .map((a) => a.address);
    return { name: master.name, addresses };
  };
}
