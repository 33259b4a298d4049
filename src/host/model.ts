/**
 * The vocabulary shared by whoever decides what to do to a node's or a pod's network (the
 * coordinator's and ifacer's pure planners) and whoever does it (the netlink executor, or the
 * in-memory fake the planners' tests run against). Planners read a `NetnsState` and emit
 * `HostOp`s; an executor applies them in order and reports the first that failed.
 *
 * Addresses are text in canonical form (RFC 5952 for IPv6), prefixes are CIDR text
 * (`192.0.2.0/24`, `0.0.0.0/0` for a default route). Links are referred to by name inside
 * one namespace; indexes appear only in what is observed, because a plan is written before
 * the links it creates have one.
 */

export type Family = 4 | 6;

/** Where an operation runs: the node's own namespace, or a namespace given by its path. */
export type NetnsRef = { kind: "host" } | { kind: "path"; path: string };

export type Scope = "universe" | "site" | "link" | "host" | "nowhere";

/** Main is 254, local 255, default 253 (rtnetlink's numbers). */
export const TABLE_MAIN = 254;
export const TABLE_LOCAL = 255;

export interface LinkFlags {
  up: boolean;
  broadcast: boolean;
  multicast: boolean;
  loopback: boolean;
  lowerUp: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "macvlan", "ipvlan", "vlan", "bond", "dummy", … ; undefined for physical NICs and lo. */
  kind?: string;
  flags: LinkFlags;
  mtu: number;
  /** Lowercase, colon-separated; "" when the link has none. */
  mac: string;
  txQueueLen: number;
  /** IFLA_LINK: a veth's peer index (in the peer's namespace), a macvlan's or vlan's parent. */
  parentIndex?: number;
  /** IFLA_MASTER: the bond or bridge this link is enslaved to. */
  masterIndex?: number;
  /** Kind-specific facts observed: vlan id, bond mode, macvlan mode, … */
  info?: Readonly<Record<string, string | number>>;
}

export interface Address {
  linkIndex: number;
  family: Family;
  address: string;
  prefixLength: number;
  scope: Scope;
  /** IPv6 duplicate address detection still running (IFA_F_TENTATIVE); absent when false. */
  tentative?: boolean;
}

export interface NextHop {
  gateway?: string;
  /** Device name (for ops) — executors resolve it to an index. */
  dev: string;
}

/** rtnetlink's route types; the local table holds `local` and `broadcast` ones. */
export type RouteType =
  "unicast" | "local" | "broadcast" | "anycast" | "multicast" | "blackhole" | "unreachable" | "prohibit" | "throw";

export interface Route {
  table: number;
  /** Undefined means `unicast`, on ops and in what is observed. */
  type?: RouteType;
  family: Family;
  /** CIDR; `0.0.0.0/0` / `::/0` for a default route. */
  dst: string;
  gateway?: string;
  dev?: string;
  src?: string;
  scope?: Scope;
  metric?: number;
  mtu?: number;
  /** Routing protocol number as observed (e.g. 2 = kernel, 3 = boot); not set on ops. */
  protocol?: number;
  /** Multipath next hops (then `gateway`/`dev` are absent). */
  multipath?: readonly NextHop[];
}

export interface Rule {
  family: Family;
  /** Undefined on an op means "let the kernel pick" (upstream's behaviour, spec Q5). */
  priority?: number;
  table: number;
  /** CIDR or undefined for "from all". */
  src?: string;
  dst?: string;
  fwmark?: number;
  fwmask?: number;
}

export interface Neighbour {
  family: Family;
  dev: string;
  address: string;
  mac: string;
  permanent: boolean;
}

/** What a planner needs to know about one namespace, read in one pass. */
export interface NetnsState {
  links: readonly Link[];
  addresses: readonly Address[];
  /** Every table's routes, not only main. */
  routes: readonly Route[];
  rules: readonly Rule[];
  neighbours: readonly Neighbour[];
}

export interface BondSpec {
  /** 0–6 (balance-rr … balance-alb). */
  mode: number;
  /** Recognised options by their sysfs/netlink name (miimon, primary, …), already validated. */
  options?: Readonly<Record<string, string | number>>;
}

/** One step of a plan. `ns` says where it runs; `ignore` says which errno is success. */
export type HostOp = (
  | {
      op: "link.addVeth";
      name: string;
      mtu: number;
      mac: string;
      peerName: string;
      peerMac: string;
      /** The namespace the peer end goes to. */
      peerNs: NetnsRef;
    }
  | { op: "link.addVlan"; name: string; parent: string; vlanId: number; mtu?: number }
  | { op: "link.addBond"; name: string; bond: BondSpec; mtu?: number }
  | { op: "link.enslave"; name: string; master: string }
  | { op: "link.set"; name: string; up?: boolean; mtu?: number; mac?: string; txQueueLen?: number }
  | { op: "link.del"; name: string }
  | { op: "addr.add"; dev: string; cidr: string }
  | { op: "addr.del"; dev: string; cidr: string }
  | { op: "route.add"; route: Route }
  | { op: "route.del"; route: Route }
  /** `ip route replace`: add, or overwrite the route of the same table, dst, tos and metric. */
  | { op: "route.replace"; route: Route }
  | { op: "rule.add"; rule: Rule }
  | { op: "rule.del"; rule: Rule }
  | { op: "neigh.add"; neighbour: Neighbour }
  | { op: "neigh.del"; neighbour: Pick<Neighbour, "family" | "dev" | "address"> }
  | { op: "sysctl.set"; key: string; value: string }
  /** Append each iptables rule (`-t mangle -A …` argument text) unless it is already there. */
  | { op: "iptables.ensure"; family: Family; rules: readonly string[] }
  /** Gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) for `address` from `dev`. */
  | { op: "announce"; dev: string; address: string }
) & {
  ns: NetnsRef;
  /** Which outcome counts as success: "exists" (EEXIST on add), "missing" (ENOENT/ESRCH on del). */
  ignore?: "exists" | "missing";
  /** The spec's error text to wrap a failure in (`failed to add route table(%v): %w` …). */
  context?: string;
};

/** Why an executor stopped: the op, its position in the plan, and the kernel's answer. */
export interface OpFailure {
  index: number;
  op: HostOp;
  errno?: string;
  message: string;
}
