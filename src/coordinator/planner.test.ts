/**
 * The planner against the resulting states of spec §1.10 (tables A–E) in IPv4, IPv6 and dual
 * stack, and every error of §1.3, §1.9 and §1.13 it can raise. The pod's and the node's states
 * are written as a runtime would leave them after the main CNI (and earlier coordinator calls).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Address, Family, HostOp, Link, NetnsState, Route, Rule } from "../host/model.ts";
import { mergeConfig, type AgentCoordinatorConfig } from "./config.ts";
import { CoordinatorModeError, CoordinatorStateError } from "./errors.ts";
import { parseCoordinatorNetConf } from "./netconf.ts";
import { planAdd, planDel, type AddInput, type AddPlan } from "./planner.ts";
import { podFacts } from "./pod-facts.ts";

const CID = "0123456789abcdef0123";
const HOST_VETH = "veth0123456789a";
const POD_MAC = "02:00:00:00:00:01";
const HOST_MAC = "02:00:00:00:00:02";
const CALI_MAC = "ee:ee:ee:ee:ee:ee";
const POD = { kind: "path", path: "/var/run/netns/pod" } as const;
const HOST = { kind: "host" } as const;

function link(index: number, name: string, extra: Partial<Link> = {}): Link {
  const lo = name === "lo";
  return {
    index,
    name,
    flags: { up: true, broadcast: !lo, multicast: !lo, loopback: lo, lowerUp: true },
    mtu: 1500,
    mac: lo ? "" : `02:aa:00:00:00:${index.toString(16).padStart(2, "0")}`,
    txQueueLen: 1000,
    ...extra,
  };
}

function addr(linkIndex: number, cidr: string): Address {
  const [address, len] = cidr.split("/") as [string, string];
  const family: Family = address.includes(":") ? 6 : 4;
  return { linkIndex, family, address, prefixLength: Number(len), scope: "universe" };
}

function route(spec: string): Route {
  // "table dst [via gw] [dev d] [scope s] [src a]"
  const [table, dst, ...rest] = spec.split(" ") as [string, string, ...string[]];
  const r: Route = { table: table === "main" ? 254 : Number(table), family: dst.includes(":") ? 6 : 4, dst };
  for (let i = 0; i < rest.length; i += 2) {
    const v = rest[i + 1] as string;
    if (rest[i] === "via") r.gateway = v;
    if (rest[i] === "dev") r.dev = v;
    if (rest[i] === "scope") r.scope = v as NonNullable<Route["scope"]>;
    if (rest[i] === "src") r.src = v;
  }
  return r;
}

const state = (s: Partial<NetnsState>): NetnsState => ({
  links: [],
  addresses: [],
  routes: [],
  rules: [],
  neighbours: [],
  ...s,
});

const AGENT: AgentCoordinatorConfig = {
  mode: "auto",
  overlayPodCIDR: ["10.244.0.0/16", "fd00:244::/48"],
  serviceCIDR: ["10.96.0.0/12"],
  hijackCIDR: ["169.254.0.0/16"],
  policyRoutes: [{ dst: "10.10.0.0/16", gw: "172.100.0.1" }],
  podMACPrefix: "",
  tunePodRoutes: true,
  podDefaultRouteNIC: "",
  hostRuleTable: 500,
  podRPFilter: 0,
  txQueueLen: 0,
  vethLinkAddress: "",
  vethMTU: 1500,
};

function config(nad: Record<string, unknown> = {}, agent: Partial<AgentCoordinatorConfig> = {}) {
  return mergeConfig(
    parseCoordinatorNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "coordinator", ...nad })),
    { ...AGENT, ...agent },
  );
}

/** The node: its parent NIC with H1 (and H1v6), another NIC with Hn, and links whose addresses never count. */
const NODE = state({
  links: [
    link(1, "lo"),
    link(2, "ens192"),
    link(3, "ens224"),
    link(4, "docker0"),
    link(7, "cali12345", { kind: "veth", mac: CALI_MAC }),
  ],
  addresses: [
    addr(1, "127.0.0.1/8"),
    addr(2, "192.0.2.2/24"),
    addr(2, "2001:db8:1::2/64"),
    addr(2, "fe80::1/64"),
    addr(3, "198.51.100.2/24"),
    addr(4, "203.0.113.254/24"),
  ],
  routes: [route("500 192.0.2.10/32 dev dummy0 scope link")],
  neighbours: [{ family: 4, dev: "dummy0", address: "192.0.2.10", mac: "02:00:00:00:00:99", permanent: true }],
});

