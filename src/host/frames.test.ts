import assert from "node:assert/strict";
import { test } from "node:test";
import {
  arpRequest,
  neighbourSolicitation,
  parseArp,
  parseNeighbourAdvert,
  solicitedNode,
  unsolicitedAdvert,
} from "./frames.ts";
import { ipText } from "./netlink/rtnl.ts";

test("host frames: an ARP request reads back; a conflict probe's sender is 0.0.0.0 (§1.12)", () => {
  const f = arpRequest("0a:00:00:00:00:01", "0.0.0.0", "192.0.2.9");
  assert.equal(f.length, 42);
  assert.deepEqual([...f.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  assert.deepEqual(parseArp(f), { op: 1, senderMac: "0a:00:00:00:00:01", senderIP: "0.0.0.0", targetIP: "192.0.2.9" });
});

test("host frames: an NS goes to the target's solicited-node group, with a source LL option unless sent from ::", () => {
  assert.equal(ipText(solicitedNode("2001:db8::12:3456")), "ff02::1:ff12:3456");
  const fromLL = neighbourSolicitation("0a:00:00:00:00:01", "fe80::1", "2001:db8::12:3456");
  assert.deepEqual([...fromLL.subarray(0, 6)], [0x33, 0x33, 0xff, 0x12, 0x34, 0x56]);
  assert.equal(fromLL.length, 14 + 40 + 32);
  assert.equal(fromLL[14 + 7], 255, "hop limit 255 (RFC 4861)");
  const dad = neighbourSolicitation("0a:00:00:00:00:01", "::", "2001:db8::12:3456");
  assert.equal(dad.length, 14 + 40 + 24);
});

test("host frames: an unsolicited NA carries Override and our MAC, and parses as an advert for the address", () => {
  const f = unsolicitedAdvert("0a:00:00:00:00:01", "2001:db8::1");
  assert.deepEqual([...f.subarray(0, 6)], [0x33, 0x33, 0, 0, 0, 1]);
  assert.equal(f[14 + 40 + 4], 0x20);
  assert.deepEqual(parseNeighbourAdvert(f), { target: "2001:db8::1", mac: "0a:00:00:00:00:01", linkLayerOptions: 1 });
});
