// The same plans against FakeHost and against the kernel through NetlinkHost, comparing
// what observe() reads after each and which errno each failing op gets. This is what keeps
// the fake the coordinator's tests run on honest.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { HostOp, NetnsRef, NetnsState, Route } from "../../src/host/model.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { FakeHost } from "../support/fake-host.ts";
import { tempNetns } from "../support/netns.ts";
import { nftTable, replyMarkTable } from "../support/nft.ts";
import { until } from "../support/wait.ts";

interface Pair {
  real: NetlinkHost;
  fake: FakeHost;
  pod: NetnsRef;
  node: NetnsRef;
}

function pair(t: TestContext): Pair {
  const pod = tempNetns(t);
  const node = tempNetns(t);
  const fake = new FakeHost();
  fake.addNetns(pod.path);
  fake.addNetns(node.path);
  return { real: new NetlinkHost(), fake, pod, node };
}

/** JSON with keys sorted, so two objects built in different orders compare equal. */
function stable(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** observe() without indexes (each side numbers links its own way), in a stable order. */
function comparable(s: NetnsState): unknown {
  const name = new Map(s.links.map((l) => [l.index, l.name]));
  const sortBy = <T>(xs: readonly T[]) => [...xs].map(stable).sort();
  return {
    links: sortBy(
      s.links.map((l) => ({
        name: l.name,
        kind: l.kind,
        flags: l.flags,
        mtu: l.mtu,
        mac: l.name === "lo" ? "" : l.mac,
        txQueueLen: l.txQueueLen,
        hasParent: l.parentIndex !== undefined,
        master: l.masterIndex === undefined ? undefined : name.get(l.masterIndex),
      })),
    ),
    addresses: sortBy(s.addresses.map((a) => ({ ...a, linkIndex: name.get(a.linkIndex) }))),
    routes: sortBy(s.routes.map((r: Route) => r)),
    // Order is meaning for rules: compared as listed.
    rules: s.rules.map(stable),
    // Entries the kernel learns from traffic (a probe's sender) are not the fake's business: it carries no packets.
    neighbours: sortBy(s.neighbours.filter((n) => n.permanent)),
  };
}

/**
 * The kernel finishes IPv6 address setup (link-local generation, DAD even when off) on a
 * workqueue after the link gains carrier; the fake does it at once. Waits for the kernel to
 * get there: a link-local on each veth with carrier, and no address tentative except on a link
 * that is up without carrier (where it waits for the link).
 */
async function settled(host: NetlinkHost, ns: NetnsRef): Promise<NetnsState> {
  let s: NetnsState | undefined;
  // Past the deadline the state is compared as it is: the comparison then says what differs.
  await until(async () => ipv6Settled((s = await host.observe(ns))), "IPv6 setup settled", {
    timeoutMs: 3000,
  }).catch((err: Error) => {
    if (s === undefined || !err.message.startsWith("timed out waiting")) throw err;
  });
  return s as NetnsState;
}

function ipv6Settled(s: NetnsState): boolean {
  const carrier = s.links.filter((l) => l.flags.lowerUp && l.kind === "veth");
  const linkOf = (i: number) => s.links.find((l) => l.index === i);
  // Tentative for good only on a link that is up without carrier; anywhere else DAD (off) is about to finish.
  return (
    carrier.every((l) => s.addresses.some((a) => a.linkIndex === l.index && a.scope === "link")) &&
    s.addresses.every(
      (a) => a.tentative !== true || (linkOf(a.linkIndex)?.flags.up === true && !linkOf(a.linkIndex)?.flags.lowerUp),
    )
  );
}

async function both(p: Pair, plan: HostOp[], label: string): Promise<void> {
  const [r, f] = await Promise.all([p.real.apply(plan), p.fake.apply(plan)]);
  assert.equal(f?.errno, r?.errno, `${label}: errno (kernel ${r?.message ?? "ok"}, fake ${f?.message ?? "ok"})`);
  assert.equal(f?.index, r?.index, `${label}: failing op`);
  assert.equal(f?.message, r?.message, `${label}: message`);
  for (const ns of [p.pod, p.node]) {
    const [rs, fs] = [await settled(p.real, ns), await p.fake.observe(ns)];
    assert.deepEqual(comparable(fs), comparable(rs), `${label}: state of ${ns.kind === "path" ? ns.path : "host"}`);
  }
}

/** A pod and a node namespace joined by a veth, both ends up and addressed; DAD off so no address is tentative. */
function setupPlan(p: Pair): HostOp[] {
  const { pod, node } = p;
  const noDad = (ns: NetnsRef): HostOp[] => [
    { op: "sysctl.set", ns, key: "net.ipv6.conf.all.accept_dad", value: "0" },
    { op: "sysctl.set", ns, key: "net.ipv6.conf.default.accept_dad", value: "0" },
  ];
  return [
    ...noDad(pod),
    ...noDad(node),
    {
      op: "link.addVeth",
      ns: pod,
      name: "veth0",
      mtu: 1400,
      mac: "0a:00:00:00:00:01",
      peerName: "vethnode",
      peerMac: "0a:00:00:00:00:02",
      peerNs: node,
    },
    { op: "addr.add", ns: pod, dev: "veth0", cidr: "192.0.2.1/24" },
    { op: "addr.add", ns: pod, dev: "veth0", cidr: "192.0.2.2/24" },
    { op: "addr.add", ns: pod, dev: "veth0", cidr: "192.0.2.9/32" },
    { op: "addr.add", ns: pod, dev: "veth0", cidr: "2001:db8::1/64" },
    { op: "link.set", ns: pod, name: "veth0", up: true },
    { op: "link.set", ns: node, name: "vethnode", up: true },
    { op: "addr.add", ns: node, dev: "vethnode", cidr: "192.0.2.254/24" },
    { op: "addr.add", ns: node, dev: "vethnode", cidr: "2001:db8::fe/64" },
  ];
}

const v4 = (r: Omit<Route, "family">): Route => ({ family: 4, ...r });
const v6 = (r: Omit<Route, "family">): Route => ({ family: 6, ...r });

test("host conformance: veth across namespaces, addresses, connected and local routes", async (t) => {
  const p = pair(t);
  await both(p, setupPlan(p).slice(0, 5), "veth created, both ends down");
  await both(p, setupPlan(p).slice(5, 9), "addresses on a down link");
  await both(p, setupPlan(p).slice(9), "both ends up");
});

test("host conformance: routes in any table, multipath, IPv6, src, metric, mtu, replace and delete", async (t) => {
  const p = pair(t);
  const { pod } = p;
  await both(p, setupPlan(p), "setup");
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 101, dst: "192.0.2.254/32", dev: "veth0", scope: "link", src: "192.0.2.1" }),
      },
      {
        op: "route.add",
        ns: pod,
        route: v4({
          table: 1000,
          dst: "198.51.100.0/24",
          gateway: "192.0.2.254",
          dev: "veth0",
          src: "192.0.2.1",
          scope: "universe",
        }),
      },
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 100, dst: "0.0.0.0/0", gateway: "192.0.2.254", dev: "veth0", metric: 10, mtu: 1300 }),
      },
      {
        op: "route.add",
        ns: pod,
        route: v4({
          table: 254,
          dst: "203.0.113.0/24",
          multipath: [
            { dev: "veth0", gateway: "192.0.2.253" },
            { dev: "veth0", gateway: "192.0.2.252" },
          ],
        }),
      },
      {
        op: "route.add",
        ns: pod,
        route: v6({ table: 101, dst: "2001:db8:1::/48", gateway: "2001:db8::fe", dev: "veth0" }),
      },
      {
        op: "route.add",
        ns: pod,
        route: v6({ table: 254, dst: "::/0", gateway: "2001:db8::fe", dev: "veth0", metric: 100 }),
      },
    ],
    "routes added",
  );
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 1000, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "veth0" }),
        context: "failed to add route table(1000): %w",
      },
    ],
    "duplicate route",
  );
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 1000, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "veth0" }),
        ignore: "exists",
      },
    ],
    "duplicate route ignored",
  );
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 102, dst: "198.51.100.0/24", gateway: "203.0.113.1", dev: "veth0" }),
      },
    ],
    "off-link IPv4 gateway",
  );
  await both(
    p,
    [{ op: "route.add", ns: pod, route: v4({ table: 102, dst: "198.51.100.0/24", dev: "veth0", src: "203.0.113.5" }) }],
    "src not local",
  );
  await both(
    p,
    [{ op: "route.add", ns: pod, route: v4({ table: 102, dst: "198.51.100.0/24", dev: "nosuch0" }) }],
    "missing device",
  );
  await both(
    p,
    [{ op: "route.replace", ns: pod, route: v4({ table: 1000, dst: "198.51.100.0/24", dev: "veth0", scope: "link" }) }],
    "replace",
  );
  await both(p, [{ op: "route.del", ns: pod, route: v4({ table: 1000, dst: "198.51.100.0/24" }) }], "delete");
  await both(p, [{ op: "route.del", ns: pod, route: v4({ table: 1000, dst: "198.51.100.0/24" }) }], "delete missing");
  await both(
    p,
    [{ op: "route.del", ns: pod, route: v6({ table: 101, dst: "2001:db8:1::/48", dev: "veth0" }) }],
    "delete IPv6",
  );
  await both(p, [{ op: "link.set", ns: pod, name: "veth0", up: false }], "link down drops its routes");
  await both(
    p,
    [{ op: "route.add", ns: pod, route: v4({ table: 102, dst: "198.51.100.0/24", dev: "veth0" }) }],
    "IPv4 route through a down link",
  );
});

