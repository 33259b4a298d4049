/**
 * The coordinator's pure planner: from the merged config, the call, and the state observed in
 * the pod and on the node, the ordered operations of an ADD (§1.4–§1.9) or a DEL (§1.11).
 * It decides everything before anything is applied, so bad input fails with nothing changed.
 *
 * Later steps read the pod's main table (route tuning copies or moves routes out of it), and
 * earlier steps add to it; the planner keeps its own copy of main, updated with every route
 * it plans there, so that tuning sees what the kernel will have by then (§1.10 case D).
 */
import type { Family, HostOp, NetnsRef, NetnsState, Route } from "../host/model.ts";
import { TABLE_MAIN } from "../host/model.ts";
import type { CoordinatorConfig } from "./config.ts";
import { CoordinatorStateError } from "./errors.ts";
import { prefixedMac } from "./mac.ts";
import { resolveMode, OVERLAY_VETH, TABLE_REPLY, VETH0, type ModeDecision } from "./mode.ts";
import { hostIPsForPod, isRoutable, podFacts, type PodAddress } from "./pod-facts.ts";

export interface AddInput {
  config: CoordinatorConfig;
  containerID: string;
  ifName: string;
  /** CNI_ARGS as given: upstream quotes it in one error text (§1.4 step 5). */
  cniArgs: string;
  pod: NetnsRef;
  host: NetnsRef;
  podState: NetnsState;
  hostState: NetnsState;
  /** `ip route get` on the node towards each of `podFacts(...).allPodIPs`, in that order: its `src`. */
  routeSources: readonly (string | undefined)[];
  /** Random locally administered MACs for a veth pair this call may create. */
  macs: { podVeth: string; hostVeth: string };
}

export interface AddPlan {
  decision: ModeDecision;
  hostVeth: string;
  ops: HostOp[];
  /**
   * The §1.8 mangle rules, one op per family. They name `veth0` but need nothing else of the
   * plan, and each costs iptables processes rather than a netlink message: the flow applies
   * them alongside `ops` instead of in step 19's place.
   */
  mangle: HostOp[];
  /** Gratuitous ARP / NA after a MAC change: applied after `ops`, failures only logged (§1.4 step 11). */
  announcements: HostOp[];
  warnings: string[];
}

const DEFAULT_DST: Record<Family, string> = { 4: "0.0.0.0/0", 6: "::/0" };
const hostPrefix = (a: PodAddress): string => `${a.address}/${a.family === 4 ? 32 : 128}`;
const isDefault = (r: Route): boolean => r.dst === DEFAULT_DST[r.family];

/** Underlay's node end: `veth` + the first 11 characters of the container ID (IFNAMSIZ). */
export function hostVethName(containerID: string): string {
  return `veth${containerID.slice(0, 11)}`;
}

/** The §1.8 mangle rules: connections that came in through veth0 are answered through it. */
export function replyMarkRules(podVeth: string): string[] {
  return [
    `-t mangle -A PREROUTING -i ${podVeth} -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff`,
    "-t mangle -A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
    "-t mangle -A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
  ];
}

function sameRoute(a: Route, b: Route): boolean {
  return a.table === b.table && a.dst === b.dst && a.gateway === b.gateway && a.dev === b.dev;
}

