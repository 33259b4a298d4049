/**
 * From what was read in each namespace to samples under the spec's names and labels: every
 * numeric `rdma statistic` key as `rdma_<key>` (snake case), labelled with the node, the RDMA
 * device, its netdev, GUIDs, whether it sits in the host's namespace, and the pod that owns
 * the namespace when there is one. Pure.
 */
import type { NamespaceReading, Netdev, PodRef, RdmaDevice, Sample } from "./model.ts";

const NOT_VALUES = new Set(["ifname", "port"]);

export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9_]/g, "_")
    .toLowerCase();
}

function guidBytes(guid: string): number[] | undefined {
  const hex = guid.replace(/[:.-]/g, "");
  if (!/^[0-9a-f]{16}$/i.test(hex)) return undefined;
  return hex.match(/../g)?.map((b) => parseInt(b, 16));
}

function macBytes(mac: string): number[] {
  return mac.split(":").map((b) => parseInt(b, 16));
}

const same = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The netdev an RDMA device's node GUID belongs to: an IPoIB netdev carries the port GUID in
 * the last 8 bytes of its 20-byte address; a RoCE device's GUID is the netdev's MAC as an
 * EUI-64 (`ff:fe` in the middle, the universal/local bit flipped by some drivers, not others).
 */
export function netdevForGuid(guid: string, netdevs: readonly Netdev[]): string | undefined {
  const g = guidBytes(guid);
  if (g === undefined) return undefined;
  for (const n of netdevs) {
    if (n.address === undefined || n.address === "") continue;
    const a = macBytes(n.address);
    if (a.length === 20 && same(a.slice(12), g)) return n.ifname;
    if (a.length === 6 && g[3] === 0xff && g[4] === 0xfe) {
      const mac = [...g.slice(0, 3), ...g.slice(5)];
      if (same(a, mac)) return n.ifname;
      if (same(a, [(mac[0] as number) ^ 0x02, ...mac.slice(1)])) return n.ifname;
    }
  }
  return undefined;
}

/** ethtool's "no value" for a link speed (SPEED_UNKNOWN as u32). */
const SPEED_UNKNOWN = 4294967295;
const PRIORITY_STAT = /^(rx|tx)_prio(\d+)_(pause|discards)$/;

/**
 * Which of a netdev's ethtool statistics are exported (spec §5): every one with `vport` in its
 * name (mlx5's vport counters, `vport_speed_mbps` unless unknown), and the per-priority pause
 * and discard counters as `rx_pause`, `tx_discards`, … with the priority apart.
 */
export function ethtoolValues(
  stats: Readonly<Record<string, number>>,
): { key: string; value: number; priority?: number }[] {
  const out: { key: string; value: number; priority?: number }[] = [];
  for (const [name, value] of Object.entries(stats)) {
    const prio = PRIORITY_STAT.exec(name);
    if (prio !== null) out.push({ key: `${prio[1]}_${prio[3]}`, value, priority: Number(prio[2]) });
    else if (name.includes("vport") && !(name === "vport_speed_mbps" && value === SPEED_UNKNOWN))
      out.push({ key: snakeCase(name), value });
  }
  return out;
}

/** A device's netdev: the one its port names (RoCE), else the one its node GUID matches. */
export function netdevOf(dev: RdmaDevice, r: NamespaceReading): string | undefined {
  const port = r.ports.find((p) => p.ifname === dev.ifname && p.netdev !== undefined);
  return port?.netdev ?? (dev.node_guid === undefined ? undefined : netdevForGuid(dev.node_guid, r.netdevs));
}

export interface SampleContext {
  nodeName: string;
  /** The pod whose address a namespace's preferred source is, from the agent's cache. */
  podOf: (ip: string) => PodRef | undefined;
}

export function samplesOf(r: NamespaceReading, ctx: SampleContext): Sample[] {
  const isRoot = r.path === undefined;
  const pod = !isRoot && r.podIP !== undefined ? ctx.podOf(r.podIP) : undefined;
  const out: Sample[] = [];
  for (const dev of r.devices) {
    const netdev = netdevOf(dev, r);
    const base: Record<string, string> = {
      node_name: ctx.nodeName,
      ifname: dev.ifname,
      net_dev_name: netdev ?? "",
    };
    const labels: Record<string, string> = {
      ...base,
      node_guid: dev.node_guid ?? "",
      sys_image_guid: dev.sys_image_guid ?? "",
      is_root: String(isRoot),
    };
    const parent = netdev === undefined ? undefined : r.parentOf?.[netdev];
    if (parent !== undefined) labels["rdma_parent_name"] = parent;
    if (pod !== undefined) {
      labels["pod_namespace"] = pod.namespace;
      labels["pod_name"] = pod.name;
      if (pod.ownerApiVersion !== undefined) labels["owner_api_version"] = pod.ownerApiVersion;
      if (pod.ownerKind !== undefined) labels["owner_kind"] = pod.ownerKind;
      if (pod.ownerNamespace !== undefined) labels["owner_namespace"] = pod.ownerNamespace;
      if (pod.ownerName !== undefined) labels["owner_name"] = pod.ownerName;
    }
    for (const stat of r.statistics.filter((s) => s.ifname === dev.ifname)) {
      for (const [key, value] of Object.entries(stat)) {
        if (NOT_VALUES.has(key) || typeof value !== "number" || !Number.isFinite(value)) continue;
        out.push({ name: `rdma_${snakeCase(key)}`, labels, value });
      }
    }
    const ethtool = netdev === undefined ? undefined : r.ethtool?.[netdev];
    if (ethtool !== undefined) {
      for (const v of ethtoolValues(ethtool)) {
        const l = v.priority === undefined ? labels : { ...labels, priority: String(v.priority) };
        out.push({ name: `rdma_${v.key}`, labels: l, value: v.value });
      }
    }
    if (isRoot) out.push({ name: "rdma_device_tos", labels: base, value: r.trafficClass?.[dev.ifname] ?? 0 });
  }
  return out;
}