test("host conformance (spec Q5): rules with and without priority, fwmark, IPv6, delete", async (t) => {
  const p = pair(t);
  const { pod } = p;
  await both(p, setupPlan(p), "setup");
  await both(
    p,
    [
      { op: "rule.add", ns: pod, rule: { family: 4, table: 101, src: "192.0.2.1/32" } },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 101, src: "192.0.2.2/32" } },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 100, fwmark: 1, priority: 1000 } },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 500, priority: 1000 } },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 101, src: "192.0.2.9/32" } },
      { op: "rule.add", ns: pod, rule: { family: 6, table: 100, fwmark: 1, fwmask: 0xff, priority: 1000 } },
      { op: "rule.add", ns: pod, rule: { family: 6, table: 101, src: "2001:db8::1/128" } },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 1000, dst: "203.0.113.0/24", priority: 5 } },
    ],
    "rules added",
  );
  await both(p, [{ op: "rule.add", ns: pod, rule: { family: 4, table: 500, priority: 1000 } }], "duplicate rule");
  await both(p, [{ op: "rule.del", ns: pod, rule: { family: 4, table: 101, src: "192.0.2.2/32" } }], "rule deleted");
  await both(p, [{ op: "rule.del", ns: pod, rule: { family: 4, table: 101, src: "198.51.100.1/32" } }], "missing rule");
  await both(
    p,
    [{ op: "rule.del", ns: pod, rule: { family: 4, table: 101, src: "198.51.100.1/32" }, ignore: "missing" }],
    "missing rule ignored",
  );
});