export function planAdd(input: AddInput): AddPlan {
  const { config: cfg, ifName, podState, hostState } = input;
  if (cfg.mode === "disable") throw new RangeError("a disabled coordinator has nothing to plan");
  const facts = podFacts(podState, ifName);
  const { families, current } = facts;
  const decision = resolveMode(cfg.mode, ifName, cfg.podDefaultCniNic, podState);
  const { firstInvoke, table, podVeth, mode } = decision;
  const hostIPs = hostIPsForPod(hostState, families, input.routeSources);
  const gw = (f: Family): string | undefined => hostIPs.find((h) => h.family === f)?.address;

  const ops: HostOp[] = [];
  const announcements: HostOp[] = [];
  const mangle: HostOp[] = [];
  const warnings: string[] = [];
  const P = input.pod;
  const H = input.host;
  const main: Route[] = podState.routes
    .filter((r) => r.table === TABLE_MAIN && (r.type === undefined || r.type === "unicast"))
    .map((r) => ({ ...r }));
  const podRoute = (route: Route, context: string): void => {
    ops.push({ op: "route.add", ns: P, route, ignore: "exists", context });
    if (route.table === TABLE_MAIN && !main.some((r) => sameRoute(r, route))) main.push(route);
  };
  const podRouteDel = (route: Route, context: string): void => {
    ops.push({ op: "route.del", ns: P, route, ignore: "missing", context });
    const i = main.findIndex((r) => sameRoute(r, route));
    if (i >= 0) main.splice(i, 1);
  };

  // Step 5.
  ops.push({
    op: "link.set",
    ns: P,
    name: ifName,
    up: true,
    context: `error to check pod's nic ${input.cniArgs} state: %w`,
  });

  // Step 9: the pod–node veth, and both ends' MACs for the neighbour entries of step 15.
  let hostVeth: string;
  let podVethMac: string;
  let hostVethMac: string;
  if (mode === "underlay" && firstInvoke) {
    hostVeth = hostVethName(input.containerID);
    if (podState.links.some((l) => l.name === VETH0) || hostState.links.some((l) => l.name === hostVeth)) {
      throw new CoordinatorStateError(
        `container veth name (${JSON.stringify(VETH0)}) peer provided (${JSON.stringify(hostVeth)}) already exists`,
      );
    }
    podVethMac = input.macs.podVeth;
    hostVethMac = input.macs.hostVeth;
    ops.push(
      {
        op: "link.addVeth",
        ns: P,
        name: VETH0,
        mtu: cfg.vethMTU,
        mac: podVethMac,
        peerName: hostVeth,
        peerMac: hostVethMac,
        peerNs: H,
        context: "failed to create veth pair: %w",
      },
      { op: "link.set", ns: H, name: hostVeth, up: true, context: `failed to set ${hostVeth} up: %w` },
      { op: "sysctl.set", ns: H, key: `net/ipv6/conf/${hostVeth}/accept_ra`, value: "0" },
      { op: "link.set", ns: P, name: VETH0, up: true, context: `failed to set ${VETH0} up: %w` },
    );
    if (cfg.vethLinkAddress !== "" && families.includes(4)) {
      ops.push({
        op: "addr.add",
        ns: P,
        dev: VETH0,
        cidr: `${cfg.vethLinkAddress}/32`,
        ignore: "exists",
        context: "failed to add ip address to veth0: %w",
      });
    }
  } else {
    const podLink = podState.links.find((l) => l.name === podVeth);
    const hostLink =
      mode === "underlay"
        ? hostState.links.find((l) => l.name === hostVethName(input.containerID))
        : hostState.links.find((l) => podLink?.parentIndex !== undefined && l.index === podLink.parentIndex);
    if (podLink === undefined || hostLink === undefined) {
      throw new CoordinatorStateError("failed to setup neigh table, couldn't find host veth link: Link not found");
    }
    hostVeth = hostLink.name;
    podVethMac = podLink.mac;
    hostVethMac = hostLink.mac;
  }

  // Steps 11–14.
  if (cfg.podMACPrefix !== "") {
    const first = current[0] as PodAddress;
    ops.push({
      op: "link.set",
      ns: P,
      name: ifName,
      mac: prefixedMac(cfg.podMACPrefix, first.address),
      context: `failed to update hardware address for interface ${ifName}, maybe hardware_prefix(${cfg.podMACPrefix}) is invalid: %w`,
    });
    for (const a of current) announcements.push({ op: "announce", ns: P, dev: ifName, address: a.address });
  }
  if (cfg.txQueueLen > 0) {
    ops.push({
      op: "link.set",
      ns: P,
      name: ifName,
      txQueueLen: cfg.txQueueLen,
      context: `failed to set ${ifName} txQueueLen to ${cfg.txQueueLen}: %w`,
    });
  }
  if (families.includes(6)) ops.push({ op: "sysctl.set", ns: P, key: "net/ipv6/conf/all/disable_ipv6", value: "0" });
  if (cfg.podRPFilter !== -1) {
    ops.push({ op: "sysctl.set", ns: P, key: "net/ipv4/conf/all/rp_filter", value: String(cfg.podRPFilter) });
  }

  // Step 15: neighbours both ways, stale node entries for these addresses first.
  const mine = new Set(current.map((a) => a.address));
  for (const n of hostState.neighbours) {
    if (families.includes(n.family) && mine.has(n.address)) {
      ops.push({
        op: "neigh.del",
        ns: H,
        neighbour: { family: n.family, dev: n.dev, address: n.address },
        ignore: "missing",
      });
    }
  }
  for (const a of current) {
    ops.push({
      op: "neigh.add",
      ns: H,
      neighbour: { family: a.family, dev: hostVeth, address: a.address, mac: podVethMac, permanent: true },
      ignore: "exists",
      context: "failed to add neigh table: %w",
    });
  }
  if (firstInvoke) {
    for (const h of hostIPs) {
      ops.push({
        op: "neigh.add",
        ns: P,
        neighbour: { family: h.family, dev: podVeth, address: h.address, mac: hostVethMac, permanent: true },
        ignore: "exists",
        context: "failed to add neigh table: %w",
      });
    }
  }

  // Step 16: IPv6 routes carry no src (upstream's kernel-bug workaround).
  const eth0 = podState.links.find((l) => l.name === OVERLAY_VETH);
  const srcV4 = podState.addresses.find(
    (a) => a.linkIndex === eth0?.index && a.family === 4 && isRoutable(4, a.address),
  )?.address;
  const src = (f: Family): { src?: string } => (f === 4 && srcV4 !== undefined ? { src: srcV4 } : {});

  // Step 17: node addresses through the veth, the node's rule table back to the pod.
  for (const h of hostIPs) {
    const tables = firstInvoke ? [table, TABLE_MAIN] : [table];
    for (const t of tables) {
      podRoute(
        { table: t, family: h.family, dst: hostPrefix(h), dev: podVeth, scope: "link", ...src(h.family) },
        `failed to AddRouteTable for preInterfaceIPAddress: failed to add route table(${t}): %w`,
      );
    }
  }
  for (const f of families) {
    const rule = { family: f, priority: 1000, table: cfg.hostRuleTable };
    ops.push({
      op: "rule.add",
      ns: H,
      rule,
      ignore: "exists",
      context: `failed to Add ToRuleTable for host(${JSON.stringify(rule)}): %w`,
    });
  }
  for (const a of current) {
    const dst = hostPrefix(a);
    for (const r of hostState.routes) {
      if (r.table === cfg.hostRuleTable && r.dst === dst) {
        ops.push({ op: "route.del", ns: H, route: r, ignore: "missing" });
      }
    }
    ops.push({
      op: "route.add",
      ns: H,
      route: { table: cfg.hostRuleTable, family: a.family, dst, dev: hostVeth, scope: "link" },
      ignore: "exists",
      context: `failed to add route table(${cfg.hostRuleTable}): %w`,
    });
  }

  // Step 18: service, pod and hijack ranges through the node.
  const hijackTable = firstInvoke ? TABLE_MAIN : table;
  for (const h of cfg.hijack) {
    const via = gw(h.family);
    if (via === undefined) {
      warnings.push(`no node address of IPv${h.family} to route ${h.cidr} through; skipped`);
      continue;
    }
    podRoute(
      {
        table: hijackTable,
        family: h.family,
        dst: h.cidr,
        gateway: via,
        dev: podVeth,
        scope: "universe",
        ...src(h.family),
      },
      `failed to AddRoute for hijackCIDR: failed to add route table(${hijackTable}): %w`,
    );
  }

  // Step 19: replies to what came in through veth0 leave through it.
  if (mode === "underlay" && firstInvoke) {
    for (const f of families) {
      const via = gw(f);
      mangle.push({
        op: "iptables.ensure",
        ns: P,
        family: f,
        rules: replyMarkRules(podVeth),
        context: "failed to makeReplyPacketViaVeth: iptables ensureRule err: %w",
      });
      ops.push({
        op: "rule.add",
        ns: P,
        rule: { family: f, priority: 1000, table: TABLE_REPLY, fwmark: 1 },
        ignore: "exists",
        context: "failed to makeReplyPacketViaVeth: failed to add rule table with mark: %w",
      });
      if (via !== undefined) {
        podRoute(
          {
            table: TABLE_REPLY,
            family: f,
            dst: DEFAULT_DST[f],
            gateway: via,
            dev: podVeth,
            scope: "universe",
            ...src(f),
          },
          `failed to makeReplyPacketViaVeth: failed to add route table(${TABLE_REPLY}): %w`,
        );
      }
    }
  }

  // Step 20.
  if (cfg.tunePodRoutes && (!firstInvoke || mode === "overlay")) {
    tuneRoutes({ input, facts: current, families, decision, main, ops, warnings, podRoute, podRouteDel });
  }

  // Step 21.
  const policyTable = mode === "underlay" && firstInvoke ? TABLE_MAIN : table;
  for (const r of cfg.policyRoutes) {
    if (!families.includes(r.family)) continue;
    podRoute(
      { table: policyTable, family: r.family, dst: r.dst, gateway: r.gw, dev: ifName, scope: "universe" },
      `failed to setupPolicyRoutes: failed to AddRoute for configured route ${r.dst} via ${r.gw}: %w`,
    );
  }
  return { decision, hostVeth, ops, mangle, announcements, warnings };
}