function plan(over: Partial<AddInput> & Pick<AddInput, "podState">): AddPlan {
  return planAdd({
    config: config(),
    containerID: CID,
    ifName: "eth0",
    cniArgs: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p",
    pod: POD,
    host: HOST,
    hostState: NODE,
    routeSources: podFacts(over.podState, over.ifName ?? "eth0").allPodIPs.map((a) =>
      a.family === 4 ? "192.0.2.2" : "2001:db8:1::2",
    ),
    macs: { podVeth: POD_MAC, hostVeth: HOST_MAC },
    ...over,
  });
}

const where = (ns: "pod" | "host") => (o: HostOp) => o.ns.kind === (ns === "pod" ? "path" : "host");
function fmtRoute(r: Route): string {
  const t = r.table === 254 ? "main" : String(r.table);
  return [
    t,
    r.dst,
    r.gateway && `via ${r.gateway}`,
    r.dev && `dev ${r.dev}`,
    r.scope && r.scope !== "universe" && `scope ${r.scope}`,
    r.src && `src ${r.src}`,
  ]
    .filter(Boolean)
    .join(" ");
}
const routesAdded = (p: AddPlan, ns: "pod" | "host", table: string): string[] => [
  ...new Set(
    p.ops
      .filter(where(ns))
      .flatMap((o) => (o.op === "route.add" ? [fmtRoute(o.route)] : []))
      .filter((s) => s.startsWith(`${table} `)),
  ),
];
const routesDeleted = (p: AddPlan, ns: "pod" | "host"): string[] =>
  p.ops.filter(where(ns)).flatMap((o) => (o.op === "route.del" ? [fmtRoute(o.route)] : []));
function fmtRule(r: Rule): string {
  return [
    r.priority !== undefined && `${r.priority}:`,
    r.src ? `from ${r.src}` : "from all",
    r.fwmark !== undefined && `fwmark ${r.fwmark}`,
    `lookup ${r.table}`,
  ]
    .filter(Boolean)
    .join(" ");
}
const rules = (p: AddPlan, ns: "pod" | "host"): string[] =>
  p.ops.filter(where(ns)).flatMap((o) => (o.op === "rule.add" ? [`v${o.rule.family} ${fmtRule(o.rule)}`] : []));
const neighs = (p: AddPlan, ns: "pod" | "host"): string[] =>
  p.ops
    .filter(where(ns))
    .flatMap((o) =>
      o.op === "neigh.add" ? [`${o.neighbour.address} lladdr ${o.neighbour.mac} dev ${o.neighbour.dev}`] : [],
    );
const sysctls = (p: AddPlan, ns: "pod" | "host"): string[] =>
  p.ops.filter(where(ns)).flatMap((o) => (o.op === "sysctl.set" ? [`${o.key}=${o.value}`] : []));
const ops = (p: AddPlan, kind: HostOp["op"]): HostOp[] => [...p.ops, ...p.mangle].filter((o) => o.op === kind);

// ---- pods as the main CNI leaves them ----------------------------------------------------------

/** Underlay, macvlan eth0 only (before the first coordinator call). */
function underlayPod(fam: "v4" | "v6" | "dual"): NetnsState {
  const a: Address[] = [addr(2, "fe80::aa:2/64")];
  const r: Route[] = [route("main fe80::/64 dev eth0")];
  if (fam !== "v6") {
    a.unshift(addr(2, "192.0.2.10/24"));
    r.push(
      route("main 192.0.2.0/24 dev eth0 scope link src 192.0.2.10"),
      route("main 0.0.0.0/0 via 192.0.2.1 dev eth0"),
    );
  }
  if (fam !== "v4") {
    a.push(addr(2, "2001:db8:1::10/64"));
    r.push(route("main 2001:db8:1::/64 dev eth0"), route("main ::/0 via 2001:db8:1::1 dev eth0"));
  }
  return state({
    links: [link(1, "lo"), link(2, "eth0", { kind: "macvlan" })],
    addresses: [addr(1, "127.0.0.1/8"), ...a],
    routes: r,
  });
}