test("host conformance: permanent neighbours, link changes, addr.del, link.del takes the peer and its state", async (t) => {
  const p = pair(t);
  const { pod, node } = p;
  await both(p, setupPlan(p), "setup");
  await both(
    p,
    [
      {
        op: "neigh.add",
        ns: pod,
        neighbour: { family: 4, dev: "veth0", address: "192.0.2.254", mac: "0a:00:00:00:00:02", permanent: true },
      },
      {
        op: "neigh.add",
        ns: pod,
        neighbour: { family: 6, dev: "veth0", address: "2001:db8::fe", mac: "0a:00:00:00:00:02", permanent: true },
      },
      {
        op: "neigh.add",
        ns: node,
        neighbour: { family: 4, dev: "vethnode", address: "192.0.2.1", mac: "0a:00:00:00:00:01", permanent: true },
      },
    ],
    "neighbours added",
  );
  await both(
    p,
    [
      {
        op: "neigh.add",
        ns: pod,
        neighbour: { family: 4, dev: "veth0", address: "192.0.2.254", mac: "0a:00:00:00:00:02", permanent: true },
      },
    ],
    "duplicate neighbour",
  );
  await both(
    p,
    [{ op: "neigh.del", ns: pod, neighbour: { family: 6, dev: "veth0", address: "2001:db8::fe" } }],
    "neighbour deleted",
  );
  await both(
    p,
    [{ op: "neigh.del", ns: pod, neighbour: { family: 6, dev: "veth0", address: "2001:db8::fe" } }],
    "missing neighbour",
  );
  await both(p, [{ op: "addr.add", ns: pod, dev: "veth0", cidr: "192.0.2.1/24" }], "duplicate address");
  await both(p, [{ op: "addr.del", ns: pod, dev: "veth0", cidr: "192.0.2.9/32" }], "address deleted");
  await both(p, [{ op: "addr.del", ns: pod, dev: "veth0", cidr: "192.0.2.9/32" }], "missing address");
  await both(
    p,
    [{ op: "link.set", ns: pod, name: "veth0", mtu: 1300, mac: "0a:00:00:00:00:03", txQueueLen: 500 }],
    "link attributes",
  );
  await both(p, [{ op: "link.del", ns: node, name: "vethnode" }], "link deleted from the peer's side");
  await both(p, [{ op: "link.del", ns: node, name: "vethnode" }], "missing link");
  await both(p, [{ op: "link.del", ns: node, name: "vethnode", ignore: "missing" }], "missing link ignored");
});

