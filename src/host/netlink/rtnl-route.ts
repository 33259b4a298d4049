/**
 * rtnetlink routes in the model's terms: route ops (with ip(8)'s default scopes, multipath next
 * hops), `ip route get`, and routes as observed.
 */
import type { NextHop, Route, RouteType } from "../model.ts";
import { parsePrefix } from "../prefix.ts";
import { AF_INET, AF_INET6, afOf, familyOfAf, ipBytes, ipText, SCOPE_NUMBER, scopeOf } from "./rtnl.ts";
import { bytes, encodeAttrs, nest, parseAttrs, readU32, u32, type Attr, type Message } from "./wire.ts";

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