/** Table A applied, then a macvlan net1 (N) with its own default from IPAM. */
function underlayPodWithNet1(): NetnsState {
  const base = underlayPod("v4");
  return state({
    links: [
      ...base.links,
      link(3, "veth0", { kind: "veth", mac: POD_MAC, parentIndex: 9 }),
      link(4, "net1", { kind: "macvlan" }),
    ],
    addresses: [...base.addresses, addr(4, "203.0.113.10/24")],
    routes: [
      ...base.routes,
      route("main 192.0.2.2/32 dev veth0 scope link src 192.0.2.10"),
      route("main 10.96.0.0/12 via 192.0.2.2 dev veth0 src 192.0.2.10"),
      route("main 203.0.113.0/24 dev net1 scope link src 203.0.113.10"),
      route("main 0.0.0.0/0 via 203.0.113.1 dev net1"),
    ],
  });
}
const NODE_WITH_VETH = state({ ...NODE, links: [...NODE.links, link(9, HOST_VETH, { kind: "veth", mac: HOST_MAC })] });

/** Calico eth0 (C, /32, default via 169.254.1.1), macvlan net1 (N) with its default. */
function overlayPod(): NetnsState {
  return state({
    links: [
      link(1, "lo"),
      link(2, "eth0", { kind: "veth", parentIndex: 7, mac: "0a:0a:0a:0a:0a:0a" }),
      link(3, "net1", { kind: "macvlan" }),
    ],
    addresses: [addr(1, "127.0.0.1/8"), addr(2, "198.51.100.5/32"), addr(3, "203.0.113.10/25")],
    routes: [
      route("main 0.0.0.0/0 via 169.254.1.1 dev eth0"),
      route("main 169.254.1.1/32 dev eth0 scope link"),
      route("main 203.0.113.0/25 dev net1 scope link src 203.0.113.10"),
      route("main 0.0.0.0/0 via 203.0.113.1 dev net1"),
    ],
  });
}

/** Table C applied, then net2 (third NIC). */
function overlayPodWithNet2(): NetnsState {
  const c = overlayPod();
  return state({
    links: [...c.links, link(4, "net2", { kind: "macvlan" })],
    addresses: [...c.addresses, addr(4, "203.0.113.140/25")],
    routes: [
      ...c.routes.filter((r) => !(r.dev === "net1" && r.dst === "0.0.0.0/0")),
      route("101 0.0.0.0/0 via 203.0.113.1 dev net1"),
      route("main 203.0.113.128/25 dev net2 scope link src 203.0.113.140"),
      route("main 0.0.0.0/0 via 203.0.113.129 dev net2"),
    ],
  });
}

const HIJACK_V4 = ["10.244.0.0/16", "10.96.0.0/12", "169.254.0.0/16"];

