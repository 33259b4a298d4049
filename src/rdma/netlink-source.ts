/**
 * RdmaSource in-process: RDMA netlink (the requests iproute2's `rdma` makes) and rtnetlink
 * through the host addon's sockets, opened inside each namespace; no process per scrape,
 * which under emulation cost seconds. A kernel without RDMA (ib_core not loaded) refuses the
 * RDMA socket: no devices then, and shared mode. Files are read synchronously too: they are
 * in sysfs and /run (memory), and a scrape that yields to the agent's other work between
 * namespaces only takes longer.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadAddon, type HostAddon } from "../host/addon.ts";
import { HostSyscallError } from "../host/errors.ts";
import { readEthtoolStats, type EthtoolStats } from "../host/ethtool.ts";
import {
  NO_HEADER,
  RDMA_CMD,
  decodeCounters,
  decodeDevice,
  decodeNetnsMode,
  decodePort,
  deviceRequest,
  portRequest,
} from "../host/netlink/rdma.ts";
import { RTM } from "../host/netlink/rtnl.ts";
import { decodeLink, ifinfomsg } from "../host/netlink/rtnl-link.ts";
import { decodeRoute, routeGetRequest } from "../host/netlink/rtnl-route.ts";
import { NETLINK_RDMA, NETLINK_ROUTE, NetlinkSocket } from "../host/netlink/socket.ts";
import type { NamespaceReading, Netdev, RdmaStatistic, RdmaSource } from "./model.ts";
import { netdevOf } from "./samples.ts";

const NETNS_DIRS = ["/var/run/netns", "/var/run/docker/netns"];
/** Where the pod's preferred source address is looked up, as the CLI source did with `ip route get`. */
const PROBES = ["1.0.0.0", "2001:4860:4860::8888"];

export class NetlinkRdmaSource implements RdmaSource {
  readonly #addon: () => HostAddon;

  constructor(addon: () => HostAddon = loadAddon) {
    this.#addon = addon;
  }

  async netnsMode(): Promise<"shared" | "exclusive"> {
    const s = this.#open(null, NETLINK_RDMA);
    if (s === undefined) return "shared";
    try {
      return decodeNetnsMode(s.get(RDMA_CMD.SYS_GET, NO_HEADER, []));
    } finally {
      s.close();
    }
  }

  async namespaces(): Promise<string[]> {
    const out: string[] = [];
    for (const dir of NETNS_DIRS) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (n !== "default") out.push(`${dir}/${n}`);
    }
    return out;
  }

  async readAll(paths: readonly (string | undefined)[]): Promise<NamespaceReading[]> {
    const out: NamespaceReading[] = [];
    for (const path of paths) {
      const r = this.#read(path);
      if (r === undefined) continue;
      if (path === undefined) r.trafficClass = trafficClasses(r);
      out.push(r);
    }
    return out;
  }

  /** One namespace; undefined when it went away since it was listed (the host's is always there). */
  #read(path: string | undefined): NamespaceReading | undefined {
    let s: NetlinkSocket | undefined;
    try {
      s = this.#open(path ?? null, NETLINK_RDMA);
    } catch (err) {
      if (path !== undefined && err instanceof HostSyscallError && err.errno === "ENOENT") return undefined;
      throw err;
    }
    const reading: NamespaceReading = { devices: [], ports: [], statistics: [], netdevs: [] };
    if (path !== undefined) reading.path = path;
    if (s === undefined) return reading;
    try {
      const devices = s.dump(RDMA_CMD.GET, NO_HEADER).flatMap((m) => decodeDevice(m) ?? []);
      if (devices.length === 0) return reading;
      for (const d of devices) {
        const { index: _index, ...device } = d;
        reading.devices.push(device);
        for (const m of s.dump(RDMA_CMD.PORT_GET, NO_HEADER, deviceRequest(d.index))) {
          const p = decodePort(m);
          if (p === undefined) continue;
          reading.ports.push(
            p.netdev === undefined
              ? { ifname: p.ifname, port: p.port }
              : { ifname: p.ifname, port: p.port, netdev: p.netdev },
          );
          const c = decodeCounters(s.get(RDMA_CMD.STAT_GET, NO_HEADER, portRequest(d.index, p.port)));
          if (c !== undefined)
            reading.statistics.push({ ifname: c.ifname, port: c.port, ...c.counters } as RdmaStatistic);
        }
      }
    } finally {
      s.close();
    }
    const rt = this.#open(path ?? null, NETLINK_ROUTE);
    if (rt === undefined) return reading;
    try {
      reading.netdevs = rt.dump(RTM.GETLINK, ifinfomsg()).map((m): Netdev => {
        const l = decodeLink(m);
        return { ifname: l.name, address: l.mac };
      });
      const podIP = preferredSource(rt);
      if (podIP !== undefined) reading.podIP = podIP;
    } finally {
      rt.close();
    }
    this.#readEthtool(path, reading);
    return reading;
  }

  /** The devices' netdevs' driver statistics, and the PF of each that is a VF. */
  #readEthtool(path: string | undefined, reading: NamespaceReading): void {
    reading.ethtool = {};
    reading.parentOf = {};
    for (const d of reading.devices) {
      const netdev = netdevOf(d, reading);
      if (netdev === undefined) continue;
      let e: EthtoolStats;
      try {
        e = readEthtoolStats(this.#addon(), path ?? null, netdev);
      } catch {
        continue; // no ethtool for this netdev (gone, or a driver without it)
      }
      reading.ethtool[netdev] = e.stats;
      const parent = pfNetdev(e.busInfo);
      if (parent !== undefined) reading.parentOf[netdev] = parent;
    }
  }

  /** A socket in the namespace; undefined when the kernel has no such netlink family. */
  #open(nsPath: string | null, protocol: number): NetlinkSocket | undefined {
    try {
      return new NetlinkSocket(this.#addon(), nsPath, protocol);
    } catch (err) {
      if (err instanceof HostSyscallError && err.errno === "EPROTONOSUPPORT") return undefined;
      throw err;
    }
  }
}

/** A VF's PF netdev: the PCI device's `physfn` link leads to the PF, whose netdev sits in the host's namespace. */
function pfNetdev(busInfo: string): string | undefined {
  if (!/^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(busInfo)) return undefined;
  try {
    return readdirSync(`/sys/bus/pci/devices/${busInfo}/physfn/net`).sort()[0];
  } catch {
    return undefined; // not a VF
  }
}

function preferredSource(rt: NetlinkSocket): string | undefined {
  for (const dst of PROBES) {
    try {
      const [header, attrs] = routeGetRequest(dst);
      const route = decodeRoute(rt.get(RTM.GETROUTE, header, attrs), () => undefined, true);
      if (route?.src !== undefined) return route.src;
    } catch {
      // no route for this family
    }
  }
  return undefined;
}

/** Root devices' traffic class (RoCE QoS); absent for most devices, soft-RoCE included. */
function trafficClasses(reading: NamespaceReading): Record<string, number> {
  const tc: Record<string, number> = {};
  for (const d of reading.devices) {
    try {
      const text = readFileSync(`/sys/class/infiniband/${d.ifname}/tc/1/traffic_class`, "utf8");
      const m = /Global tclass=(\d+)/.exec(text);
      if (m !== null) tc[d.ifname] = Number(m[1]);
    } catch {
      // no tc for this device
    }
  }
  return tc;
}
