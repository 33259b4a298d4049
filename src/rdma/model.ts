/**
 * What the RDMA exporter reads in one network namespace, in the shapes `rdma -j` and `ip -j`
 * print them, and the samples it exports (spec node-networking §5).
 */

/** `rdma -j dev show`: one RDMA device. */
export interface RdmaDevice {
  ifname: string;
  node_guid?: string;
  sys_image_guid?: string;
}

/** `rdma -j link show`: one port, with the netdev the kernel knows for it (RoCE, soft-RoCE). */
export interface RdmaPort {
  ifname: string;
  port: number;
  netdev?: string;
}

/** `rdma -j statistic show`: one port's counters; every numeric key other than ifname/port is a value. */
export type RdmaStatistic = { ifname: string; port: number } & Record<string, unknown>;

/** `ip -j link show`: a netdev and its hardware address (20 bytes for IPoIB). */
export interface Netdev {
  ifname: string;
  address?: string;
  link_type?: string;
}

/** Everything read in one namespace (`path` undefined: the host's). */
export interface NamespaceReading {
  path?: string;
  devices: RdmaDevice[];
  ports: RdmaPort[];
  statistics: RdmaStatistic[];
  netdevs: Netdev[];
  /** The namespace's preferred source address (`ip route get 1.0.0.0`, then the IPv6 one): the pod's IP. */
  podIP?: string;
  /** Driver statistics (`ethtool -S`) of the devices' netdevs, by netdev name. */
  ethtool?: Record<string, Record<string, number>>;
  /** A VF netdev's PF netdev (from its PCI bus's `physfn`), by netdev name: `rdma_parent_name`. */
  parentOf?: Record<string, string>;
  /** `Global tclass=<n>` from /sys/class/infiniband/<dev>/tc/1/traffic_class, by device (root devices only). */
  trafficClass?: Record<string, number>;
}

export interface PodRef {
  namespace: string;
  name: string;
  ownerApiVersion?: string;
  ownerKind?: string;
  ownerNamespace?: string;
  ownerName?: string;
}

export interface Sample {
  /** Without the `_total` suffix. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Where the exporter reads from: the kernel through RDMA netlink and rtnetlink (netlink-source.ts), or a fake in tests. */
export interface RdmaSource {
  /** `rdma system show`: "shared" (the kernel's default) or "exclusive". */
  netnsMode(): Promise<"shared" | "exclusive">;
  /** Paths of the network namespaces besides the host's (`/var/run/netns/*`, `/var/run/docker/netns/*`). */
  namespaces(): Promise<string[]>;
  /**
   * Reads the namespaces (`undefined`: the host's) in one go. A namespace that went away since
   * it was listed is left out; the host's is always there.
   */
  readAll(paths: readonly (string | undefined)[]): Promise<NamespaceReading[]>;
}