describe("planner: table A, underlay single NIC, first invocation", () => {
  const p = plan({ podState: underlayPod("v4") });

  it("NN-4 veth0 in the pod and veth<cid[:11]> on the node, both up, veth0 at vethMTU", () => {
    assert.deepEqual(p.decision, { mode: "underlay", firstInvoke: true, table: 101, podVeth: "veth0" });
    const [veth] = ops(p, "link.addVeth");
    assert.deepEqual(veth, {
      op: "link.addVeth",
      ns: POD,
      name: "veth0",
      mtu: 1500,
      mac: POD_MAC,
      peerName: HOST_VETH,
      peerMac: HOST_MAC,
      peerNs: HOST,
      context: "failed to create veth pair: %w",
    });
    const ups = ops(p, "link.set").flatMap((o) => (o.op === "link.set" && o.up ? [`${o.ns.kind} ${o.name}`] : []));
    assert.deepEqual(ups, ["path eth0", `host ${HOST_VETH}`, "path veth0"]);
    assert.deepEqual(sysctls(p, "host"), [`net/ipv6/conf/${HOST_VETH}/accept_ra=0`]);
  });

  it("NN-6 main: node addresses, then S, P, X via H1 dev veth0 src E in insertion order, policy routes dev eth0", () => {
    assert.deepEqual(routesAdded(p, "pod", "main"), [
      "main 192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "main 198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
      ...HIJACK_V4.map((c) => `main ${c} via 192.0.2.2 dev veth0 src 192.0.2.10`),
      "main 10.10.0.0/16 via 172.100.0.1 dev eth0",
    ]);
    assert.deepEqual(routesAdded(p, "pod", "101"), [
      "101 192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "101 198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
    ]);
    assert.match(p.warnings.join("\n"), /fd00:244::\/48/);
  });

  it("NN-7 fwmark rule and table 100, the three mangle rules", () => {
    assert.deepEqual(rules(p, "pod"), ["v4 1000: from all fwmark 1 lookup 100"]);
    assert.deepEqual(routesAdded(p, "pod", "100"), ["100 0.0.0.0/0 via 192.0.2.2 dev veth0 src 192.0.2.10"]);
    const [ipt] = ops(p, "iptables.ensure");
    assert.ok(ipt?.op === "iptables.ensure" && ipt.family === 4);
    assert.match(
      ipt.rules[0] as string,
      /^-t mangle -A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/,
    );
    assert.match(ipt.rules[1] as string, /^-t mangle -A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark/);
    assert.match(ipt.rules[2] as string, /^-t mangle -A OUTPUT -j CONNMARK --restore-mark/);
  });

  it("NN-8 node: rule 1000 to table 500, E dev veth, neighbours both ways", () => {
    assert.deepEqual(rules(p, "host"), ["v4 1000: from all lookup 500"]);
    assert.deepEqual(routesAdded(p, "host", "500"), [`500 192.0.2.10/32 dev ${HOST_VETH} scope link`]);
    assert.deepEqual(neighs(p, "host"), [`192.0.2.10 lladdr ${POD_MAC} dev ${HOST_VETH}`]);
    assert.deepEqual(neighs(p, "pod"), [
      `192.0.2.2 lladdr ${HOST_MAC} dev veth0`,
      `198.51.100.2 lladdr ${HOST_MAC} dev veth0`,
    ]);
  });

  it("NN-26 stale node neighbour and table-500 route for E are removed before the new ones", () => {
    const delN = p.ops.findIndex((o) => o.op === "neigh.del" && o.neighbour.dev === "dummy0");
    const addN = p.ops.findIndex((o) => o.op === "neigh.add" && o.ns.kind === "host");
    assert.ok(delN >= 0 && delN < addN);
    assert.deepEqual(routesDeleted(p, "host"), ["500 192.0.2.10/32 dev dummy0 scope link"]);
    const delR = p.ops.findIndex((o) => o.op === "route.del" && o.ns.kind === "host");
    const addR = p.ops.findIndex((o) => o.op === "route.add" && o.ns.kind === "host");
    assert.ok(delR < addR);
  });

  it("NN-12 rp_filter 0 by default, untouched at -1; no route tuning on the first underlay call", () => {
    assert.deepEqual(sysctls(p, "pod"), ["net/ipv4/conf/all/rp_filter=0"]);
    const off = plan({ podState: underlayPod("v4"), config: config({ podRPFilter: -1 }) });
    assert.deepEqual(sysctls(off, "pod"), []);
    assert.deepEqual(routesDeleted(p, "pod"), []);
  });

  it("NN-9 hostRuleTable from the CR", () => {
    const t = plan({ podState: underlayPod("v4"), config: config({}, { hostRuleTable: 200 }) });
    assert.deepEqual(rules(t, "host"), ["v4 1000: from all lookup 200"]);
    assert.deepEqual(routesAdded(t, "host", "200"), [`200 192.0.2.10/32 dev ${HOST_VETH} scope link`]);
  });

  it("vethLinkAddress on veth0, vethMTU, txQueueLen in the pod (Q1)", () => {
    const t = plan({
      podState: underlayPod("v4"),
      config: config({ vethLinkAddress: "169.254.100.1", vethMTU: 9000, txQueueLen: 2000 }),
    });
    assert.deepEqual(
      ops(t, "addr.add").map((o) => o.op === "addr.add" && `${o.dev} ${o.cidr}`),
      ["veth0 169.254.100.1/32"],
    );
    assert.equal(
      ops(t, "link.addVeth")[0]?.op === "link.addVeth" && (ops(t, "link.addVeth")[0] as { mtu: number }).mtu,
      9000,
    );
    const txq = ops(t, "link.set").find((o) => o.op === "link.set" && o.txQueueLen !== undefined);
    assert.deepEqual(txq, {
      op: "link.set",
      ns: POD,
      name: "eth0",
      txQueueLen: 2000,
      context: "failed to set eth0 txQueueLen to 2000: %w",
    });
  });

  it("NN-24 policy routes: main dev eth0 on the first underlay NIC; another family's route is skipped", () => {
    const t = plan({
      podState: underlayPod("v4"),
      config: config({
        policyRoutes: [
          { dst: "10.10.0.0/16", gw: "172.100.0.1" },
          { dst: "2001:db8:9::/48", gw: "2001:db8:1::1" },
        ],
      }),
    });
    assert.deepEqual(
      routesAdded(t, "pod", "main").filter((r) => r.includes("dev eth0")),
      ["main 10.10.0.0/16 via 172.100.0.1 dev eth0"],
    );
  });
});

