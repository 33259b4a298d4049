// NetlinkRdmaSource over a fake addon whose "kernel" answers nldev and rtnetlink requests per
// namespace: which requests a scrape makes, what it assembles, and the kernel without RDMA and
// the namespace gone since it was listed. The real kernel is test/kernel/rdma.test.ts's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HostAddon, RawEthtoolStats } from "../host/addon.ts";
import { RDMA_CMD } from "../host/netlink/rdma.ts";
import { RTM } from "../host/netlink/rtnl.ts";
import { ifinfomsg } from "../host/netlink/rtnl-link.ts";
import { NETLINK_RDMA } from "../host/netlink/socket.ts";
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  bytes,
  encodeMessage,
  nest,
  parseAttrs,
  readU32,
  splitMessages,
  str,
  u32,
  u8,
  type Attr,
} from "../host/netlink/wire.ts";
import { NetlinkRdmaSource } from "./netlink-source.ts";

const u64 = (type: number, v: bigint): Attr => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return bytes(type, b);
};

function errnoError(errno: number): Error {
  return Object.assign(new Error(`errno ${errno}`), { code: String(errno) });
}

interface FakeKernel {
  rdma: boolean;
  mode: number;
  /** Namespaces that exist ("" the host's) and their rxe device, if any. */
  ns: Map<string, { dev?: string; netdev: string; sent: bigint }>;
  requests: string[];
}

function fakeAddon(k: FakeKernel): HostAddon {
  const sockets = new Map<number, { ns: string; proto: number; queue: Uint8Array[] }>();
  let next = 3;
  const msg = (type: number, seq: number, header: Uint8Array, attrs: Attr[]): Uint8Array =>
    encodeMessage(type, 0x2, seq, header, attrs);
  const done = (seq: number): Uint8Array => msg(NLMSG_DONE, seq, new Uint8Array(4), []);
  const concat = (parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    netlinkOpen: (nsPath, protocol) => {
      const ns = nsPath ?? "";
      if (!k.ns.has(ns)) throw errnoError(2);
      if (protocol === NETLINK_RDMA && !k.rdma) throw errnoError(93);
      sockets.set(next, { ns, proto: protocol ?? 0, queue: [] });
      return next++;
    },
    send: (fd, buf) => {
      const s = sockets.get(fd);
      assert.ok(s !== undefined);
      const state = k.ns.get(s.ns);
      assert.ok(state !== undefined);
      for (const m of splitMessages(buf)) {
        k.requests.push(`${s.ns || "host"} ${s.proto}:${m.type}`);
        const dev = state.dev;
        const handle = [u32(1, 1), str(2, dev ?? "")];
        if (s.proto === NETLINK_RDMA && m.type === RDMA_CMD.SYS_GET) {
          s.queue.push(msg(m.type, m.seq, new Uint8Array(0), [u8(66, k.mode)]));
        } else if (s.proto === NETLINK_RDMA && m.type === RDMA_CMD.GET) {
          const devs =
            dev === undefined ? [] : [msg(m.type, m.seq, new Uint8Array(0), [...handle, u64(6, 0x901681fffe767801n)])];
          s.queue.push(concat([...devs, done(m.seq)]));
        } else if (s.proto === NETLINK_RDMA && m.type === RDMA_CMD.PORT_GET) {
          assert.equal(readU32(parseAttrs(m.body).get(1)), 1, "ports of device 1");
          const port = msg(m.type, m.seq, new Uint8Array(0), [...handle, u32(3, 1), str(51, state.netdev)]);
          s.queue.push(concat([port, done(m.seq)]));
        } else if (s.proto === NETLINK_RDMA && m.type === RDMA_CMD.STAT_GET) {
          const entry = nest(81, [str(82, "sent_pkts"), u64(83, state.sent)]);
          s.queue.push(msg(m.type, m.seq, new Uint8Array(0), [...handle, u32(3, 1), nest(80, [entry])]));
        } else if (s.proto === 0 && m.type === RTM.GETLINK) {
          const link = msg(16, m.seq, ifinfomsg(2), [
            str(3, state.netdev),
            bytes(1, Uint8Array.of(0x92, 0x16, 0x81, 0x76, 0x78, 1)),
          ]);
          s.queue.push(concat([link, done(m.seq)]));
        } else if (s.proto === 0 && m.type === RTM.GETROUTE) {
          const e = new Uint8Array(20);
          new DataView(e.buffer).setInt32(0, -101, true); // ENETUNREACH: no route, no pod address
          s.queue.push(msg(NLMSG_ERROR, m.seq, e, []));
        } else {
          assert.fail(`unexpected request ${s.proto}:${m.type}`);
        }
      }
      return buf.length;
    },
    recv: (fd, buf) => {
      const d = sockets.get(fd)?.queue.shift();
      if (d === undefined) return -1;
      buf.set(d);
      return d.length;
    },
    close: (fd) => {
      sockets.delete(fd);
    },
    closeAsync: async () => {},
    packetOpen: () => -1,
    packetRecv: async () => -1,
    writeProcSys: () => {},
    ethtoolStats: (): RawEthtoolStats => {
      throw errnoError(95); // a dummy's netdev: no driver statistics
    },
  };
}

describe("RDMA exporter's in-process source", () => {
  it("reads devices, their port's netdev and counters; a namespace without RDMA costs one empty dump", async () => {
    const k: FakeKernel = {
      rdma: true,
      mode: 0,
      ns: new Map([
        ["", { dev: "rxe0", netdev: "d0", sent: 412n }],
        ["/var/run/netns/a", { netdev: "eth0", sent: 0n }],
      ]),
      requests: [],
    };
    const src = new NetlinkRdmaSource(() => fakeAddon(k));
    assert.equal(await src.netnsMode(), "exclusive");
    k.requests.length = 0;
    const [host, a, ...rest] = await src.readAll([undefined, "/var/run/netns/a"]);
    assert.deepEqual(rest, []);
    assert.deepEqual(host?.devices, [{ ifname: "rxe0", node_guid: "9016:81ff:fe76:7801" }]);
    assert.deepEqual(host?.ports, [{ ifname: "rxe0", port: 1, netdev: "d0" }]);
    assert.deepEqual(host?.statistics, [{ ifname: "rxe0", port: 1, sent_pkts: 412 }]);
    assert.deepEqual(host?.netdevs, [{ ifname: "d0", address: "92:16:81:76:78:01" }]);
    assert.equal(host?.podIP, undefined);
    assert.deepEqual(host?.ethtool, {});
    assert.deepEqual(a, { path: "/var/run/netns/a", devices: [], ports: [], statistics: [], netdevs: [] });
    assert.deepEqual(
      k.requests.filter((r) => r.startsWith("/var")),
      [`/var/run/netns/a 20:${RDMA_CMD.GET}`],
    );
  });

  it("a namespace gone since the listing is left out; a kernel without RDMA has no devices and shares", async () => {
    const k: FakeKernel = { rdma: false, mode: 0, ns: new Map([["", { netdev: "d0", sent: 0n }]]), requests: [] };
    const src = new NetlinkRdmaSource(() => fakeAddon(k));
    assert.equal(await src.netnsMode(), "shared");
    const readings = await src.readAll([undefined, "/var/run/netns/gone"]);
    assert.deepEqual(readings, [{ devices: [], ports: [], statistics: [], netdevs: [], trafficClass: {} }]);
  });
});
