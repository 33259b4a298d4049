/**
 * HostNetwork on the kernel: rtnetlink through sockets the addon opens inside each
 * namespace, /proc/sys writes from inside it, the reply-path marks as one nf_tables batch
 * (iptables.ensure, kept for other rules, through Debian's iptables-restore), ARP/NDP through
 * packet sockets. One plan opens at most one netlink socket per namespace
 * it touches and closes them when it ends.
 */
import { closeSync, openSync, statfsSync, statSync } from "node:fs";
import { SpiderpoolError } from "../errors/base.ts";
import type { HostAddon } from "./addon.ts";
import { loadAddon, syscallError } from "./addon.ts";
import { errnoText } from "./errno.ts";
import {
  HostSyscallError,
  IptablesError,
  LinkNotFoundError,
  NetlinkError,
  NotANetnsError,
  ReplyMarkError,
} from "./errors.ts";
import { ensureIptables } from "./iptables.ts";
import type { HostOp, Link, NetnsRef, NetnsState, OpFailure, Route } from "./model.ts";
import type { HostNetwork, ProbeAnswer, ProbeRequest } from "./network.ts";
import { announce, probe } from "./neighbour-probe.ts";
import { applyReplyMark, openNetfilter } from "./reply-mark.ts";
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from "./netlink/wire.ts";
import { AF_INET, AF_INET6, AF_UNSPEC, RTM, afOf } from "./netlink/rtnl.ts";
import { addrAttrs, decodeAddress, ifaddrmsg } from "./netlink/rtnl-address.ts";
import {
  bondAttrs,
  decodeLink,
  ifinfomsg,
  linkByNameRequest,
  linkSetRequest,
  vethAttrs,
  vlanAttrs,
} from "./netlink/rtnl-link.ts";
import { decodeNeighbour, ndmsg, neighRequest } from "./netlink/rtnl-neighbour.ts";
import { decodeRoute, routeGetRequest, routeRequest, rtmsg } from "./netlink/rtnl-route.ts";
import { decodeRule, ruleRequest } from "./netlink/rtnl-rule.ts";
import { NetlinkSocket } from "./netlink/socket.ts";
import { failureMessage, isIgnored, parseInterfaceAddress, sysctlPath } from "./prefix.ts";

const NSFS_MAGIC = 0x6e736673;
const CREATE = NLM_F_CREATE | NLM_F_EXCL;

export function nsPathOf(ns: NetnsRef): string | null {
  return ns.kind === "host" ? null : ns.path;
}

/** Opens the namespace's sockets on first use within one plan or one observation. */
class Sockets {
  private readonly open = new Map<string, NetlinkSocket>();
  private readonly netfilter = new Map<string, NetlinkSocket>();
  private readonly addon: HostAddon;
  constructor(addon: HostAddon) {
    this.addon = addon;
  }
  get(ns: NetnsRef): NetlinkSocket {
    const key = ns.kind === "host" ? "" : ns.path;
    let s = this.open.get(key);
    if (s === undefined) {
      s = new NetlinkSocket(this.addon, nsPathOf(ns));
      this.open.set(key, s);
    }
    return s;
  }
  /** One per namespace and plan: both families' batches share it, so neither waits on the other's release. */
  nftables(ns: NetnsRef): NetlinkSocket {
    const key = keyOf(ns);
    let s = this.netfilter.get(key);
    if (s === undefined) {
      s = openNetfilter(this.addon, nsPathOf(ns));
      this.netfilter.set(key, s);
    }
    return s;
  }
  close(): void {
    for (const s of this.open.values()) s.close();
    this.open.clear();
    // Its close waits for the kernel to release the committed transaction: off the event loop.
    for (const s of this.netfilter.values()) s.closeInBackground();
    this.netfilter.clear();
  }
}

export interface NetlinkHostOptions {
  /** iptables-restore/-save programs (Debian's by default). */
  iptables?: { restore4: string; restore6: string; save4: string; save6: string };
}

export class NetlinkHost implements HostNetwork {
  private readonly addon: HostAddon;
  private readonly options: NetlinkHostOptions;

  constructor(addon: HostAddon = loadAddon(), options: NetlinkHostOptions = {}) {
    this.addon = addon;
    this.options = options;
  }