describe("planner: table A in IPv6 and dual stack", () => {
  it("NN-11 IPv6-only: disable_ipv6=0, no src on any route, fwmark rule and table 100 for v6", () => {
    const p = plan({ podState: underlayPod("v6") });
    assert.deepEqual(sysctls(p, "pod"), ["net/ipv6/conf/all/disable_ipv6=0", "net/ipv4/conf/all/rp_filter=0"]);
    assert.deepEqual(routesAdded(p, "pod", "main"), [
      "main 2001:db8:1::2/128 dev veth0 scope link",
      "main fd00:244::/48 via 2001:db8:1::2 dev veth0",
    ]);
    assert.deepEqual(routesAdded(p, "pod", "100"), ["100 ::/0 via 2001:db8:1::2 dev veth0"]);
    assert.deepEqual(rules(p, "pod"), ["v6 1000: from all fwmark 1 lookup 100"]);
    assert.deepEqual(rules(p, "host"), ["v6 1000: from all lookup 500"]);
    assert.deepEqual(routesAdded(p, "host", "500"), [`500 2001:db8:1::10/128 dev ${HOST_VETH} scope link`]);
    assert.equal(ops(p, "addr.add").length, 0, "vethLinkAddress is IPv4: never on an IPv6-only pod");
    assert.equal(p.warnings.length, 3, "the three IPv4 ranges have no IPv4 node address to go through");
  });

  it("dual stack: both families everywhere, IPv4 first, IPv6 without src", () => {
    const p = plan({ podState: underlayPod("dual") });
    assert.deepEqual(routesAdded(p, "pod", "101"), [
      "101 192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "101 2001:db8:1::2/128 dev veth0 scope link",
      "101 198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
    ]);
    assert.deepEqual(rules(p, "pod"), [
      "v4 1000: from all fwmark 1 lookup 100",
      "v6 1000: from all fwmark 1 lookup 100",
    ]);
    assert.deepEqual(routesAdded(p, "pod", "100"), [
      "100 0.0.0.0/0 via 192.0.2.2 dev veth0 src 192.0.2.10",
      "100 ::/0 via 2001:db8:1::2 dev veth0",
    ]);
    assert.deepEqual(routesAdded(p, "host", "500"), [
      `500 192.0.2.10/32 dev ${HOST_VETH} scope link`,
      `500 2001:db8:1::10/128 dev ${HOST_VETH} scope link`,
    ]);
    assert.deepEqual(
      ops(p, "iptables.ensure").map((o) => o.op === "iptables.ensure" && o.family),
      [4, 6],
    );
    assert.equal(p.warnings.length, 0);
  });
});

describe("planner: table B, underlay second NIC", () => {
  const p = plan({ podState: underlayPodWithNet1(), hostState: NODE_WITH_VETH, ifName: "net1" });

  it("NN-23 table 101, from N, net1's default moved, host and hijack routes via veth0 (D3)", () => {
    assert.deepEqual(p.decision, { mode: "underlay", firstInvoke: false, table: 101, podVeth: "veth0" });
    assert.deepEqual(routesAdded(p, "pod", "101"), [
      "101 192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "101 198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
      ...HIJACK_V4.map((c) => `101 ${c} via 192.0.2.2 dev veth0 src 192.0.2.10`),
      "101 203.0.113.0/24 dev net1 scope link src 203.0.113.10",
      "101 0.0.0.0/0 via 203.0.113.1 dev net1",
      "101 10.10.0.0/16 via 172.100.0.1 dev net1",
    ]);
    assert.deepEqual(routesAdded(p, "pod", "main"), []);
    assert.deepEqual(routesDeleted(p, "pod"), ["main 0.0.0.0/0 via 203.0.113.1 dev net1"]);
    assert.deepEqual(
      rules(p, "pod"),
      ["v4 from 203.0.113.10/32 lookup 101"],
      "no priority: the kernel gives 999 under the fwmark rule (Q5)",
    );
  });

  it("no pod neighbours, no iptables, no new veth; node: N dev veth<cid11>, neighbour N → veth0's MAC", () => {
    assert.deepEqual(neighs(p, "pod"), []);
    assert.equal(ops(p, "iptables.ensure").length + ops(p, "link.addVeth").length, 0);
    assert.deepEqual(routesAdded(p, "host", "500"), [`500 203.0.113.10/32 dev ${HOST_VETH} scope link`]);
    assert.deepEqual(neighs(p, "host"), [`203.0.113.10 lladdr ${POD_MAC} dev ${HOST_VETH}`]);
  });

  it("a third underlay NIC gets table 102", () => {
    const s = underlayPodWithNet1();
    const q = plan({
      podState: state({
        ...s,
        links: [...s.links, link(5, "net2")],
        addresses: [...s.addresses, addr(5, "203.0.113.200/24")],
      }),
      hostState: NODE_WITH_VETH,
      ifName: "net2",
    });
    assert.equal(q.decision.table, 102);
  });
});