test("host conformance: what the kernel refuses — name clashes, long names, IPv6 gateways off-link, local gateways", async (t) => {
  const p = pair(t);
  const { pod, node } = p;
  await both(p, setupPlan(p), "setup");
  const veth = (name: string, peerName: string, peerNs: NetnsRef = node): HostOp => ({
    op: "link.addVeth",
    ns: pod,
    name,
    mtu: 1500,
    mac: "0a:00:00:00:00:05",
    peerName,
    peerMac: "0a:00:00:00:00:06",
    peerNs,
  });
  await both(p, [veth("veth0", "vethnew")], "pod end exists");
  await both(p, [veth("vethnew", "vethnode")], "peer end exists in the peer namespace");
  await both(
    p,
    [veth("vethnew", "vethnode"), { op: "link.set", ns: pod, name: "vethnew", up: true }],
    "half-made pair is not left behind",
  );
  await both(p, [veth("a-name-longer-than-15", "vethx")], "name too long");
  const gone: NetnsRef = { kind: "path", path: "/var/run/netns/spt-ho-gone" };
  await both(p, [veth("vethnew", "vethx", gone)], "peer namespace missing");
  await both(p, [{ op: "link.set", ns: gone, name: "veth0", up: true }], "namespace missing");
  await both(p, [{ op: "link.set", ns: pod, name: "veth0", mtu: 1300, mac: "not-a-mac" }], "bad MAC changes nothing");
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v6({ table: 101, dst: "2001:db8:2::/48", gateway: "2001:db8:9::1", dev: "veth0" }),
      },
    ],
    "off-link IPv6 gateway",
  );
  await both(
    p,
    [{ op: "route.add", ns: pod, route: v6({ table: 101, dst: "2001:db8:2::/48", gateway: "fe80::1", dev: "veth0" }) }],
    "link-local IPv6 gateway",
  );
  await both(
    p,
    [{ op: "route.add", ns: pod, route: v4({ table: 101, dst: "0.0.0.0/0", gateway: "192.0.2.1", dev: "veth0" }) }],
    "own address as IPv4 gateway",
  );
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v6({
          table: 101,
          dst: "2001:db8:3::/48",
          multipath: [
            { dev: "veth0", gateway: "2001:db8::fe" },
            { dev: "veth0", gateway: "2001:db8::fd" },
          ],
        }),
      },
    ],
    "IPv6 multipath",
  );
  await both(
    p,
    [{ op: "route.del", ns: pod, route: v4({ table: 254, dst: "192.0.2.0/24", dev: "veth0" }) }],
    "deleting a connected route",
  );
});

test("host conformance: deleting a primary IPv4 address takes its secondaries; link down and up again", async (t) => {
  const p = pair(t);
  const { pod } = p;
  await both(p, setupPlan(p), "setup");
  await both(p, [{ op: "addr.del", ns: pod, dev: "veth0", cidr: "192.0.2.1/24" }], "primary deleted");
  await both(p, [{ op: "link.set", ns: pod, name: "veth0", up: false }], "down");
  await both(p, [{ op: "link.set", ns: pod, name: "veth0", up: true }], "up again");
});

