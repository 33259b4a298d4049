/**
 * The Ethernet frames of ARP (RFC 826) and NDP (RFC 4861) probes and announcements, built
 * and read here so the addon only moves bytes.
 */
import { ipBytes, ipText, macBytes, macText } from "./netlink/rtnl.ts";

export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const ZERO_MAC = "00:00:00:00:00:00";

function ethernet(dst: string, src: string, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  new DataView(f.buffer).setUint16(12, type);
  f.set(payload, 14);
  return f;
}

/** An ARP request from (senderMac, senderIP) for targetIP, broadcast. */
export function arpRequest(senderMac: string, senderIP: string, targetIP: string): Uint8Array {
  const p = new Uint8Array(28);
  const v = new DataView(p.buffer);
  v.setUint16(0, 1); // Ethernet
  v.setUint16(2, 0x0800);
  p[4] = 6;
  p[5] = 4;
  v.setUint16(6, 1); // request
  p.set(macBytes(senderMac), 8);
  p.set(ipBytes(senderIP), 14);
  p.set(macBytes(ZERO_MAC), 18);
  p.set(ipBytes(targetIP), 24);
  return ethernet(BROADCAST, senderMac, ETH_P_ARP, p);
}

export interface ArpPacket {
  op: number;
  senderMac: string;
  senderIP: string;
  targetIP: string;
}

export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  if (frame.length < 42) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(12) !== ETH_P_ARP || v.getUint16(14) !== 1 || v.getUint16(16) !== 0x0800) return undefined;
  return {
    op: v.getUint16(20),
    senderMac: macText(frame.subarray(22, 28)),
    senderIP: ipText(frame.subarray(28, 32)),
    targetIP: ipText(frame.subarray(38, 42)),
  };
}

/** The solicited-node group of an address: ff02::1:ff00:0/104 with its last 24 bits. */
export function solicitedNode(ip: string): Uint8Array {
  const b = ipBytes(ip);
  const g = ipBytes("ff02::1:ff00:0");
  g.set(b.subarray(13), 13);
  return g;
}

function multicastMac(group: Uint8Array): string {
  return macText(Uint8Array.of(0x33, 0x33, ...group.subarray(12)));
}

function checksum(src: Uint8Array, dst: Uint8Array, icmp: Uint8Array): number {
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] ?? 0);
  };
  add(src);
  add(dst);
  sum += icmp.length;
  sum += 58;
  add(icmp);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * A neighbour solicitation for `target` to its solicited-node group. From the unspecified
 * address (a DAD-style conflict probe) it carries no source link-layer option (RFC 4861 §4.3).
 */
export function neighbourSolicitation(srcMac: string, srcIP: string, target: string): Uint8Array {
  const src = ipBytes(srcIP);
  const dst = solicitedNode(target);
  const unspecified = src.every((x) => x === 0);
  const icmp = new Uint8Array(24 + (unspecified ? 0 : 8));
  icmp[0] = 135;
  icmp.set(ipBytes(target), 8);
  if (!unspecified) {
    icmp[24] = 1; // source link-layer address
    icmp[25] = 1;
    icmp.set(macBytes(srcMac), 26);
  }
  new DataView(icmp.buffer).setUint16(2, checksum(src, dst, icmp));
  return ipv6Frame(multicastMac(dst), srcMac, src, dst, icmp);
}

/**
 * An unsolicited neighbour advertisement (RFC 4861 §7.2.6) for `address` to all nodes, with
 * the Override flag and our MAC as the target link-layer option: what makes neighbours
 * update an entry they hold after our MAC changed.
 */
export function unsolicitedAdvert(mac: string, address: string): Uint8Array {
  const src = ipBytes(address);
  const dst = ipBytes("ff02::1");
  const icmp = new Uint8Array(32);
  icmp[0] = 136;
  icmp[4] = 0x20; // Override
  icmp.set(src, 8);
  icmp[24] = 2; // target link-layer address
  icmp[25] = 1;
  icmp.set(macBytes(mac), 26);
  new DataView(icmp.buffer).setUint16(2, checksum(src, dst, icmp));
  return ipv6Frame(macText(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1)), mac, src, dst, icmp);
}

function ipv6Frame(dstMac: string, srcMac: string, src: Uint8Array, dst: Uint8Array, icmp: Uint8Array): Uint8Array {
  const ip6 = new Uint8Array(40 + icmp.length);
  const v = new DataView(ip6.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, icmp.length);
  ip6[6] = 58;
  ip6[7] = 255;
  ip6.set(src, 8);
  ip6.set(dst, 24);
  ip6.set(icmp, 40);
  return ethernet(dstMac, srcMac, ETH_P_IPV6, ip6);
}

export interface NeighbourAdvert {
  target: string;
  /** The target link-layer address option, or the frame's source when there is none. */
  mac: string;
  linkLayerOptions: number;
}

export function parseNeighbourAdvert(frame: Uint8Array): NeighbourAdvert | undefined {
  if (frame.length < 14 + 40 + 24) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(12) !== ETH_P_IPV6 || frame[14 + 6] !== 58 || frame[54] !== 136) return undefined;
  const target = ipText(frame.subarray(62, 78));
  let mac = macText(frame.subarray(6, 12));
  let options = 0;
  for (let at = 78; at + 8 <= frame.length;) {
    const len = (frame[at + 1] as number) * 8;
    if (len === 0) break;
    if (frame[at] === 2) {
      options++;
      mac = macText(frame.subarray(at + 2, at + 8));
    }
    at += len;
  }
  return { target, mac, linkLayerOptions: options };
}