describe("planner: table C, overlay (Calico eth0) + macvlan net1", () => {
  const p = plan({ podState: overlayPod(), ifName: "net1" });

  it("NN-17 rules from N → 101 then from C → 100; 100 = Calico default; 101 = net1 default, subnet, H*", () => {
    assert.deepEqual(p.decision, { mode: "overlay", firstInvoke: true, table: 101, podVeth: "eth0" });
    assert.deepEqual(rules(p, "pod"), ["v4 from 203.0.113.10/32 lookup 101", "v4 from 198.51.100.5/32 lookup 100"]);
    assert.deepEqual(routesAdded(p, "pod", "100"), ["100 0.0.0.0/0 via 169.254.1.1 dev eth0"]);
    assert.deepEqual(routesAdded(p, "pod", "101"), [
      "101 192.0.2.2/32 dev eth0 scope link src 198.51.100.5",
      "101 198.51.100.2/32 dev eth0 scope link src 198.51.100.5",
      "101 203.0.113.0/25 dev net1 scope link src 203.0.113.10",
      "101 0.0.0.0/0 via 203.0.113.1 dev net1",
      "101 10.10.0.0/16 via 172.100.0.1 dev net1",
    ]);
    assert.deepEqual(routesDeleted(p, "pod"), ["main 0.0.0.0/0 via 203.0.113.1 dev net1"]);
  });

  it("NN-18 main: H* and S/P/X via H1 dev eth0 src C; node: N dev cali…, neighbour N → pod eth0's MAC", () => {
    assert.deepEqual(routesAdded(p, "pod", "main"), [
      "main 192.0.2.2/32 dev eth0 scope link src 198.51.100.5",
      "main 198.51.100.2/32 dev eth0 scope link src 198.51.100.5",
      ...HIJACK_V4.map((c) => `main ${c} via 192.0.2.2 dev eth0 src 198.51.100.5`),
    ]);
    assert.deepEqual(routesAdded(p, "host", "500"), ["500 203.0.113.10/32 dev cali12345 scope link"]);
    assert.deepEqual(neighs(p, "host"), ["203.0.113.10 lladdr 0a:0a:0a:0a:0a:0a dev cali12345"]);
    assert.deepEqual(neighs(p, "pod"), [
      `192.0.2.2 lladdr ${CALI_MAC} dev eth0`,
      `198.51.100.2 lladdr ${CALI_MAC} dev eth0`,
    ]);
    assert.equal(ops(p, "link.addVeth").length + ops(p, "iptables.ensure").length, 0);
  });

  it("NN-21 tunePodRoutes false: no source rules, no table 100; host and hijack routes still there", () => {
    const q = plan({ podState: overlayPod(), ifName: "net1", config: config({ tunePodRoutes: false }) });
    assert.deepEqual(rules(q, "pod"), []);
    assert.deepEqual(routesAdded(q, "pod", "100"), []);
    assert.equal(routesAdded(q, "pod", "main").length, 5);
    assert.deepEqual(routesAdded(q, "host", "500"), ["500 203.0.113.10/32 dev cali12345 scope link"]);
  });

  it("NN-24 policy routes of an overlay net1 go to table 101 dev net1", () => {
    assert.ok(routesAdded(p, "pod", "101").includes("101 10.10.0.0/16 via 172.100.0.1 dev net1"));
  });
});