interface TuneContext {
  input: AddInput;
  facts: PodAddress[];
  families: Family[];
  decision: ModeDecision;
  main: Route[];
  ops: HostOp[];
  warnings: string[];
  podRoute: (r: Route, context: string) => void;
  podRouteDel: (r: Route, context: string) => void;
}

const ownsDefault = (r: Route, dev: string): boolean =>
  isDefault(r) && (r.dev === dev || (r.multipath?.some((h) => h.dev === dev) ?? false));

/** §1.9: source rules into the interface's table, and the default route on the NIC that should keep it. */
function tuneRoutes(t: TuneContext): void {
  const { input, decision, main, families } = t;
  const { ifName, podState } = input;
  const P = input.pod;
  const table = decision.table;
  const links = [...podState.links].sort((a, b) => a.index - b.index);
  const detected = links.find(
    (l) => l.name !== "lo" && !l.flags.loopback && l.name !== ifName && main.some((r) => ownsDefault(r, l.name)),
  );
  if (detected === undefined) {
    t.warnings.push("no link other than the current one owns a default route in main; routes not tuned");
    return;
  }
  let configured = input.config.podDefaultRouteNic;
  let moveIf = ifName;
  if (configured === "" || configured === detected.name) {
    configured = detected.name;
  } else {
    if (!podState.links.some((l) => l.name === configured)) {
      throw new CoordinatorStateError(`failed to tunePodRoutes: podDefaultRouteNIC: ${configured} don't exist in pod`);
    }
    moveIf = detected.name;
  }
  const detectedAddrs = podState.addresses
    .filter((a) => a.linkIndex === detected.index && families.includes(a.family) && isRoutable(a.family, a.address))
    .map((a) => ({ family: a.family, address: a.address }));
  const fromRule = (a: PodAddress, to: number): void => {
    t.ops.push({
      op: "rule.add",
      ns: P,
      rule: { family: a.family, table: to, src: hostPrefix(a) },
      ignore: "exists",
      context: "failed to tunePodRoutes: failed to add rule: %w",
    });
  };
  const addCtx = (r: Route): string =>
    `failed to tunePodRoutes: failed to RouteAdd (${JSON.stringify(r)}) to new table: %w`;
  if (configured === ifName) {
    for (const a of detectedAddrs) fromRule(a, table);
  } else {
    for (const a of t.facts) fromRule(a, table);
    if (decision.mode === "overlay" && decision.firstInvoke) {
      for (const a of detectedAddrs) fromRule(a, TABLE_REPLY);
      for (const r of main.filter((r) => ownsDefault(r, detected.name) && families.includes(r.family))) {
        const copy = copyRoute(r, TABLE_REPLY, true);
        t.podRoute(copy, addCtx(copy));
      }
    }
  }
  for (const r of main.filter((r) => families.includes(r.family) && r.dst !== "fe80::/64")) {
    if (r.multipath !== undefined) {
      const hop = r.multipath.find((h) => h.dev === moveIf);
      if (hop === undefined || !isDefault(r)) continue;
      const moved: Route = {
        table,
        family: r.family,
        dst: r.dst,
        dev: hop.dev,
        ...(hop.gateway !== undefined ? { gateway: hop.gateway } : {}),
        ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
      };
      t.podRoute(moved, addCtx(moved));
      const gone: Route = { ...moved, table: TABLE_MAIN };
      t.podRouteDel(gone, `failed to tunePodRoutes: failed to RouteDel ${r.dst} in main table: %w`);
      continue;
    }
    if (r.dev !== moveIf) continue;
    const target = copyRoute(r, table, isDefault(r));
    t.podRoute(target, addCtx(target));
    if (isDefault(r)) {
      t.podRouteDel(
        {
          table: TABLE_MAIN,
          family: r.family,
          dst: r.dst,
          ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
          dev: moveIf,
        },
        `failed to tunePodRoutes: failed to RouteDel ${r.dst} in main table: %w`,
      );
    }
  }
}

