/**
 * RDMA netlink (NETLINK_RDMA, the nldev client): the requests and answers iproute2's `rdma`
 * uses for `dev show`, `link show`, `statistic show` and `system show`, in the shapes the
 * exporter keeps (src/rdma/model.ts). nldev messages carry no family header: attributes follow
 * nlmsghdr directly. Values from include/uapi/rdma/rdma_netlink.h.
 */
import { listAttrs, parseAttrs, readStr, readU32, readU8, u32, type Attr, type Message } from "./wire.ts";

const RDMA_NL_NLDEV = 5;
const type = (op: number): number => (RDMA_NL_NLDEV << 10) + op;

export const RDMA_CMD = {
  GET: type(1),
  PORT_GET: type(5),
  SYS_GET: type(6),
  STAT_GET: type(17),
} as const;

const ATTR = {
  DEV_INDEX: 1,
  DEV_NAME: 2,
  PORT_INDEX: 3,
  NODE_GUID: 6,
  SYS_IMAGE_GUID: 7,
  NDEV_INDEX: 50,
  NDEV_NAME: 51,
  NETNS_MODE: 66,
  STAT_HWCOUNTERS: 80,
  STAT_HWCOUNTER_ENTRY: 81,
  STAT_HWCOUNTER_ENTRY_NAME: 82,
  STAT_HWCOUNTER_ENTRY_VALUE: 83,
} as const;

export const NO_HEADER = new Uint8Array(0);

export interface RdmaDeviceInfo {
  index: number;
  ifname: string;
  node_guid?: string;
  sys_image_guid?: string;
}

export interface RdmaPortInfo {
  devIndex: number;
  ifname: string;
  port: number;
  netdev?: string;
}

export interface RdmaCounters {
  ifname: string;
  port: number;
  counters: Record<string, number>;
}

function readU64(b: Uint8Array | undefined): bigint | undefined {
  return b === undefined || b.length < 8 ? undefined : new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/** As `rdma` prints a GUID: the u64 (host order) in four 16-bit groups, most significant first. */
export function guidText(v: bigint): string {
  const hex = v.toString(16).padStart(16, "0");
  return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 12)}:${hex.slice(12, 16)}`;
}

/** The attribute that names one device: PORT_GET dumps only one device's ports. */
export function deviceRequest(devIndex: number): Attr[] {
  return [u32(ATTR.DEV_INDEX, devIndex)];
}

/** The attributes that name one port, for PORT_GET and STAT_GET. */
export function portRequest(devIndex: number, port: number): Attr[] {
  return [u32(ATTR.DEV_INDEX, devIndex), u32(ATTR.PORT_INDEX, port)];
}

export function decodeDevice(m: Message): RdmaDeviceInfo | undefined {
  const a = parseAttrs(m.body);
  const index = readU32(a.get(ATTR.DEV_INDEX));
  const ifname = readStr(a.get(ATTR.DEV_NAME));
  if (index === undefined || ifname === undefined) return undefined;
  const d: RdmaDeviceInfo = { index, ifname };
  const node = readU64(a.get(ATTR.NODE_GUID));
  if (node !== undefined) d.node_guid = guidText(node);
  const sys = readU64(a.get(ATTR.SYS_IMAGE_GUID));
  if (sys !== undefined) d.sys_image_guid = guidText(sys);
  return d;
}

/** One port; the netdev is there only when it sits in the asking socket's namespace (as the kernel decides). */
export function decodePort(m: Message): RdmaPortInfo | undefined {
  const a = parseAttrs(m.body);
  const devIndex = readU32(a.get(ATTR.DEV_INDEX));
  const ifname = readStr(a.get(ATTR.DEV_NAME));
  const port = readU32(a.get(ATTR.PORT_INDEX));
  if (devIndex === undefined || ifname === undefined || port === undefined) return undefined;
  const p: RdmaPortInfo = { devIndex, ifname, port };
  const netdev = readStr(a.get(ATTR.NDEV_NAME));
  if (netdev !== undefined && netdev !== "") p.netdev = netdev;
  return p;
}

/**
 * A port's default counter (STAT_GET without STAT_RES): the hardware counters summed with
 * any bound per-QP counters, which is what `rdma statistic show` prints. Values past 2^53
 * lose precision as JSON.parse does for the CLI's output.
 */
export function decodeCounters(m: Message): RdmaCounters | undefined {
  const a = parseAttrs(m.body);
  const ifname = readStr(a.get(ATTR.DEV_NAME));
  const port = readU32(a.get(ATTR.PORT_INDEX));
  if (ifname === undefined || port === undefined) return undefined;
  const counters: Record<string, number> = {};
  const table = a.get(ATTR.STAT_HWCOUNTERS);
  if (table !== undefined) {
    for (const [t, entry] of listAttrs(table)) {
      if (t !== ATTR.STAT_HWCOUNTER_ENTRY) continue;
      const e = parseAttrs(entry);
      const name = readStr(e.get(ATTR.STAT_HWCOUNTER_ENTRY_NAME));
      const value = readU64(e.get(ATTR.STAT_HWCOUNTER_ENTRY_VALUE));
      if (name !== undefined && value !== undefined) counters[name] = Number(value);
    }
  }
  return { ifname, port, counters };
}

/** SYS_GET's answer: the kernel sends 1 while devices are shared by every namespace. */
export function decodeNetnsMode(m: Message): "shared" | "exclusive" {
  return readU8(parseAttrs(m.body).get(ATTR.NETNS_MODE)) === 0 ? "exclusive" : "shared";
}