describe("planner: table D, default route on net1 by annotation", () => {
  const p = plan({ podState: overlayPod(), ifName: "net1", config: config({}, { podDefaultRouteNIC: "net1" }) });

  it("NN-19 from C → 101 only; eth0's default moved to 101 and every other eth0 main route copied, including the planner's own", () => {
    assert.deepEqual(rules(p, "pod"), ["v4 from 198.51.100.5/32 lookup 101"]);
    assert.deepEqual(routesDeleted(p, "pod"), ["main 0.0.0.0/0 via 169.254.1.1 dev eth0"]);
    const t101 = routesAdded(p, "pod", "101");
    for (const r of [
      "101 0.0.0.0/0 via 169.254.1.1 dev eth0",
      "101 169.254.1.1/32 dev eth0 scope link",
      "101 192.0.2.2/32 dev eth0 scope link src 198.51.100.5",
      ...HIJACK_V4.map((c) => `101 ${c} via 192.0.2.2 dev eth0 src 198.51.100.5`),
    ]) {
      assert.ok(t101.includes(r), `${r} in table 101`);
    }
    assert.ok(!t101.some((r) => r.includes("dev net1") && r.includes("0.0.0.0/0")), "net1's default stays in main");
    assert.deepEqual(routesAdded(p, "pod", "100"), []);
  });
});

describe("planner: table E, overlay third NIC", () => {
  const p = plan({ podState: overlayPodWithNet2(), ifName: "net2" });

  it("NN-22 table 102 only: host and hijack routes via eth0, from net2 → 102, net2's routes moved", () => {
    assert.deepEqual(p.decision, { mode: "overlay", firstInvoke: false, table: 102, podVeth: "eth0" });
    assert.deepEqual(routesAdded(p, "pod", "main"), []);
    assert.deepEqual(routesAdded(p, "pod", "100"), []);
    assert.deepEqual(rules(p, "pod"), ["v4 from 203.0.113.140/32 lookup 102"]);
    assert.deepEqual(routesAdded(p, "pod", "102"), [
      "102 192.0.2.2/32 dev eth0 scope link src 198.51.100.5",
      "102 198.51.100.2/32 dev eth0 scope link src 198.51.100.5",
      ...HIJACK_V4.map((c) => `102 ${c} via 192.0.2.2 dev eth0 src 198.51.100.5`),
      "102 203.0.113.128/25 dev net2 scope link src 203.0.113.140",
      "102 0.0.0.0/0 via 203.0.113.129 dev net2",
      "102 10.10.0.0/16 via 172.100.0.1 dev net2",
    ]);
    assert.deepEqual(neighs(p, "pod"), []);
  });
});

describe("planner: MAC prefix (§1.7)", () => {
  it("NN-13 net1 10.6.212.241 with prefix 0a:1b gets 0a:1b:0a:06:d4:f1 and an announcement", () => {
    const s = overlayPod();
    const pod = state({
      ...s,
      addresses: [addr(1, "127.0.0.1/8"), addr(2, "198.51.100.5/32"), addr(3, "10.6.212.241/24")],
    });
    const p = plan({ podState: pod, ifName: "net1", config: config({ podMACPrefix: "0a:1b" }) });
    const mac = ops(p, "link.set").find((o) => o.op === "link.set" && o.mac !== undefined);
    assert.equal(mac?.op === "link.set" && mac.mac, "0a:1b:0a:06:d4:f1");
    assert.deepEqual(p.announcements, [{ op: "announce", ns: POD, dev: "net1", address: "10.6.212.241" }]);
  });

  it("bytes are fixed-width: an IPv6 address whose last 4 bytes start with 0", () => {
    const p = plan({ podState: underlayPod("v6"), config: config({ podMACPrefix: "0a:1b" }) });
    const mac = ops(p, "link.set").find((o) => o.op === "link.set" && o.mac !== undefined);
    assert.equal(mac?.op === "link.set" && mac.mac, "0a:1b:00:00:00:10");
  });
});