  async netnsExists(path: string): Promise<boolean> {
    try {
      statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    if (statfsSync(path).type !== NSFS_MAGIC) throw new NotANetnsError(path);
    // nsfs holds every kind of namespace: only a network one can be entered for a netlink socket.
    try {
      this.addon.close(this.addon.netlinkOpen(path));
    } catch (err) {
      if (syscallError(err).errno === "EINVAL") throw new NotANetnsError(path);
      throw syscallError(err);
    }
    return true;
  }

  async observe(ns: NetnsRef): Promise<NetnsState> {
    const sock = new NetlinkSocket(this.addon, nsPathOf(ns));
    try {
      return observeWith(sock);
    } finally {
      sock.close();
    }
  }

  async routeGet(ns: NetnsRef, dst: string): Promise<Route | undefined> {
    const sock = new NetlinkSocket(this.addon, nsPathOf(ns));
    try {
      const names = linkNames(sock);
      const [header, attrs] = routeGetRequest(dst);
      let answer;
      try {
        answer = sock.get(RTM.GETROUTE, header, attrs);
      } catch (err) {
        if (err instanceof NetlinkError && (err.errno === "ENETUNREACH" || err.errno === "EHOSTUNREACH"))
          return undefined;
        throw err;
      }
      return decodeRoute(answer, (i) => names.get(i), true);
    } finally {
      sock.close();
    }
  }

  async apply(plan: readonly HostOp[]): Promise<OpFailure | undefined> {
    const sockets = new Sockets(this.addon);
    try {
      for (const [index, op] of plan.entries()) {
        try {
          await this.applyOne(sockets, op);
        } catch (err) {
          const errno = errnoOf(err);
          // An op the kernel never saw because it could not be written (a bad MAC, a bad prefix) fails
          // the plan the same way, without an errno; anything else is a bug and propagates.
          if (errno === undefined && !(err instanceof SpiderpoolError || err instanceof RangeError)) throw err;
          if (isIgnored(op, errno)) continue;
          const failure: OpFailure = { index, op, message: failureMessage(op, (err as Error).message) };
          if (errno !== undefined) failure.errno = errno;
          return failure;
        }
      }
      return undefined;
    } finally {
      sockets.close();
    }
  }

  async probe(req: ProbeRequest): Promise<ProbeAnswer> {
    const sock = new NetlinkSocket(this.addon, nsPathOf(req.ns));
    let link: Link;
    let linkLocal: string | undefined;
    try {
      link = linkByName(sock, req.dev);
      linkLocal = observeWith(sock).addresses.find(
        (a) => a.linkIndex === link.index && a.family === 6 && a.scope === "link" && a.tentative !== true,
      )?.address;
    } finally {
      sock.close();
    }
    return probe(this.addon, req, link, linkLocal);
  }

  private async applyOne(sockets: Sockets, op: HostOp): Promise<void> {
    const sock = sockets.get(op.ns);
    const indexOf = (name: string) => linkByName(sock, name).index;
    switch (op.op) {
      case "link.addVeth": {
        const sameNs = keyOf(op.peerNs) === keyOf(op.ns);
        const fd = sameNs ? undefined : openNetns(op.peerNs);
        try {
          const attrs = vethAttrs({
            name: op.name,
            mtu: op.mtu,
            mac: op.mac,
            peerName: op.peerName,
            peerMac: op.peerMac,
            ...(fd === undefined ? {} : { peerNsFd: fd }),
          });
          sock.exec(RTM.NEWLINK, CREATE, ifinfomsg(), attrs);
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
        return;
      }
      case "link.addVlan":
        sock.exec(RTM.NEWLINK, CREATE, ifinfomsg(), vlanAttrs(op.name, indexOf(op.parent), op.vlanId, op.mtu));
        return;
      case "link.addBond":
        sock.exec(RTM.NEWLINK, CREATE, ifinfomsg(), bondAttrs(op.name, op.bond, op.mtu, indexOf));
        return;
      case "link.enslave": {
        const [h, a] = linkSetRequest(indexOf(op.name), { masterIndex: indexOf(op.master) });
        sock.exec(RTM.NEWLINK, 0, h, a);
        return;
      }
      case "link.set": {
        const change: Parameters<typeof linkSetRequest>[1] = {};
        if (op.up !== undefined) change.up = op.up;
        if (op.mtu !== undefined) change.mtu = op.mtu;
        if (op.mac !== undefined) change.mac = op.mac;
        if (op.txQueueLen !== undefined) change.txQueueLen = op.txQueueLen;
        const [h, a] = linkSetRequest(indexOf(op.name), change);
        sock.exec(RTM.NEWLINK, 0, h, a);
        return;
      }
      case "link.del":
        sock.exec(RTM.DELLINK, 0, ifinfomsg(indexOf(op.name)), []);
        return;
      case "addr.add":
      case "addr.del": {
        const a = parseInterfaceAddress(op.cidr);
        const header = ifaddrmsg(afOf(a.family), a.prefixLength, 0, indexOf(op.dev));
        if (op.op === "addr.add") sock.exec(RTM.NEWADDR, CREATE, header, addrAttrs(a.address));
        else sock.exec(RTM.DELADDR, 0, header, addrAttrs(a.address));
        return;
      }
      case "route.add":
      case "route.replace": {
        const [h, a] = routeRequest(op.route, indexOf, false);
        sock.exec(RTM.NEWROUTE, op.op === "route.add" ? CREATE : NLM_F_CREATE | NLM_F_REPLACE, h, a);
        return;
      }
      case "route.del": {
        const [h, a] = routeRequest(op.route, indexOf, true);
        sock.exec(RTM.DELROUTE, 0, h, a);
        return;
      }
      case "rule.add": {
        const [h, a] = ruleRequest(op.rule, false);
        sock.exec(RTM.NEWRULE, CREATE, h, a);
        return;
      }
      case "rule.del": {
        const [h, a] = ruleRequest(op.rule, true);
        sock.exec(RTM.DELRULE, 0, h, a);
        return;
      }
      case "neigh.add": {
        const [h, a] = neighRequest(op.neighbour, indexOf(op.neighbour.dev));
        sock.exec(RTM.NEWNEIGH, CREATE, h, a);
        return;
      }
      case "neigh.del": {
        const [h, a] = neighRequest(op.neighbour, indexOf(op.neighbour.dev));
        sock.exec(RTM.DELNEIGH, 0, h, a);
        return;
      }
      case "sysctl.set": {
        const path = sysctlPath(op.key);
        try {
          this.addon.writeProcSys(nsPathOf(op.ns), path, op.value);
        } catch (err) {
          const errno = syscallError(err).errno;
          // Go's os.WriteFile wording, which upstream's sysctl errors carry.
          throw new HostSyscallError(errno, `open ${path}: ${errnoText(errno)}`);
        }
        return;
      }
      case "iptables.ensure":
        await ensureIptables(nsPathOf(op.ns), op.family, op.rules, this.options.iptables);
        return;
      case "mark.replyPath":
        applyReplyMark(sockets.nftables(op.ns), op.family, op.dev, op.mark);
        return;
      case "announce": {
        const link = linkByName(sock, op.dev);
        await announce(this.addon, nsPathOf(op.ns), link, op.address);
        return;
      }
    }
  }
}

function keyOf(ns: NetnsRef): string {
  return ns.kind === "host" ? "" : ns.path;
}

/** An fd on a namespace, for IFLA_NET_NS_FD; the agent's own is its main thread's. */
function openNetns(ns: NetnsRef): number {
  try {
    return openSync(ns.kind === "host" ? "/proc/self/ns/net" : ns.path, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new HostSyscallError(code, errnoText(code), { cause: err });
  }
}

function errnoOf(err: unknown): string | undefined {
  if (
    err instanceof NetlinkError ||
    err instanceof HostSyscallError ||
    err instanceof LinkNotFoundError ||
    err instanceof ReplyMarkError
  )
    return err.errno;
  if (err instanceof IptablesError) return "EIO";
  return undefined;
}

function linkByName(sock: NetlinkSocket, name: string): Link {
  const [h, a] = linkByNameRequest(name);
  try {
    return decodeLink(sock.get(RTM.GETLINK, h, a));
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === "ENODEV") throw new LinkNotFoundError(name);
    throw err;
  }
}

function linkNames(sock: NetlinkSocket): Map<number, string> {
  const links = sock.dump(RTM.GETLINK, ifinfomsg()).map(decodeLink);
  return new Map(links.map((l) => [l.index, l.name]));
}

function observeWith(sock: NetlinkSocket): NetnsState {
  const links = sock.dump(RTM.GETLINK, ifinfomsg()).map(decodeLink);
  const names = new Map(links.map((l) => [l.index, l.name]));
  const nameOf = (i: number) => names.get(i);
  const addresses = sock
    .dump(RTM.GETADDR, ifaddrmsg(AF_UNSPEC))
    .map(decodeAddress)
    .filter((a) => a !== undefined);
  const routes = [AF_INET, AF_INET6].flatMap((af) =>
    sock
      .dump(RTM.GETROUTE, rtmsg({ af }))
      .map((m) => decodeRoute(m, nameOf))
      .filter((r) => r !== undefined),
  );
  const rules = [AF_INET, AF_INET6].flatMap((af) =>
    sock
      .dump(RTM.GETRULE, rtmsg({ af }))
      .map(decodeRule)
      .filter((r) => r !== undefined),
  );
  const neighbours = sock
    .dump(RTM.GETNEIGH, ndmsg(AF_UNSPEC))
    .map((m) => decodeNeighbour(m, nameOf))
    .filter((n) => n !== undefined);
  return { links, addresses, routes, rules, neighbours };
}
