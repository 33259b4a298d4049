// The rtnetlink codec without a kernel: requests are checked byte for byte where the layout
// is the point (veth's nested peer, multipath next hops), and what we encode decodes back.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Route } from "../model.ts";
import { AF_INET, RTM, ipBytes, ipText, macBytes, macText } from "./rtnl.ts";
import { ifinfomsg, vethAttrs } from "./rtnl-link.ts";
import { decodeRoute, routeRequest } from "./rtnl-route.ts";
import { decodeRule, ruleRequest } from "./rtnl-rule.ts";
import {
  NLMSG_ERROR,
  encodeMessage,
  listAttrs,
  parseAttrs,
  parseError,
  readStr,
  readU32,
  splitMessages,
} from "./wire.ts";

const names = new Map([
  [2, "veth0"],
  [3, "eth1"],
]);
const indexOf = (n: string): number => {
  for (const [i, name] of names) if (name === n) return i;
  throw new Error(n);
};

/** A request re-read as the kernel's answer would carry it (same family header and attributes). */
function roundTripRoute(r: Route): Route | undefined {
  const [h, a] = routeRequest(r, indexOf, false);
  const [m] = [...splitMessages(encodeMessage(RTM.NEWROUTE, 0, 1, h, a))];
  return decodeRoute(m!, (i) => names.get(i));
}

test("host codec: routes with a table above 255, src, metric, mtu and multipath survive encode → decode", () => {
  const r: Route = {
    table: 1000,
    family: 4,
    dst: "198.51.100.0/24",
    gateway: "192.0.2.254",
    dev: "veth0",
    src: "192.0.2.1",
    scope: "universe",
    metric: 10,
    mtu: 1400,
  };
  assert.deepEqual(roundTripRoute(r), { ...r, protocol: 3 });
  const mp: Route = {
    table: 254,
    family: 6,
    dst: "::/0",
    multipath: [
      { dev: "veth0", gateway: "2001:db8::1" },
      { dev: "eth1", gateway: "fe80::1" },
    ],
  };
  assert.deepEqual(roundTripRoute(mp), { ...mp, protocol: 3 });
  // The rtmsg table byte cannot hold 1000: RT_TABLE_UNSPEC there, RTA_TABLE carries it.
  const [h] = routeRequest(r, indexOf, false);
  assert.equal(h[4], 0);
});

test("host codec: ip(8)'s scope defaults, and a delete that matches any scope", () => {
  const scopeOf = (r: Route, del = false) => routeRequest(r, indexOf, del)[0][6];
  assert.equal(scopeOf({ table: 254, family: 4, dst: "192.0.2.9/32", dev: "veth0" }), 253);
  assert.equal(scopeOf({ table: 254, family: 4, dst: "0.0.0.0/0", gateway: "192.0.2.1", dev: "veth0" }), 0);
  assert.equal(scopeOf({ table: 254, family: 4, dst: "192.0.2.9/32" }, true), 255);
  assert.throws(() => routeRequest({ table: 254, family: 4, dst: "2001:db8::/64" }, indexOf, false), RangeError);
});

test("host codec (spec Q5): a rule without priority sends no FRA_PRIORITY; fwmark, table > 255 and prefixes decode back", () => {
  const [h, a] = ruleRequest({ family: 4, table: 101, src: "192.0.2.1" }, false);
  const [m] = [...splitMessages(encodeMessage(RTM.NEWRULE, 0, 1, h, a))];
  const attrs = parseAttrs(m!.body, 12);
  assert.equal(attrs.has(6), false, "no FRA_PRIORITY");
  assert.deepEqual(decodeRule(m!), { family: 4, priority: 0, table: 101, src: "192.0.2.1/32" });
  const [h2, a2] = ruleRequest({ family: 6, table: 1000, fwmark: 1, fwmask: 0xff, priority: 1000 }, false);
  const [m2] = [...splitMessages(encodeMessage(RTM.NEWRULE, 0, 1, h2, a2))];
  assert.deepEqual(decodeRule(m2!), { family: 6, priority: 1000, table: 1000, fwmark: 1, fwmask: 0xff });
});

test("host codec: a veth's peer is a nested ifinfomsg with its own name, MAC and namespace fd", () => {
  const attrs = vethAttrs({
    name: "veth0",
    mtu: 1500,
    mac: "0a:00:00:00:00:01",
    peerName: "vethabc",
    peerMac: "0a:00:00:00:00:02",
    peerNsFd: 7,
  });
  const msg = encodeMessage(RTM.NEWLINK, 0, 1, ifinfomsg(), attrs);
  const [m] = [...splitMessages(msg)];
  const top = parseAttrs(m!.body, 16);
  assert.equal(readStr(top.get(3)), "veth0");
  const info = parseAttrs(top.get(18)!);
  assert.equal(readStr(info.get(1)), "veth");
  const peer = parseAttrs(info.get(2)!).get(1)!;
  // 16 bytes of ifinfomsg, then the peer's attributes.
  const pa = parseAttrs(peer, 16);
  assert.equal(readStr(pa.get(3)), "vethabc");
  assert.equal(macText(pa.get(1)), "0a:00:00:00:00:02");
  assert.equal(readU32(pa.get(28)), 7);
  assert.equal(readU32(pa.get(4)), 1500);
});

test("host codec: an error message gives the errno and the kernel's extended-ack text", () => {
  // nlmsgerr with NLM_F_CAPPED | NLM_F_ACK_TLVS: error, the request's header, then NLMSGERR_ATTR_MSG.
  const text = new TextEncoder().encode("Nexthop has invalid gateway\0");
  const body = new Uint8Array(4 + 16 + 4 + 28);
  const v = new DataView(body.buffer);
  v.setInt32(0, -101, true);
  v.setUint32(4, 16, true);
  v.setUint16(20, 4 + text.length, true);
  v.setUint16(22, 1, true);
  body.set(text, 24);
  const e = parseError({ type: NLMSG_ERROR, flags: 0x300, seq: 1, body });
  assert.deepEqual(e, { errno: 101, text: "Nexthop has invalid gateway" });
});

test("host codec: addresses and MACs as bytes", () => {
  assert.equal(ipText(ipBytes("2001:db8::1")), "2001:db8::1");
  assert.deepEqual([...ipBytes("192.0.2.1")], [192, 0, 2, 1]);
  assert.equal(macText(macBytes("0A-1B-00-00-00-FF")), "0a:1b:00:00:00:ff");
  assert.throws(() => macBytes("0a:1b"), RangeError);
  assert.equal(listAttrs(new Uint8Array(3)).length, 0);
  assert.equal(AF_INET, 2);
});