describe("planner: errors (§1.3, §1.9, §1.13)", () => {
  const fails = (f: () => unknown, cls: new (...a: never[]) => Error, message: string): void =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof cls, String(e));
      assert.equal((e as Error).message, message);
      return true;
    });

  it("underlay, not first, no veth0", () =>
    fails(
      () => plan({ podState: overlayPod(), ifName: "net1", config: config({ mode: "underlay" }) }),
      CoordinatorModeError,
      "when creating interface net1 in underlay mode, it detects that the auxiliary interface veth0 was not created by previous interface. please enable coordinator plugin in previous interface",
    ));

  it("NN-16 overlay on the first NIC, overlay with veth0", () => {
    fails(
      () => plan({ podState: underlayPod("v4"), config: config({ mode: "overlay" }) }),
      CoordinatorModeError,
      "when creating interface eth0 in overlay mode, it detects that the current interface is first interface named eth0, this plugin should not work for it. please modify in the CNI configuration",
    );
    fails(
      () =>
        plan({
          podState: underlayPodWithNet1(),
          hostState: NODE_WITH_VETH,
          ifName: "net1",
          config: config({ mode: "overlay" }),
        }),
      CoordinatorModeError,
      "when creating interface net1 in overlay mode, it detects that the auxiliary interface veth0 of underlay mode exists. It seems that the previous interface work in underlay mode. ",
    );
  });

  it("auto picks overlay for net1 without veth0, underlay for net1 with it", () => {
    assert.equal(plan({ podState: overlayPod(), ifName: "net1" }).decision.mode, "overlay");
    assert.equal(
      plan({ podState: underlayPodWithNet1(), hostState: NODE_WITH_VETH, ifName: "net1" }).decision.mode,
      "underlay",
    );
  });

  it("a podDefaultRouteNIC that is not in the pod", () =>
    fails(
      () => plan({ podState: overlayPod(), ifName: "net1", config: config({ podDefaultRouteNic: "net9" }) }),
      CoordinatorStateError,
      "failed to tunePodRoutes: podDefaultRouteNIC: net9 don't exist in pod",
    ));

  it("no default route elsewhere: tuning only warns", () => {
    const s = overlayPod();
    const p = plan({ podState: state({ ...s, routes: s.routes.filter((r) => r.dev !== "eth0") }), ifName: "net1" });
    assert.deepEqual(rules(p, "pod"), []);
    assert.match(p.warnings.join(), /not tuned/);
  });

  it("the interface is missing, or has no usable address", () => {
    fails(
      () => plan({ podState: overlayPod(), ifName: "net7" }),
      CoordinatorStateError,
      "failed to IPAddressByName for pod net7 : Link not found",
    );
    const s = overlayPod();
    fails(
      () =>
        plan({
          podState: state({ ...s, addresses: s.addresses.filter((a) => a.linkIndex !== 3) }),
          ifName: "net1",
          routeSources: [],
        }),
      CoordinatorStateError,
      'no usable IP addresses on "net1"',
    );
  });

  it("the node end of the veth is missing", () => {
    fails(
      () => plan({ podState: underlayPodWithNet1(), ifName: "net1" }),
      CoordinatorStateError,
      "failed to setup neigh table, couldn't find host veth link: Link not found",
    );
    fails(
      () =>
        plan({
          podState: overlayPod(),
          hostState: state({ ...NODE, links: NODE.links.filter((l) => l.index !== 7) }),
          ifName: "net1",
        }),
      CoordinatorStateError,
      "failed to setup neigh table, couldn't find host veth link: Link not found",
    );
  });

  it("a veth of the same name already on the node", () =>
    fails(
      () => plan({ podState: underlayPod("v4"), hostState: NODE_WITH_VETH }),
      CoordinatorStateError,
      `container veth name ("veth0") peer provided ("${HOST_VETH}") already exists`,
    ));
});

describe("planner: DEL (§1.11)", () => {
  const cfg = config();
  it("NN-27 removes the node's veth end and the legacy `to` rules, nothing else", () => {
    const ops = planDel({
      config: cfg,
      containerID: CID,
      host: HOST,
      hostState: NODE_WITH_VETH,
      podAddresses: [{ family: 4, address: "192.0.2.10" }],
    });
    assert.deepEqual(ops, [
      {
        op: "link.del",
        ns: HOST,
        name: HOST_VETH,
        ignore: "missing",
        context: `failed to del hostVeth ${HOST_VETH}: %w`,
      },
      {
        op: "rule.del",
        ns: HOST,
        rule: { family: 4, table: 500, dst: "192.0.2.10/32" },
        ignore: "missing",
        context: "failed to DelToRuleTable: %w",
      },
    ]);
  });
  it("a veth already gone is fine", () => {
    assert.deepEqual(planDel({ config: cfg, containerID: CID, host: HOST, hostState: NODE, podAddresses: [] }), []);
  });
});
