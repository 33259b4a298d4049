// The fake's kernel-like semantics that planners' tests lean on. Whether they match the
// kernel is host-conformance.test.ts's job; this pins them so a change is deliberate.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostOp, NetnsRef } from "../../src/host/model.ts";
import { NotANetnsError } from "../../src/host/errors.ts";
import { FakeHost } from "../support/fake-host.ts";

const host: NetnsRef = { kind: "host" };

function setup(): { fake: FakeHost; pod: NetnsRef } {
  const fake = new FakeHost();
  const pod = fake.addNetns("/var/run/netns/pod1");
  return { fake, pod };
}

const veth = (pod: NetnsRef): HostOp => ({
  op: "link.addVeth",
  ns: pod,
  name: "veth0",
  mtu: 1500,
  mac: "02:00:00:00:00:01",
  peerName: "vethabc",
  peerMac: "02:00:00:00:00:02",
  peerNs: host,
});

test("host fake: a veth's peer lands in the other namespace; a duplicate is EEXIST unless ignored", async () => {
  const { fake, pod } = setup();
  assert.equal(await fake.apply([veth(pod)]), undefined);
  const p = await fake.observe(pod);
  const h = await fake.observe(host);
  const a = p.links.find((l) => l.name === "veth0");
  const b = h.links.find((l) => l.name === "vethabc");
  assert.ok(a && b);
  assert.equal(a.parentIndex, b.index);
  assert.equal(b.parentIndex, a.index);
  const f = await fake.apply([veth(pod)]);
  assert.equal(f?.errno, "EEXIST");
  assert.equal(f?.index, 0);
  assert.equal(await fake.apply([{ ...veth(pod), ignore: "exists" }]), undefined);
});

test("host fake: connected routes appear on UP, carrier brings an IPv6 link-local; deleting a link drops its state", async () => {
  const { fake, pod } = setup();
  await fake.apply([
    veth(pod),
    { op: "addr.add", ns: pod, dev: "veth0", cidr: "192.0.2.1/24" },
    { op: "link.set", ns: pod, name: "veth0", up: true },
  ]);
  let s = await fake.observe(pod);
  assert.ok(
    s.routes.some((r) => r.table === 254 && r.dst === "192.0.2.0/24" && r.src === "192.0.2.1" && r.scope === "link"),
  );
  assert.ok(s.routes.some((r) => r.table === 255 && r.type === "local" && r.dst === "192.0.2.1/32"));
  assert.ok(!s.addresses.some((a) => a.family === 6), "no carrier yet: the peer is down");
  await fake.apply([{ op: "link.set", ns: host, name: "vethabc", up: true }]);
  s = await fake.observe(pod);
  assert.ok(s.addresses.some((a) => a.address === "fe80::ff:fe00:1" && a.scope === "link"));
  await fake.apply([
    {
      op: "route.add",
      ns: pod,
      route: { table: 101, family: 4, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "veth0" },
    },
    {
      op: "neigh.add",
      ns: pod,
      neighbour: { family: 4, dev: "veth0", address: "192.0.2.254", mac: "02:00:00:00:00:09", permanent: true },
    },
    { op: "link.del", ns: host, name: "vethabc" },
  ]);
  s = await fake.observe(pod);
  assert.deepEqual(
    s.links.map((l) => l.name),
    ["lo"],
  );
  assert.deepEqual(s.addresses, []);
  assert.deepEqual(s.neighbours, []);
  assert.deepEqual(s.routes, []);
});

test("host fake: a gateway off-link is ENETUNREACH; route del of a missing route is ESRCH, ignorable as missing", async () => {
  const { fake, pod } = setup();
  await fake.apply([veth(pod), { op: "link.set", ns: pod, name: "veth0", up: true }]);
  const route = { table: 101, family: 4 as const, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "veth0" };
  const f = await fake.apply([{ op: "route.add", ns: pod, route, context: "failed to add route table(101): %w" }]);
  assert.equal(f?.errno, "ENETUNREACH");
  assert.equal(f?.message, "failed to add route table(101): network is unreachable");
  assert.equal((await fake.apply([{ op: "route.del", ns: pod, route }]))?.errno, "ESRCH");
  assert.equal(await fake.apply([{ op: "route.del", ns: pod, route, ignore: "missing" }]), undefined);
});

test("host fake (spec Q5): rules without a priority get the second rule's priority minus one", async () => {
  const { fake, pod } = setup();
  const rule = (src: string, priority?: number): HostOp => ({
    op: "rule.add",
    ns: pod,
    rule: { family: 4, table: 101, src, ...(priority === undefined ? {} : { priority }) },
  });
  await fake.apply([rule("192.0.2.1/32"), rule("192.0.2.2/32")]);
  await fake.apply([{ op: "rule.add", ns: pod, rule: { family: 4, table: 100, fwmark: 1, priority: 1000 } }]);
  await fake.apply([rule("192.0.2.3/32"), rule("192.0.2.3/32")]);
  const prios = (await fake.observe(pod)).rules.filter((r) => r.family === 4).map((r) => r.priority);
  assert.deepEqual(prios, [0, 998, 999, 1000, 32764, 32765, 32766, 32767]);
  assert.equal((await fake.apply([rule("192.0.2.3/32", 999)]))?.errno, "EEXIST");
  const del: HostOp = { op: "rule.del", ns: pod, rule: { family: 4, table: 101, src: "203.0.113.1/32" } };
  assert.equal((await fake.apply([del]))?.errno, "ENOENT");
});

test("host fake: fault hooks fail the next matching op and change nothing", async () => {
  const { fake, pod } = setup();
  fake.failNext((op) => op.op === "link.addVeth", "EPERM");
  const f = await fake.apply([veth(pod)]);
  assert.equal(f?.errno, "EPERM");
  assert.deepEqual(
    (await fake.observe(pod)).links.map((l) => l.name),
    ["lo"],
  );
  assert.equal(await fake.apply([veth(pod)]), undefined);
});

test("host fake: netnsExists is false for a missing path and throws for a plain file", async () => {
  const { fake } = setup();
  assert.equal(await fake.netnsExists("/var/run/netns/pod1"), true);
  assert.equal(await fake.netnsExists("/var/run/netns/gone"), false);
  fake.addPlainFile("/etc/hostname");
  await assert.rejects(fake.netnsExists("/etc/hostname"), NotANetnsError);
});

test("host fake: a probe is answered by the veth peer's namespace holding the address", async () => {
  const { fake, pod } = setup();
  await fake.apply([
    veth(pod),
    { op: "link.set", ns: pod, name: "veth0", up: true },
    { op: "link.set", ns: host, name: "vethabc", up: true },
    { op: "addr.add", ns: host, dev: "vethabc", cidr: "192.0.2.9/24" },
  ]);
  const req = { ns: pod, dev: "veth0", family: 4 as const, purpose: "conflict" as const, retries: 3, timeoutMs: 100 };
  assert.deepEqual(await fake.probe({ ...req, target: "192.0.2.9" }), { answered: true, mac: "02:00:00:00:00:02" });
  assert.deepEqual(await fake.probe({ ...req, target: "192.0.2.10" }), { answered: false });
});