/** A main route into another table: a default keeps {dst, gw, dev, scope}, others also src; never protocol or metric. */
function copyRoute(r: Route, table: number, asDefault: boolean): Route {
  const out: Route = { table, family: r.family, dst: r.dst };
  if (r.gateway !== undefined) out.gateway = r.gateway;
  if (r.dev !== undefined) out.dev = r.dev;
  if (r.scope !== undefined) out.scope = r.scope;
  if (!asDefault && r.src !== undefined) out.src = r.src;
  if (r.multipath !== undefined) out.multipath = r.multipath;
  return out;
}

export interface DelInput {
  config: CoordinatorConfig;
  containerID: string;
  host: NetnsRef;
  hostState: NetnsState;
  /** `ifName`'s addresses in the pod, as far as they could be read (errors are ignored, §1.11 step 4). */
  podAddresses: readonly PodAddress[];
}

/** §1.11 steps 3–4: the node's veth end (the kernel drops its routes and neighbours), and legacy `to` rules. */
export function planDel(input: DelInput): HostOp[] {
  const ops: HostOp[] = [];
  const name = hostVethName(input.containerID);
  if (input.hostState.links.some((l) => l.name === name)) {
    ops.push({
      op: "link.del",
      ns: input.host,
      name,
      ignore: "missing",
      context: `failed to del hostVeth ${name}: %w`,
    });
  }
  for (const a of input.podAddresses) {
    ops.push({
      op: "rule.del",
      ns: input.host,
      rule: { family: a.family, table: input.config.hostRuleTable, dst: hostPrefix(a) },
      ignore: "missing",
      context: "failed to DelToRuleTable: %w",
    });
  }
  return ops;
}
