/**
 * rtnetlink links in the model's terms: RTM_GETLINK by name, veth (its peer possibly in another
 * namespace), vlan and bond (options by sysfs name) creation, changes to an existing link, and
 * links as the kernel reports them.
 */
import type { BondSpec, Link } from "../model.ts";
import { ipBytes, macBytes, macText } from "./rtnl.ts";
import {
  bytes,
  encodeAttrs,
  nest,
  parseAttrs,
  readStr,
  readU16,
  readU32,
  readU8,
  str,
  u16,
  u32,
  u8,
  type Attr,
  type Message,
} from "./wire.ts";

const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  TXQLEN: 13,
  LINKINFO: 18,
  NET_NS_FD: 28,
} as const;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_VLAN_ID = 1;
const IFLA_MACVLAN_MODE = 1;
const IFLA_IPVLAN_MODE = 1;
const IFLA_BOND_MODE = 1;

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;
const IFF_LOWER_UP = 0x10000;

/** struct ifinfomsg: family, type, index, flags, change. */
export function ifinfomsg(index = 0, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

/** RTM_GETLINK for one name. */
export function linkByNameRequest(name: string): [Uint8Array, Attr[]] {
  return [ifinfomsg(), [str(IFLA.IFNAME, name)]];
}

export interface VethRequest {
  name: string;
  mtu: number;
  mac: string;
  peerName: string;
  peerMac: string;
  /** An fd on the peer's namespace (IFLA_NET_NS_FD), when it is not this socket's. */
  peerNsFd?: number;
}

function linkBasics(name: string, mtu: number | undefined, mac: string | undefined): Attr[] {
  const a: Attr[] = [str(IFLA.IFNAME, name)];
  if (mtu !== undefined && mtu > 0) a.push(u32(IFLA.MTU, mtu));
  if (mac !== undefined && mac !== "") a.push(bytes(IFLA.ADDRESS, macBytes(mac)));
  return a;
}

export function vethAttrs(r: VethRequest): Attr[] {
  const peer = linkBasics(r.peerName, r.mtu, r.peerMac);
  if (r.peerNsFd !== undefined) peer.push(u32(IFLA.NET_NS_FD, r.peerNsFd));
  // VETH_INFO_PEER carries a whole ifinfomsg before its attributes.
  const peerPayload = encodeAttrs(ifinfomsg(), peer);
  return [
    ...linkBasics(r.name, r.mtu, r.mac),
    nest(IFLA.LINKINFO, [str(IFLA_INFO_KIND, "veth"), nest(IFLA_INFO_DATA, [bytes(VETH_INFO_PEER, peerPayload)])]),
  ];
}

export function vlanAttrs(name: string, parentIndex: number, vlanId: number, mtu?: number): Attr[] {
  return [
    ...linkBasics(name, mtu, undefined),
    u32(IFLA.LINK, parentIndex),
    nest(IFLA.LINKINFO, [str(IFLA_INFO_KIND, "vlan"), nest(IFLA_INFO_DATA, [u16(IFLA_VLAN_ID, vlanId)])]),
  ];
}

/**
 * IFLA_BOND_* attributes by option name, with their netlink width; `enum` lists the names
 * the kernel also accepts in sysfs for the option's numbers.
 */
const BOND_OPTIONS: Record<string, { type: number; width: 8 | 16 | 32 | "mac" | "ips" | "ifindex"; enum?: string[] }> =
  {
    active_slave: { type: 2, width: "ifindex" },
    miimon: { type: 3, width: 32 },
    updelay: { type: 4, width: 32 },
    up_delay: { type: 4, width: 32 },
    downdelay: { type: 5, width: 32 },
    use_carrier: { type: 6, width: 8 },
    arp_interval: { type: 7, width: 32 },
    arp_ip_target: { type: 8, width: "ips" },
    arp_validate: {
      type: 9,
      width: 32,
      enum: ["none", "active", "backup", "all", "filter", "filter_active", "filter_backup"],
    },
    arp_all_targets: { type: 10, width: 32, enum: ["any", "all"] },
    primary: { type: 11, width: "ifindex" },
    primary_reselect: { type: 12, width: 8, enum: ["always", "better", "failure"] },
    fail_over_mac: { type: 13, width: 8, enum: ["none", "active", "follow"] },
    xmit_hash_policy: {
      type: 14,
      width: 8,
      enum: ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"],
    },
    resend_igmp: { type: 15, width: 32 },
    all_slaves_active: { type: 17, width: 8 },
    min_links: { type: 18, width: 32 },
    lp_interval: { type: 19, width: 32 },
    packets_per_slave: { type: 20, width: 32 },
    lacp_rate: { type: 21, width: 8, enum: ["slow", "fast"] },
    ad_select: { type: 22, width: 8, enum: ["stable", "bandwidth", "count"] },
    ad_actor_sys_prio: { type: 24, width: 16 },
    ad_user_port_key: { type: 25, width: 16 },
    ad_actor_system: { type: 26, width: "mac" },
    tlb_dynamic_lb: { type: 27, width: 8 },
    peer_notif_delay: { type: 28, width: 32 },
  };

/** Bond attributes; `indexOf` resolves the options that name links (primary, active_slave). */
export function bondAttrs(
  name: string,
  bond: BondSpec,
  mtu: number | undefined,
  indexOf: (name: string) => number,
): Attr[] {
  const data: Attr[] = [u8(IFLA_BOND_MODE, bond.mode)];
  for (const [key, raw] of Object.entries(bond.options ?? {})) {
    const o = BOND_OPTIONS[key];
    if (o === undefined) throw new RangeError(`unknown bond option '${key}'`);
    const num = (): number => {
      if (typeof raw === "number") return raw;
      const i = o.enum?.indexOf(raw) ?? -1;
      if (i >= 0) return i;
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new RangeError(`bond option ${key}: '${raw}' is not a number`);
      return n;
    };
    switch (o.width) {
      case 8:
        data.push(u8(o.type, num()));
        break;
      case 16:
        data.push(u16(o.type, num()));
        break;
      case 32:
        data.push(u32(o.type, num()));
        break;
      case "mac":
        data.push(bytes(o.type, macBytes(String(raw))));
        break;
      case "ifindex":
        data.push(u32(o.type, indexOf(String(raw))));
        break;
      case "ips": {
        const ips = String(raw)
          .replace(/^\[|\]$/g, "")
          .split(",")
          .map((s) => s.trim().replace(/^"|"$/g, ""))
          .filter((s) => s !== "");
        data.push(
          nest(
            o.type,
            ips.map((ip, i) => bytes(i, ipBytes(ip))),
          ),
        );
        break;
      }
    }
  }
  return [
    ...linkBasics(name, mtu, undefined),
    nest(IFLA.LINKINFO, [str(IFLA_INFO_KIND, "bond"), nest(IFLA_INFO_DATA, data)]),
  ];
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  txQueueLen?: number;
  masterIndex?: number;
}

/** RTM_NEWLINK on an existing index: ifinfomsg's flags/change for up/down, attributes for the rest. */
export function linkSetRequest(index: number, c: LinkChange): [Uint8Array, Attr[]] {
  const attrs: Attr[] = [];
  if (c.mtu !== undefined) attrs.push(u32(IFLA.MTU, c.mtu));
  if (c.mac !== undefined) attrs.push(bytes(IFLA.ADDRESS, macBytes(c.mac)));
  if (c.txQueueLen !== undefined) attrs.push(u32(IFLA.TXQLEN, c.txQueueLen));
  if (c.masterIndex !== undefined) attrs.push(u32(IFLA.MASTER, c.masterIndex));
  const header = c.up === undefined ? ifinfomsg(index) : ifinfomsg(index, c.up ? IFF_UP : 0, IFF_UP);
  return [header, attrs];
}

export function decodeLink(m: Message): Link {
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const index = v.getInt32(4, true);
  const flags = v.getUint32(8, true);
  const a = parseAttrs(m.body, 16);
  const link: Link = {
    index,
    name: readStr(a.get(IFLA.IFNAME)) ?? "",
    flags: {
      up: (flags & IFF_UP) !== 0,
      broadcast: (flags & IFF_BROADCAST) !== 0,
      multicast: (flags & IFF_MULTICAST) !== 0,
      loopback: (flags & IFF_LOOPBACK) !== 0,
      lowerUp: (flags & IFF_LOWER_UP) !== 0,
    },
    mtu: readU32(a.get(IFLA.MTU)) ?? 0,
    mac: macText(a.get(IFLA.ADDRESS)),
    txQueueLen: readU32(a.get(IFLA.TXQLEN)) ?? 0,
  };
  const master = readU32(a.get(IFLA.MASTER));
  if (master !== undefined && master !== 0) link.masterIndex = master;
  const li = a.get(IFLA.LINKINFO);
  if (li !== undefined) {
    const info = parseAttrs(li);
    const kind = readStr(info.get(IFLA_INFO_KIND));
    if (kind !== undefined) link.kind = kind;
    const data = info.get(IFLA_INFO_DATA);
    if (data !== undefined) {
      const d = parseAttrs(data);
      const facts: Record<string, string | number> = {};
      if (kind === "vlan") {
        const id = readU16(d.get(IFLA_VLAN_ID));
        if (id !== undefined) facts.vlanId = id;
      } else if (kind === "macvlan" || kind === "macvtap") {
        const mode = readU32(d.get(IFLA_MACVLAN_MODE));
        const names: Record<number, string> = { 1: "private", 2: "vepa", 4: "bridge", 8: "passthru", 16: "source" };
        if (mode !== undefined) facts.mode = names[mode] ?? mode;
      } else if (kind === "ipvlan") {
        const mode = readU16(d.get(IFLA_IPVLAN_MODE));
        if (mode !== undefined) facts.mode = ["l2", "l3", "l3s"][mode] ?? mode;
      } else if (kind === "bond") {
        const mode = readU8(d.get(IFLA_BOND_MODE));
        if (mode !== undefined) facts.mode = mode;
        const miimon = readU32(d.get(3));
        if (miimon !== undefined) facts.miimon = miimon;
      }
      if (Object.keys(facts).length > 0) link.info = facts;
    }
  }
  const parent = readU32(a.get(IFLA.LINK));
  // A veth's IFLA_LINK is its peer's index in the peer's namespace, which may equal its own.
  if (parent !== undefined && parent !== 0 && (parent !== index || link.kind === "veth")) link.parentIndex = parent;
  return link;
}
