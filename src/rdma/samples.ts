/**
 * From what was read in each namespace to samples under the spec's names and labels: every
 * numeric `rdma statistic` key as `rdma_<key>` (snake case), labelled with the node, the RDMA
 * device, its netdev, GUIDs, whether it sits in the host's namespace, and the pod that owns
 * the namespace when there is one. Pure.
 */
import type { NamespaceReading, Netdev, PodRef, Sample } from "./model.ts";

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
    const port = r.ports.find((p) => p.ifname === dev.ifname && p.netdev !== undefined);
    const netdev = port?.netdev ?? (dev.node_guid === undefined ? undefined : netdevForGuid(dev.node_guid, r.netdevs));
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
    if (isRoot) out.push({ name: "rdma_device_tos", labels: base, value: r.trafficClass?.[dev.ifname] ?? 0 });
  }
  return out;
}
