/**
 * rtnetlink's objects in the model's terms: links, addresses, routes, rules and neighbours,
 * encoded into requests and decoded from what the kernel sends back. Names are resolved to
 * indexes by the caller (a link index map per namespace); this module only translates.
 */
import { formatIP, parseIP, type Family } from "../../ip/index.ts";
import type { Address, BondSpec, Link, Neighbour, NextHop, Route, RouteType, Rule, Scope } from "../model.ts";
import { parsePrefix } from "../prefix.ts";
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

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
} as const;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const afOf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);
const familyOfAf = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

// ---- links ---------------------------------------------------------------------------

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

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`bad MAC '${mac}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macText(b: Uint8Array | undefined): string {
  if (b === undefined) return "";
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
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

// ---- addresses -----------------------------------------------------------------------

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_TENTATIVE = 0x40;

const SCOPES: Record<number, Scope> = { 0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere" };
export const SCOPE_NUMBER: Record<Scope, number> = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const scopeOf = (n: number): Scope => SCOPES[n] ?? "universe";

export function ipBytes(s: string): Uint8Array {
  const ip = parseIP(s);
  const n = ip.family === 4 ? 4 : 16;
  const b = new Uint8Array(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ipText(b: Uint8Array): string {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return formatIP(b.length === 4 ? 4 : 6, v);
}

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export function ifaddrmsg(af: number, prefixLength = 0, scope = 0, index = 0): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = af;
  b[1] = prefixLength;
  b[3] = scope;
  new DataView(b.buffer).setUint32(4, index, true);
  return b;
}

export function addrAttrs(address: string): Attr[] {
  const b = ipBytes(address);
  // IPv4 takes the local address in IFA_LOCAL (IFA_ADDRESS is the peer on point-to-point links).
  return b.length === 4 ? [bytes(IFA_LOCAL, b), bytes(IFA_ADDRESS, b)] : [bytes(IFA_ADDRESS, b)];
}

export function decodeAddress(m: Message): Address | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const a = parseAttrs(b, 8);
  const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (raw === undefined) return undefined;
  const flags = readU32(a.get(IFA_FLAGS)) ?? (b[2] as number);
  const out: Address = {
    linkIndex: new DataView(b.buffer, b.byteOffset).getUint32(4, true),
    family,
    address: ipText(raw),
    prefixLength: b[1] as number,
    scope: scopeOf(b[3] as number),
  };
  if (flags & IFA_F_TENTATIVE) out.tentative = true;
  return out;
}

// ---- routes --------------------------------------------------------------------------

const RTA = {
  DST: 1,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  TABLE: 15,
} as const;
const RTAX_MTU = 2;
const RTM_F_CLONED = 0x200;
export const RTPROT_BOOT = 3;

const ROUTE_TYPES: RouteType[] = [
  "unicast", // 0 (unspec) reads as unicast
  "unicast",
  "local",
  "broadcast",
  "anycast",
  "multicast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
];
const routeTypeNumber = (t: RouteType): number => ROUTE_TYPES.lastIndexOf(t);

/** struct rtmsg (also fib_rule_hdr's layout): family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
export function rtmsg(o: {
  af: number;
  dstLen?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  type?: number;
  flags?: number;
}): Uint8Array {
  const b = new Uint8Array(12);
  b[0] = o.af;
  b[1] = o.dstLen ?? 0;
  b[4] = o.table === undefined ? 0 : o.table < 256 ? o.table : 0;
  b[5] = o.protocol ?? 0;
  b[6] = o.scope ?? 0;
  b[7] = o.type ?? 0;
  new DataView(b.buffer).setUint32(8, o.flags ?? 0, true);
  return b;
}

/** How a route op is written: `resolve` turns a device name into its index. */
export function routeRequest(r: Route, resolve: (dev: string) => number, forDelete: boolean): [Uint8Array, Attr[]] {
  const p = parsePrefix(r.dst);
  if (p.family !== r.family) throw new RangeError(`route ${r.dst} is not IPv${r.family}`);
  const type = r.type ?? "unicast";
  // ip(8)'s defaults: a route without a gateway is on-link, a local one host-scoped; a delete matches any scope.
  let scope = r.scope === undefined ? undefined : SCOPE_NUMBER[r.scope];
  if (scope === undefined) {
    if (forDelete) scope = SCOPE_NUMBER.nowhere;
    else if (type === "local") scope = SCOPE_NUMBER.host;
    else if (r.family === 4 && r.gateway === undefined && r.multipath === undefined && type === "unicast")
      scope = SCOPE_NUMBER.link;
    else scope = SCOPE_NUMBER.universe;
  }
  const header = rtmsg({
    af: afOf(r.family),
    dstLen: p.prefix,
    table: r.table,
    protocol: forDelete ? 0 : RTPROT_BOOT,
    scope,
    type: forDelete && r.type === undefined ? 0 : routeTypeNumber(type),
  });
  const attrs: Attr[] = [u32(RTA.TABLE, r.table)];
  if (p.prefix > 0) attrs.push(bytes(RTA.DST, ipBytes(p.text.slice(0, p.text.indexOf("/")))));
  if (r.multipath !== undefined) {
    attrs.push(bytes(RTA.MULTIPATH, multipathBytes(r.multipath, resolve)));
  } else {
    if (r.gateway !== undefined) attrs.push(bytes(RTA.GATEWAY, ipBytes(r.gateway)));
    if (r.dev !== undefined) attrs.push(u32(RTA.OIF, resolve(r.dev)));
  }
  if (r.src !== undefined) attrs.push(bytes(RTA.PREFSRC, ipBytes(r.src)));
  if (r.metric !== undefined) attrs.push(u32(RTA.PRIORITY, r.metric));
  if (r.mtu !== undefined) attrs.push(nest(RTA.METRICS, [u32(RTAX_MTU, r.mtu)]));
  return [header, attrs];
}

function multipathBytes(hops: readonly NextHop[], resolve: (dev: string) => number): Uint8Array {
  const parts = hops.map((h) => {
    const attrs = h.gateway === undefined ? [] : [bytes(RTA.GATEWAY, ipBytes(h.gateway))];
    // struct rtnexthop: len, flags, hops (weight - 1), ifindex; then its attributes.
    const body = encodeAttrs(new Uint8Array(8), attrs);
    const v = new DataView(body.buffer);
    v.setUint16(0, body.length, true);
    v.setInt32(4, resolve(h.dev), true);
    return body;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A route as observed; undefined for cache clones (unless `keepCloned`) and families the model does not carry. */
export function decodeRoute(
  m: Message,
  nameOf: (index: number) => string | undefined,
  keepCloned = false,
): Route | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // A dump's clones are the route cache; the answer to a route get is one by nature.
  if (!keepCloned && v.getUint32(8, true) & RTM_F_CLONED) return undefined;
  const a = parseAttrs(b, 12);
  const dstLen = b[1] as number;
  const dstRaw = a.get(RTA.DST);
  const dstIP = dstRaw === undefined ? (family === 4 ? "0.0.0.0" : "::") : ipText(dstRaw);
  const route: Route = {
    table: readU32(a.get(RTA.TABLE)) ?? (b[4] as number),
    family,
    dst: `${dstIP}/${dstLen}`,
    protocol: b[5] as number,
  };
  const type = ROUTE_TYPES[b[7] as number] ?? "unicast";
  if (type !== "unicast") route.type = type;
  // IPv6 routes carry no scope of their own (always universe in a dump).
  if (family === 4) route.scope = scopeOf(b[6] as number);
  const gw = a.get(RTA.GATEWAY);
  if (gw !== undefined) route.gateway = ipText(gw);
  const oif = readU32(a.get(RTA.OIF));
  if (oif !== undefined) route.dev = nameOf(oif) ?? `if${oif}`;
  const src = a.get(RTA.PREFSRC);
  if (src !== undefined) route.src = ipText(src);
  const metric = readU32(a.get(RTA.PRIORITY));
  if (metric !== undefined) route.metric = metric;
  const metrics = a.get(RTA.METRICS);
  if (metrics !== undefined) {
    const mtu = readU32(parseAttrs(metrics).get(RTAX_MTU));
    if (mtu !== undefined) route.mtu = mtu;
  }
  const mp = a.get(RTA.MULTIPATH);
  if (mp !== undefined) {
    const hops: NextHop[] = [];
    const mv = new DataView(mp.buffer, mp.byteOffset, mp.byteLength);
    let at = 0;
    while (at + 8 <= mp.length) {
      const len = mv.getUint16(at, true);
      if (len < 8) break;
      const idx = mv.getInt32(at + 4, true);
      const ha = parseAttrs(mp.subarray(at, at + len), 8);
      const hop: NextHop = { dev: nameOf(idx) ?? `if${idx}` };
      const hgw = ha.get(RTA.GATEWAY);
      if (hgw !== undefined) hop.gateway = ipText(hgw);
      hops.push(hop);
      at += (len + 3) & ~3;
    }
    route.multipath = hops;
  }
  return route;
}

/**
 * IPv4: answer with the table the route was found in, not main (which a plain IPv4 route get
 * reports). IPv6 answers with the route's own table and refuses the flag.
 */
const RTM_F_LOOKUP_TABLE = 0x1000;

/** RTM_GETROUTE for one destination (`ip route get`). */
export function routeGetRequest(dst: string): [Uint8Array, Attr[]] {
  const b = ipBytes(dst);
  const v4 = b.length === 4;
  const header = rtmsg({ af: v4 ? AF_INET : AF_INET6, dstLen: b.length * 8, flags: v4 ? RTM_F_LOOKUP_TABLE : 0 });
  return [header, [bytes(RTA.DST, b)]];
}

// ---- rules ---------------------------------------------------------------------------

const FRA = { DST: 1, SRC: 2, PRIORITY: 6, FWMARK: 10, TABLE: 15, FWMASK: 16 } as const;
const FR_ACT_TO_TBL = 1;

export function ruleRequest(r: Rule, forDelete: boolean): [Uint8Array, Attr[]] {
  const header = new Uint8Array(12);
  header[0] = afOf(r.family);
  const attrs: Attr[] = [];
  if (r.src !== undefined) {
    const p = parsePrefix(r.src);
    header[2] = p.prefix;
    attrs.push(bytes(FRA.SRC, ipBytes(p.text.slice(0, p.text.indexOf("/")))));
  }
  if (r.dst !== undefined) {
    const p = parsePrefix(r.dst);
    header[1] = p.prefix;
    attrs.push(bytes(FRA.DST, ipBytes(p.text.slice(0, p.text.indexOf("/")))));
  }
  header[4] = r.table < 256 ? r.table : 0;
  header[7] = forDelete && r.table === 0 ? 0 : FR_ACT_TO_TBL;
  if (r.table !== 0) attrs.push(u32(FRA.TABLE, r.table));
  // No FRA_PRIORITY means "kernel, pick one" (spec Q5).
  if (r.priority !== undefined) attrs.push(u32(FRA.PRIORITY, r.priority));
  if (r.fwmark !== undefined) attrs.push(u32(FRA.FWMARK, r.fwmark));
  if (r.fwmask !== undefined) attrs.push(u32(FRA.FWMASK, r.fwmask));
  return [header, attrs];
}

export function decodeRule(m: Message): Rule | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const a = parseAttrs(b, 12);
  const rule: Rule = {
    family,
    priority: readU32(a.get(FRA.PRIORITY)) ?? 0,
    table: readU32(a.get(FRA.TABLE)) ?? (b[4] as number),
  };
  const src = a.get(FRA.SRC);
  if (src !== undefined) rule.src = `${ipText(src)}/${b[2] as number}`;
  const dst = a.get(FRA.DST);
  if (dst !== undefined) rule.dst = `${ipText(dst)}/${b[1] as number}`;
  const mark = readU32(a.get(FRA.FWMARK));
  if (mark !== undefined) rule.fwmark = mark;
  const mask = readU32(a.get(FRA.FWMASK));
  if (mask !== undefined) rule.fwmask = mask;
  return rule;
}

// ---- neighbours ----------------------------------------------------------------------

const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_PERMANENT = 0x80;
const NUD_NOARP = 0x40;
const NUD_FAILED = 0x20;
const NUD_INCOMPLETE = 0x01;

/** struct ndmsg: family, ifindex, state, flags, type. */
export function ndmsg(af: number, index = 0, state = 0): Uint8Array {
  const b = new Uint8Array(12);
  b[0] = af;
  const v = new DataView(b.buffer);
  v.setInt32(4, index, true);
  v.setUint16(8, state, true);
  return b;
}

export function neighRequest(
  n: Pick<Neighbour, "family" | "address"> & { mac?: string; permanent?: boolean },
  index: number,
): [Uint8Array, Attr[]] {
  const header = ndmsg(afOf(n.family), index, n.permanent === false ? 0x02 : NUD_PERMANENT);
  const attrs: Attr[] = [bytes(NDA_DST, ipBytes(n.address))];
  if (n.mac !== undefined) attrs.push(bytes(NDA_LLADDR, macBytes(n.mac)));
  return [header, attrs];
}

/** A neighbour as observed; NOARP (multicast, loopback), INCOMPLETE and FAILED entries are not neighbours yet. */
export function decodeNeighbour(m: Message, nameOf: (index: number) => string | undefined): Neighbour | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const index = v.getInt32(4, true);
  const state = v.getUint16(8, true);
  if (state & (NUD_NOARP | NUD_FAILED | NUD_INCOMPLETE)) return undefined;
  const a = parseAttrs(b, 12);
  const dst = a.get(NDA_DST);
  if (dst === undefined) return undefined;
  return {
    family,
    dev: nameOf(index) ?? `if${index}`,
    address: ipText(dst),
    mac: macText(a.get(NDA_LLADDR)),
    permanent: (state & NUD_PERMANENT) !== 0,
  };
}
