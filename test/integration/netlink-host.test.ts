// NetlinkHost against the kernel, as root, in namespaces the tests create: what the
// conformance test does not compare with the fake — sysctls, iptables, reply marks (nf_tables), probes,
// announcements, netnsExists, route get, the ifacer's link kinds and the spec's messages.
import assert from "node:assert/strict";
import { writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { loadAddon } from "../../src/host/addon.ts";
import { NotANetnsError } from "../../src/host/errors.ts";
import { ETH_P_ARP, ETH_P_IPV6, parseArp } from "../../src/host/frames.ts";
import type { HostOp, NetnsRef } from "../../src/host/model.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import type { ProbeRequest } from "../../src/host/network.ts";
import { inNetns, tempNetns } from "../support/netns.ts";
import { nftTable, replyMarkTable } from "../support/nft.ts";
import { until } from "../support/wait.ts";

const host = new NetlinkHost();

type Ns = ReturnType<typeof tempNetns>;

/** A pod joined to a peer ("node" or "gateway") by a veth; both ends up and addressed, DAD off. */
async function joined(t: TestContext): Promise<{ pod: Ns; peer: Ns }> {
  const pod = tempNetns(t);
  const peer = tempNetns(t);
  const noDad = (ns: NetnsRef): HostOp[] => [
    { op: "sysctl.set", ns, key: "net.ipv6.conf.all.accept_dad", value: "0" },
    { op: "sysctl.set", ns, key: "net.ipv6.conf.default.accept_dad", value: "0" },
  ];
  const failure = await host.apply([
    ...noDad(pod),
    ...noDad(peer),
    {
      op: "link.addVeth",
      ns: pod,
      name: "eth0",
      mtu: 1500,
      mac: "0a:00:00:00:00:01",
      peerName: "gw0",
      peerMac: "0a:00:00:00:00:02",
      peerNs: peer,
    },
    { op: "link.set", ns: pod, name: "eth0", up: true },
    { op: "link.set", ns: peer, name: "gw0", up: true },
    { op: "addr.add", ns: pod, dev: "eth0", cidr: "192.0.2.1/24" },
    { op: "addr.add", ns: pod, dev: "eth0", cidr: "2001:db8::1/64" },
    { op: "addr.add", ns: peer, dev: "gw0", cidr: "192.0.2.254/24" },
    { op: "addr.add", ns: peer, dev: "gw0", cidr: "2001:db8::fe/64" },
  ]);
  assert.equal(failure, undefined);
  await until(
    async () => {
      const s = await host.observe(pod);
      return s.addresses.some((a) => a.scope === "link" && a.family === 6 && a.tentative !== true);
    },
    "the pod's IPv6 link-local address out of DAD",
    { timeoutMs: 3000 },
  );
  return { pod, peer };
}

test("host netnsExists: a namespace, a missing path, a plain file, a namespace of another kind", async (t) => {
  const ns = tempNetns(t);
  assert.equal(await host.netnsExists(ns.path), true);
  assert.equal(await host.netnsExists("/var/run/netns/spt-ho-does-not-exist"), false);
  const file = join(tmpdir(), `spt-ho-file-${process.pid}`);
  writeFileSync(file, "");
  t.after(() => rmSync(file, { force: true }));
  await assert.rejects(host.netnsExists(file), NotANetnsError);
  await assert.rejects(host.netnsExists("/proc/self/ns/mnt"), NotANetnsError);
});

test("host sysctl.set writes inside the namespace only; a missing key fails with ENOENT", async (t) => {
  const ns = tempNetns(t);
  assert.equal(await host.apply([{ op: "sysctl.set", ns, key: "net.ipv4.conf.all.rp_filter", value: "2" }]), undefined);
  assert.equal(inNetns(ns, "cat", ["/proc/sys/net/ipv4/conf/all/rp_filter"]).trim(), "2");
  const f = await host.apply([
    { op: "sysctl.set", ns, key: "net/ipv6/conf/nosuch0/accept_ra", value: "0", context: "failed to set sysctl: %w" },
  ]);
  assert.equal(f?.errno, "ENOENT");
  assert.equal(
    f?.message,
    "failed to set sysctl: open /proc/sys/net/ipv6/conf/nosuch0/accept_ra: no such file or directory",
  );
});

const MANGLE = [
  "-t mangle -A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x000001",
  "-t mangle -A PREROUTING -m mark --mark 0x000001 -j CONNMARK --save-mark",
  "-t mangle -A OUTPUT -j CONNMARK --restore-mark",
];

test("NN-7 (host primitive) iptables.ensure: the three mangle rules of §1.8 in a pod netns, both families, once however often applied", async (t) => {
  const ns = tempNetns(t);
  const plan: HostOp[] = [
    { op: "iptables.ensure", ns, family: 4, rules: MANGLE },
    { op: "iptables.ensure", ns, family: 6, rules: MANGLE },
  ];
  assert.equal(await host.apply(plan), undefined);
  assert.equal(await host.apply(plan), undefined);
  for (const save of ["iptables-save", "ip6tables-save"]) {
    const rules = inNetns(ns, save, ["-t", "mangle"])
      .split("\n")
      .filter((l) => l.startsWith("-A "));
    assert.deepEqual(rules, [
      "-A PREROUTING -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff",
      "-A PREROUTING -m mark --mark 0x1 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
      "-A OUTPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
    ]);
  }
  // Only the missing one is added when the others are there.
  inNetns(ns, "iptables", ["-t", "mangle", "-D", "OUTPUT", "-j", "CONNMARK", "--restore-mark"]);
  assert.equal(await host.apply([plan[0] as HostOp]), undefined);
  assert.equal(
    inNetns(ns, "iptables-save", ["-t", "mangle"])
      .split("\n")
      .filter((l) => l.startsWith("-A ")).length,
    3,
  );
  const bad = await host.apply([
    {
      op: "iptables.ensure",
      ns,
      family: 4,
      rules: ["-t mangle -A NOSUCHCHAIN -j ACCEPT"],
      context: "iptables ensureRule err: failed to set-xmark: %w",
    },
  ]);
  assert.equal(bad?.index, 0);
  assert.match(bad?.message ?? "", /^iptables ensureRule err: failed to set-xmark: iptables-restore exited 1/);
});

test("NN-7 (host primitive) mark.replyPath: §1.8's three mangle rules as nf_tables, per family, exactly once however often applied", async (t) => {
  const ns = tempNetns(t, "spt-nf-");
  const plan: HostOp[] = [
    { op: "mark.replyPath", ns, family: 4, dev: "veth0", mark: 1 },
    { op: "mark.replyPath", ns, family: 6, dev: "veth0", mark: 1 },
  ];
  assert.equal(await host.apply(plan), undefined);
  assert.equal(await host.apply(plan), undefined);
  for (const family of ["ip", "ip6"] as const) {
    assert.deepEqual(nftTable(ns.name, family, "spiderpool"), replyMarkTable("veth0"), family);
  }
  // Not in iptables' own mangle table (docs/compatibility.md says where to look instead).
  assert.doesNotMatch(inNetns(ns, "iptables-save", ["-t", "mangle"]), /^-A /m);
  // Another device replaces the rules rather than adding to them.
  assert.equal(await host.apply([{ op: "mark.replyPath", ns, family: 4, dev: "net1", mark: 1 }]), undefined);
  assert.deepEqual(nftTable(ns.name, "ip", "spiderpool"), replyMarkTable("net1"));
});

test("NN-7 (host primitive) mark.replyPath: a refused batch changes nothing and names the rule it could not set", async (t) => {
  const ns = tempNetns(t, "spt-nf-");
  // An output chain of ours hooked elsewhere: the kernel will not re-hook it, so the batch fails at that chain.
  inNetns(ns, "nft", [
    "add table ip spiderpool; add chain ip spiderpool output { type filter hook output priority 0; }",
  ]);
  const before = nftTable(ns.name, "ip", "spiderpool");
  const bad = await host.apply([
    {
      op: "mark.replyPath",
      ns,
      family: 4,
      dev: "veth0",
      mark: 1,
      context: "failed to makeReplyPacketViaVeth: iptables ensureRule err: %w",
    },
  ]);
  assert.equal(bad?.index, 0);
  assert.equal(bad?.errno, "EOPNOTSUPP");
  assert.equal(
    bad?.message,
    "failed to makeReplyPacketViaVeth: iptables ensureRule err: failed to restore-mark: operation not supported",
  );
  // All or nothing: no prerouting chain, no rule.
  assert.deepEqual(nftTable(ns.name, "ip", "spiderpool"), before);
  assert.equal(before?.chains.length, 1);
  // Input the kernel never sees fails the op without an errno, as the fake's does.
  const long = await host.apply([{ op: "mark.replyPath", ns, family: 6, dev: "a-name-too-long0", mark: 1 }]);
  assert.equal(long?.errno, undefined);
  assert.equal(long?.message, "not an interface name: 'a-name-too-long0'");
  assert.equal(nftTable(ns.name, "ip6", "spiderpool"), undefined);
});

function probeOf(
  pod: NetnsRef,
  family: 4 | 6,
  purpose: "conflict" | "gateway",
  target: string,
  source?: string,
): ProbeRequest {
  return {
    ns: pod,
    dev: "eth0",
    family,
    purpose,
    target,
    retries: 3,
    timeoutMs: 100,
    ...(source === undefined ? {} : { source }),
  };
}

test("NN-29 (host primitive) ARP probes (§1.12): a conflict and a gateway answered by the peer namespace, an absent address not", async (t) => {
  const { pod } = await joined(t);
  assert.deepEqual(await host.probe(probeOf(pod, 4, "conflict", "192.0.2.254")), {
    answered: true,
    mac: "0a:00:00:00:00:02",
  });
  assert.deepEqual(await host.probe(probeOf(pod, 4, "gateway", "192.0.2.254", "192.0.2.1")), {
    answered: true,
    mac: "0a:00:00:00:00:02",
  });
  // Unanswered: three tries, each read running to its 100 ms deadline on libuv's pool while
  // the event loop keeps turning (a timer fires throughout).
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = Date.now();
  try {
    assert.deepEqual(await host.probe(probeOf(pod, 4, "conflict", "192.0.2.77")), { answered: false });
  } finally {
    clearInterval(timer);
  }
  assert.ok(Date.now() - started >= 290, "each try waits its deadline");
  assert.ok(ticks >= 10, `the event loop ran during the probe (${ticks} ticks)`);
});

test("host NDP probes (§1.12): conflict (from ::) and gateway (from our link-local) answered, an absent address not", async (t) => {
  const { pod } = await joined(t);
  assert.deepEqual(await host.probe(probeOf(pod, 6, "conflict", "2001:db8::fe")), {
    answered: true,
    mac: "0a:00:00:00:00:02",
  });
  assert.deepEqual(await host.probe(probeOf(pod, 6, "gateway", "2001:db8::fe")), {
    answered: true,
    mac: "0a:00:00:00:00:02",
  });
  assert.deepEqual(await host.probe(probeOf(pod, 6, "conflict", "2001:db8::77")), { answered: false });
});

test("NN-13 (host primitive) announce (§1.7): a gratuitous ARP reaches the peer's link, an unsolicited NA updates its neighbour entry", async (t) => {
  const { pod, peer } = await joined(t);
  const addon = loadAddon();
  const peerLink = (await host.observe(peer)).links.find((l) => l.name === "gw0");
  assert.ok(peerLink);
  // Read on the peer's link with a packet socket, as a switch port would see the frame.
  const fd = addon.packetOpen(peer.path, peerLink.index, ETH_P_ARP);
  t.after(() => addon.close(fd));
  const buf = new Uint8Array(2048);
  const read = addon.packetRecv(fd, buf, 2000);
  assert.equal(await host.apply([{ op: "announce", ns: pod, dev: "eth0", address: "192.0.2.1" }]), undefined);
  const n = await read;
  assert.ok(n > 0, "the peer saw a frame");
  const arp = parseArp(buf.subarray(0, n));
  assert.deepEqual(arp, { op: 1, senderMac: "0a:00:00:00:00:01", senderIP: "192.0.2.1", targetIP: "192.0.2.1" });

  // The IPv6 announcement refreshes the peer's entry with the new MAC (§1.7: after a MAC change).
  await host.apply([
    {
      op: "neigh.add",
      ns: peer,
      neighbour: { family: 6, dev: "gw0", address: "2001:db8::1", mac: "0a:00:00:00:00:99", permanent: false },
    },
  ]);
  const fd6 = addon.packetOpen(peer.path, peerLink.index, ETH_P_IPV6);
  t.after(() => addon.close(fd6));
  const read6 = addon.packetRecv(fd6, buf, 2000);
  assert.equal(await host.apply([{ op: "announce", ns: pod, dev: "eth0", address: "2001:db8::1" }]), undefined);
  assert.ok((await read6) > 0);
  await until(
    async () =>
      (await host.observe(peer)).neighbours.some((x) => x.address === "2001:db8::1" && x.mac === "0a:00:00:00:00:01"),
    "the peer's neighbour entry from the unsolicited NA",
    { timeoutMs: 3000 },
  );
});

test("host route get: the kernel's pick with its preferred source; none when unreachable", async (t) => {
  const { pod } = await joined(t);
  assert.equal(
    await host.apply([
      {
        op: "route.add",
        ns: pod,
        route: { family: 4, table: 254, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "eth0" },
      },
    ]),
    undefined,
  );
  const r = await host.routeGet(pod, "198.51.100.7");
  assert.equal(r?.gateway, "192.0.2.254");
  assert.equal(r?.dev, "eth0");
  assert.equal(r?.src, "192.0.2.1");
  assert.equal(await host.routeGet(pod, "203.0.113.1"), undefined);
});

test("host §4 link kinds: vlan and bond requests reach the kernel (this one lacks the modules: EOPNOTSUPP), enslave names its links", async (t) => {
  const { pod } = await joined(t);
  const vlan = await host.apply([{ op: "link.addVlan", ns: pod, name: "eth0.100", parent: "eth0", vlanId: 100 }]);
  const bond = await host.apply([
    {
      op: "link.addBond",
      ns: pod,
      name: "bond0",
      bond: { mode: 1, options: { miimon: 100, primary: "eth0", xmit_hash_policy: "layer3+4" } },
    },
  ]);
  // A real-kernel lab runs these for real; here the kernel refuses the kind, not the message.
  for (const f of [vlan, bond]) assert.ok(f === undefined || f.errno === "EOPNOTSUPP", `${f?.errno}: ${f?.message}`);
  const enslave = await host.apply([
    { op: "link.enslave", ns: pod, name: "eth0", master: "nosuch0", context: "failed to enslave: %w" },
  ]);
  assert.equal(enslave?.errno, "ENODEV");
  assert.equal(enslave?.message, "failed to enslave: Link not found: nosuch0");
});

test("host apply: stops at the first failure, wraps it in the op's context, leaves later ops undone", async (t) => {
  const { pod } = await joined(t);
  const plan: HostOp[] = [
    {
      op: "rule.add",
      ns: pod,
      rule: { family: 4, table: 500, priority: 1000 },
      context: "failed to Add ToRuleTable for host: %w",
    },
    { op: "rule.add", ns: pod, rule: { family: 4, table: 500, priority: 1000 }, ignore: "exists" },
    {
      op: "route.add",
      ns: pod,
      route: { family: 4, table: 101, dst: "0.0.0.0/0", gateway: "203.0.113.1", dev: "eth0" },
      context: "failed to add route table(101): %w",
    },
    { op: "rule.add", ns: pod, rule: { family: 4, table: 501, priority: 1001 } },
  ];
  const f = await host.apply(plan);
  assert.equal(f?.index, 2);
  assert.equal(f?.errno, "ENETUNREACH");
  assert.equal(f?.message, "failed to add route table(101): network is unreachable");
  assert.ok(!(await host.observe(pod)).rules.some((r) => r.table === 501));
});