test("host conformance: route get picks the same table, device, gateway and source", async (t) => {
  const p = pair(t);
  const { pod } = p;
  await both(p, setupPlan(p), "setup");
  await both(
    p,
    [
      {
        op: "route.add",
        ns: pod,
        route: v4({ table: 500, dst: "203.0.113.0/24", gateway: "192.0.2.254", dev: "veth0" }),
      },
      { op: "rule.add", ns: pod, rule: { family: 4, table: 500, priority: 1000 } },
      { op: "route.add", ns: pod, route: v4({ table: 254, dst: "0.0.0.0/0", gateway: "192.0.2.253", dev: "veth0" }) },
      { op: "route.add", ns: pod, route: v4({ table: 254, dst: "198.51.100.0/24", dev: "veth0", src: "192.0.2.9" }) },
      { op: "route.add", ns: pod, route: v6({ table: 254, dst: "::/0", gateway: "2001:db8::fe", dev: "veth0" }) },
    ],
    "routes for lookups",
  );
  for (const dst of ["203.0.113.7", "198.51.100.7", "192.0.2.77", "8.8.8.8", "2001:db8:5::1", "2001:db8::fe"]) {
    const pick = (r: Route | undefined) =>
      r === undefined ? undefined : { table: r.table, dev: r.dev, gateway: r.gateway, src: r.src, type: r.type };
    const [real, fake] = [await p.real.routeGet(pod, dst), await p.fake.routeGet(pod, dst)];
    assert.deepEqual(pick(fake), pick(real), `route get ${dst}`);
  }
});

test("host conformance: probes are answered by the same neighbours, and announcing from a down link fails alike", async (t) => {
  const p = pair(t);
  const { pod, node } = p;
  await both(p, setupPlan(p), "setup");
  await both(
    p,
    [{ op: "addr.add", ns: node, dev: "lo", cidr: "198.51.100.1/32" }],
    "an address on another link of the peer",
  );
  const probe = (family: 4 | 6, purpose: "conflict" | "gateway", target: string) => ({
    ns: pod,
    dev: "veth0",
    family,
    purpose,
    target,
    retries: 1,
    timeoutMs: 100,
  });
  const cases = [
    probe(4, "conflict", "192.0.2.254"),
    probe(4, "gateway", "192.0.2.254"),
    probe(4, "conflict", "192.0.2.100"),
    // ARP answers for any of the peer's addresses (arp_ignore=0), NDP only for the link's own.
    probe(4, "conflict", "198.51.100.1"),
    probe(6, "conflict", "2001:db8::fe"),
    probe(6, "gateway", "2001:db8::fe"),
    probe(6, "conflict", "2001:db8::100"),
    probe(6, "conflict", "2001:db8:9::1"),
  ];
  for (const req of cases) {
    const [real, fake] = [await p.real.probe(req), await p.fake.probe(req)];
    assert.deepEqual(fake, real, `${req.purpose} probe for ${req.target}`);
  }
  await both(p, [{ op: "link.set", ns: pod, name: "veth0", up: false }], "down");
  await both(
    p,
    [{ op: "announce", ns: pod, dev: "veth0", address: "192.0.2.1", context: "failed to announce: %w" }],
    "announce from a down link",
  );
});

test("host conformance: NN-7 reply marks — applied again, for another device, with input the kernel never sees", async (t) => {
  const p = pair(t);
  const { pod } = p;
  await both(p, setupPlan(p), "setup");
  const mark = (family: 4 | 6, dev: string, value = 1): HostOp => ({
    op: "mark.replyPath",
    ns: pod,
    family,
    dev,
    mark: value,
    context: "failed to makeReplyPacketViaVeth: iptables ensureRule err: %w",
  });
  await both(p, [mark(4, "veth0"), mark(6, "veth0"), mark(4, "veth0")], "both families, one again");
  await both(p, [mark(6, "net1")], "another device (it need not exist: iifname matches by name)");
  await both(p, [mark(4, "a-name-too-long0")], "a device name iifname cannot hold");
  await both(p, [mark(4, "veth0", 0)], "no mark");
  const name = pod.kind === "path" ? pod.path.replace(/^.*\//, "") : "";
  for (const [family, nft] of [
    [4, "ip"],
    [6, "ip6"],
  ] as const) {
    const fake = p.fake.replyMark(pod, family);
    assert.ok(fake !== undefined && fake.mark === 1);
    assert.deepEqual(nftTable(name, nft, "spiderpool"), replyMarkTable(fake.dev), `${nft}: the kernel's table`);
  }
});
