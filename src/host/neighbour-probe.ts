/**
 * ARP and NDP probes (spec §1.12) and gratuitous announcements (§1.7) on a packet socket
 * the addon opens on the link inside its namespace. Reads wait on libuv's pool, so a probe
 * holds no event-loop time while it waits for an answer.
 */
import { canonicalIP, familyOfIP } from "../ip/index.ts";
import type { HostAddon } from "./addon.ts";
import { syscallError } from "./addon.ts";
import {
  ETH_P_ARP,
  ETH_P_IPV6,
  arpRequest,
  neighbourSolicitation,
  parseArp,
  parseNeighbourAdvert,
  unsolicitedAdvert,
} from "./frames.ts";
import type { Link } from "./model.ts";
import type { ProbeAnswer, ProbeRequest } from "./network.ts";

const FRAME = 2048;

function openPacket(addon: HostAddon, nsPath: string | null, ifindex: number, ethertype: number): number {
  try {
    return addon.packetOpen(nsPath, ifindex, ethertype);
  } catch (err) {
    throw syscallError(err);
  }
}

function send(addon: HostAddon, fd: number, frame: Uint8Array): void {
  try {
    addon.send(fd, frame);
  } catch (err) {
    throw syscallError(err);
  }
}

/**
 * Sends up to `retries` requests, each followed by reads until `timeoutMs` passes; the
 * first matching answer ends it. A send that fails counts as a try; all failing throws.
 */
export async function probe(
  addon: HostAddon,
  req: ProbeRequest,
  link: Link,
  linkLocal: string | undefined,
): Promise<ProbeAnswer> {
  const target = canonicalIP(req.target);
  const v4 = req.family === 4;
  let frame: Uint8Array;
  if (v4) {
    const sender = req.purpose === "conflict" ? "0.0.0.0" : (req.source ?? "0.0.0.0");
    frame = arpRequest(link.mac, sender, target);
  } else {
    const sender = req.purpose === "conflict" ? "::" : (req.source ?? linkLocal ?? "::");
    frame = neighbourSolicitation(link.mac, sender, target);
  }
  const matches = (f: Uint8Array): string | undefined => {
    if (v4) {
      const a = parseArp(f);
      return a !== undefined && a.op === 2 && a.senderIP === target ? a.senderMac : undefined;
    }
    const na = parseNeighbourAdvert(f);
    return na !== undefined && na.target === target && na.linkLayerOptions <= 1 ? na.mac : undefined;
  };
  const fd = openPacket(addon, nsPathOfReq(req), link.index, v4 ? ETH_P_ARP : ETH_P_IPV6);
  const buf = new Uint8Array(FRAME);
  let lastError: unknown;
  let sent = 0;
  try {
    for (let attempt = 0; attempt < Math.max(1, req.retries); attempt++) {
      try {
        send(addon, fd, frame);
        sent++;
      } catch (err) {
        lastError = err;
        continue;
      }
      const deadline = Date.now() + req.timeoutMs;
      for (let left = req.timeoutMs; left > 0; left = deadline - Date.now()) {
        const n = await addon.packetRecv(fd, buf, left);
        if (n < 0) break;
        const mac = matches(buf.subarray(0, n));
        if (mac !== undefined) return { answered: true, mac };
      }
    }
  } finally {
    addon.close(fd);
  }
  if (sent === 0) throw lastError;
  return { answered: false };
}

function nsPathOfReq(req: ProbeRequest): string | null {
  return req.ns.kind === "host" ? null : req.ns.path;
}

/**
 * Gratuitous ARP (a request with sender = target = address, broadcast), or for IPv6 an
 * unsolicited NA with Override. Upstream sends an NS for the address instead, which Linux
 * neighbours drop unseen (an NS only updates the cache when its target is the receiver's
 * own); docs/compatibility.md records the difference.
 */
export async function announce(addon: HostAddon, nsPath: string | null, link: Link, address: string): Promise<void> {
  const ip = canonicalIP(address);
  const v4 = familyOfIP(ip) === 4;
  const frame = v4 ? arpRequest(link.mac, ip, ip) : unsolicitedAdvert(link.mac, ip);
  const fd = openPacket(addon, nsPath, link.index, v4 ? ETH_P_ARP : ETH_P_IPV6);
  try {
    send(addon, fd, frame);
  } finally {
    addon.close(fd);
  }
}
