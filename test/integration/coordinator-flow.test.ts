// The coordinator's ADD/DEL/CHECK flows (§1.4, §1.11) against FakeHost: the pod and the node as
// a runtime and a main CNI leave them, the config as the agent answers it, and what the
// namespaces hold afterwards (with the kernel's rule priorities, which the fake reproduces).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import type { SpiderCoordinator } from "../../src/api/coordinator.ts";
import { agentCoordinatorConfig, type AgentCoordinatorConfig } from "../../src/coordinator/config.ts";
import { coordinatorRole, type CoordinatorDeps, type PluginCall } from "../../src/coordinator/flow.ts";
import { PluginMetrics } from "../../src/coordinator/metrics.ts";
import type { HostOp, NetnsRef, NetnsState, Route } from "../../src/host/model.ts";
import { FakeHost } from "../support/fake-host.ts";

const HOST: NetnsRef = { kind: "host" };
const CID = "c0ffee00112233445566";
const HOST_VETH = "vethc0ffee00112";
const AGENT: AgentCoordinatorConfig = {
  mode: "auto",
  overlayPodCIDR: ["10.244.0.0/16"],
  serviceCIDR: ["10.96.0.0/12"],
  hijackCIDR: ["169.254.0.0/16"],
  policyRoutes: [],
  podMACPrefix: "",
  tunePodRoutes: true,
  podDefaultRouteNIC: "",
  hostRuleTable: 500,
  podRPFilter: 0,
  txQueueLen: 0,
  vethLinkAddress: "",
  vethMTU: 1500,
};

interface World {
  fake: FakeHost;
  pod: NetnsRef;
  path: string;
  role: ReturnType<typeof coordinatorRole>;
  metrics: Registry;
  lines: Record<string, unknown>[];
  log: pino.Logger;
}

let seq = 0;
function world(agent: Partial<AgentCoordinatorConfig> | (() => Promise<AgentCoordinatorConfig>) = {}): World {
  const fake = new FakeHost();
  const path = `/var/run/netns/pod${++seq}`;
  const pod = fake.addNetns(path);
  fake.addNetns("lan");
  const metrics = new Registry();
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        cb();
      },
    }),
  );
  let n = 0;
  const deps: CoordinatorDeps = {
    host: fake,
    hostNs: HOST,
    agentConfig: typeof agent === "function" ? agent : async () => ({ ...AGENT, ...agent }),
    randomBytes: (k) => Uint8Array.from({ length: k }, (_, i) => (i === 5 ? ++n : 0x10 + i)),
    metrics: new PluginMetrics(metrics),
  };
  return { fake, pod, path, role: coordinatorRole(deps), metrics, lines, log };
}

async function must(fake: FakeHost, ops: HostOp[]): Promise<void> {
  const f = await fake.apply(ops);
  assert.equal(f, undefined, f?.message);
}

/** A link of `ns` named `name` whose other end sits in the "lan" namespace (stands in for macvlan). */
function uplink(ns: NetnsRef, name: string, lanName: string): HostOp[] {
  const lan: NetnsRef = { kind: "path", path: "lan" };
  return [
    { op: "link.addVeth", ns: lan, name: lanName, mtu: 1500, mac: "", peerName: name, peerNs: ns, peerMac: "" },
    { op: "link.set", ns: lan, name: lanName, up: true },
    { op: "link.set", ns, name, up: true },
  ];
}

/** The node (ens192 with H1 = 192.0.2.2, ens224 with 198.51.100.2) and an underlay pod's eth0 (E = 192.0.2.10). */
async function underlay(w: World): Promise<void> {
  await must(w.fake, [
    ...uplink(HOST, "ens192", "lan-node"),
    { op: "addr.add", ns: HOST, dev: "ens192", cidr: "192.0.2.2/24" },
    ...uplink(HOST, "ens224", "lan-node2"),
    { op: "addr.add", ns: HOST, dev: "ens224", cidr: "198.51.100.2/24" },
    ...uplink(w.pod, "eth0", "lan-pod"),
    { op: "addr.add", ns: w.pod, dev: "eth0", cidr: "192.0.2.10/24" },
    {
      op: "route.add",
      ns: w.pod,
      route: { table: 254, family: 4, dst: "0.0.0.0/0", gateway: "192.0.2.1", dev: "eth0" },
    },
  ]);
}

/** A second NIC as a main CNI leaves it: address, and a default route of its own. */
async function secondNic(w: World, name: string, cidr: string, gw: string, metric: number): Promise<void> {
  await must(w.fake, [
    ...uplink(w.pod, name, `lan-${name}-${seq}`),
    { op: "addr.add", ns: w.pod, dev: name, cidr },
    { op: "route.add", ns: w.pod, route: { table: 254, family: 4, dst: "0.0.0.0/0", gateway: gw, dev: name, metric } },
  ]);
}

const PREV = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "02:aa:bb:cc:dd:ee", sandbox: "/var/run/netns/x" }],
  ips: [{ address: "192.0.2.10/24", gateway: "192.0.2.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "192.0.2.1" }],
  dns: {},
};

function call(
  w: World,
  command: string,
  ifName = "eth0",
  nad: Record<string, unknown> = {},
  prev: unknown = PREV,
): PluginCall {
  return {
    command,
    containerID: CID,
    netns: w.path,
    ifName,
    args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=pod1",
    stdin: JSON.stringify({
      cniVersion: "1.0.0",
      name: "macvlan-ens192",
      type: "coordinator",
      prevResult: prev,
      ...nad,
    }),
  };
}

const fmt = (r: Route): string =>
  [
    r.dst,
    r.gateway && `via ${r.gateway}`,
    r.dev && `dev ${r.dev}`,
    r.scope === "link" && "scope link",
    r.src && `src ${r.src}`,
  ]
    .filter(Boolean)
    .join(" ");
const table = (s: NetnsState, t: number): string[] =>
  s.routes.filter((r) => r.table === t && r.protocol !== 2 && r.type === undefined).map(fmt);
const rules = (s: NetnsState): string[] =>
  s.rules
    .filter((r) => r.table !== 255 && r.table !== 254 && r.table !== 253)
    .map(
      (r) =>
        `${r.priority}: ${r.src ? `from ${r.src}` : "from all"}${r.fwmark ? ` fwmark 0x${r.fwmark.toString(16)}` : ""} lookup ${r.table}`,
    );
const errorOf = (stdout: string): string => (JSON.parse(stdout) as { msg: string }).msg;

describe("coordinator flow: underlay", () => {
  it("NN-4 NN-6 NN-7 NN-8 NN-28 ADD on eth0: veth pair, routes, rules, neighbours, mangle rules; prevResult printed as is", async () => {
    const w = world();
    await underlay(w);
    const a = await w.role(call(w, "ADD"), w.log);
    assert.equal(a.exitCode, 0, a.stdout);
    assert.deepEqual(JSON.parse(a.stdout), PREV);
    const pod = await w.fake.observe(w.pod);
    const node = await w.fake.observe(HOST);
    const veth0 = pod.links.find((l) => l.name === "veth0");
    const hv = node.links.find((l) => l.name === HOST_VETH);
    assert.ok(veth0 && hv, "veth0 in the pod, veth<cid[:11]> on the node");
    assert.ok(veth0.flags.up && hv.flags.up);
    assert.equal(veth0.mtu, 1500);
    assert.equal(parseInt(veth0.mac.slice(0, 2), 16) & 3, 2, "locally administered unicast");
    assert.deepEqual(table(pod, 254), [
      "0.0.0.0/0 via 192.0.2.1 dev eth0",
      "192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
      "10.244.0.0/16 via 192.0.2.2 dev veth0 src 192.0.2.10",
      "10.96.0.0/12 via 192.0.2.2 dev veth0 src 192.0.2.10",
      "169.254.0.0/16 via 192.0.2.2 dev veth0 src 192.0.2.10",
    ]);
    assert.deepEqual(table(pod, 100), ["0.0.0.0/0 via 192.0.2.2 dev veth0 src 192.0.2.10"]);
    assert.deepEqual(table(pod, 101), [
      "192.0.2.2/32 dev veth0 scope link src 192.0.2.10",
      "198.51.100.2/32 dev veth0 scope link src 192.0.2.10",
    ]);
    assert.deepEqual(rules(pod), ["1000: from all fwmark 0x1 lookup 100"]);
    assert.equal(w.fake.iptablesRules(w.pod, 4).length, 3);
    assert.equal(w.fake.sysctl(w.pod, "net.ipv4.conf.all.rp_filter"), "0");
    assert.equal(w.fake.sysctl(HOST, `net/ipv6/conf/${HOST_VETH}/accept_ra`), "0");
    assert.deepEqual(rules(node), ["1000: from all lookup 500"]);
    assert.deepEqual(table(node, 500), [`192.0.2.10/32 dev ${HOST_VETH} scope link`]);
    assert.deepEqual(
      node.neighbours.map((n) => `${n.address} ${n.mac} ${n.dev} ${n.permanent}`),
      [`192.0.2.10 ${veth0.mac} ${HOST_VETH} true`],
    );
    assert.deepEqual(
      pod.neighbours.map((n) => `${n.address} ${n.mac} ${n.dev}`),
      [`192.0.2.2 ${hv.mac} veth0`, `198.51.100.2 ${hv.mac} veth0`],
    );
  });

  it("NN-23 a second macvlan NIC: table 101, rule 999 from N, its default moved, hijack routes via veth0 (D3)", async () => {
    const w = world();
    await underlay(w);
    assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
    await secondNic(w, "net1", "203.0.113.10/24", "203.0.113.1", 100);
    const a = await w.role(call(w, "ADD", "net1"), w.log);
    assert.equal(a.exitCode, 0, a.stdout);
    const pod = await w.fake.observe(w.pod);
    assert.deepEqual(rules(pod), ["999: from 203.0.113.10/32 lookup 101", "1000: from all fwmark 0x1 lookup 100"]);
    const t101 = table(pod, 101);
    for (const r of [
      "10.96.0.0/12 via 192.0.2.2 dev veth0 src 192.0.2.10",
      "0.0.0.0/0 via 203.0.113.1 dev net1",
      "203.0.113.0/24 dev net1 scope link src 203.0.113.10",
    ]) {
      assert.ok(t101.includes(r), `${r} in ${t101.join("; ")}`);
    }
    assert.ok(!table(pod, 254).includes("0.0.0.0/0 via 203.0.113.1 dev net1"));
    const node = await w.fake.observe(HOST);
    assert.deepEqual(table(node, 500), [
      `192.0.2.10/32 dev ${HOST_VETH} scope link`,
      `203.0.113.10/32 dev ${HOST_VETH} scope link`,
    ]);
  });

  it("NN-9 hostRuleTable 200 from the CR", async () => {
    const w = world({ hostRuleTable: 200 });
    await underlay(w);
    assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
    const node = await w.fake.observe(HOST);
    assert.deepEqual(rules(node), ["1000: from all lookup 200"]);
    assert.deepEqual(table(node, 200), [`192.0.2.10/32 dev ${HOST_VETH} scope link`]);
  });

  it("NN-26 a stale neighbour and table-500 route for E are replaced", async () => {
    const w = world();
    await underlay(w);
    await must(w.fake, [
      ...uplink(HOST, "stale0", "lan-stale"),
      {
        op: "neigh.add",
        ns: HOST,
        neighbour: { family: 4, dev: "stale0", address: "192.0.2.10", mac: "02:00:00:00:00:99", permanent: true },
      },
      {
        op: "route.add",
        ns: HOST,
        route: { table: 500, family: 4, dst: "192.0.2.10/32", dev: "stale0", scope: "link" },
      },
    ]);
    assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
    const node = await w.fake.observe(HOST);
    assert.deepEqual(table(node, 500), [`192.0.2.10/32 dev ${HOST_VETH} scope link`]);
    assert.deepEqual(
      node.neighbours.map((n) => n.dev),
      [HOST_VETH],
    );
  });

  it("NN-27 DEL removes the node's veth (and with it table 500's route and the neighbour); again, and after the netns is gone, exits 0", async () => {
    const w = world();
    await underlay(w);
    assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
    assert.deepEqual(await w.role(call(w, "DEL"), w.log), { exitCode: 0, stdout: "" });
    const node = await w.fake.observe(HOST);
    assert.ok(!node.links.some((l) => l.name === HOST_VETH));
    assert.deepEqual(table(node, 500), []);
    assert.deepEqual(node.neighbours, []);
    assert.deepEqual(await w.role(call(w, "DEL"), w.log), { exitCode: 0, stdout: "" });
    w.fake.removeNetns(w.path);
    assert.deepEqual(await w.role(call(w, "DEL"), w.log), { exitCode: 0, stdout: "" });
    assert.deepEqual(await w.role({ ...call(w, "DEL"), netns: "" }, w.log), { exitCode: 0, stdout: "" });
  });

  it("NN-27 DEL while the agent cannot answer fails with failed to GetCoordinatorConfig", async () => {
    const w = world(async () => {
      throw new Error("dial unix /var/run/spidernet/spiderpool.sock: connect: connection refused");
    });
    const d = await w.role(call(w, "DEL"), w.log);
    assert.equal(d.exitCode, 1);
    assert.equal(
      errorOf(d.stdout),
      "failed to GetCoordinatorConfig: dial unix /var/run/spidernet/spiderpool.sock: connect: connection refused",
    );
  });
});

describe("coordinator flow: overlay", () => {
  async function overlay(w: World): Promise<void> {
    await must(w.fake, [
      ...uplink(HOST, "ens192", "lan-node"),
      { op: "addr.add", ns: HOST, dev: "ens192", cidr: "192.0.2.2/24" },
      {
        op: "link.addVeth",
        ns: HOST,
        name: "cali0123456789a",
        mtu: 1500,
        mac: "ee:ee:ee:ee:ee:ee",
        peerName: "eth0",
        peerNs: w.pod,
        peerMac: "",
      },
      { op: "link.set", ns: HOST, name: "cali0123456789a", up: true },
      { op: "link.set", ns: w.pod, name: "eth0", up: true },
      { op: "addr.add", ns: w.pod, dev: "eth0", cidr: "198.51.100.5/32" },
      {
        op: "route.add",
        ns: w.pod,
        route: { table: 254, family: 4, dst: "169.254.1.1/32", dev: "eth0", scope: "link" },
      },
      {
        op: "route.add",
        ns: w.pod,
        route: { table: 254, family: 4, dst: "0.0.0.0/0", gateway: "169.254.1.1", dev: "eth0" },
      },
    ]);
    await secondNic(w, "net1", "203.0.113.10/25", "203.0.113.1", 100);
  }

  it("NN-17 NN-18 rules 32765 from N → 101 and 32764 from C → 100; Calico default copied to 100; node routes to N via cali", async () => {
    const w = world();
    await overlay(w);
    const a = await w.role(call(w, "ADD", "net1"), w.log);
    assert.equal(a.exitCode, 0, a.stdout);
    const pod = await w.fake.observe(w.pod);
    assert.deepEqual(rules(pod), ["32764: from 198.51.100.5/32 lookup 100", "32765: from 203.0.113.10/32 lookup 101"]);
    assert.deepEqual(table(pod, 100), ["0.0.0.0/0 via 169.254.1.1 dev eth0"]);
    assert.ok(table(pod, 101).includes("0.0.0.0/0 via 203.0.113.1 dev net1"));
    assert.ok(table(pod, 254).includes("0.0.0.0/0 via 169.254.1.1 dev eth0"));
    assert.ok(!table(pod, 254).includes("0.0.0.0/0 via 203.0.113.1 dev net1"));
    assert.ok(table(pod, 254).includes("10.96.0.0/12 via 192.0.2.2 dev eth0 src 198.51.100.5"));
    const node = await w.fake.observe(HOST);
    assert.deepEqual(table(node, 500), ["203.0.113.10/32 dev cali0123456789a scope link"]);
    const eth0 = pod.links.find((l) => l.name === "eth0");
    assert.deepEqual(
      node.neighbours.map((n) => `${n.address} ${n.mac} ${n.dev}`),
      [`203.0.113.10 ${eth0?.mac} cali0123456789a`],
    );
  });

  it("NN-19 the pod annotation's default-route NIC: from C → 101, main's default via net1, no table 100", async () => {
    const w = world({ podDefaultRouteNIC: "net1" });
    await overlay(w);
    assert.equal((await w.role(call(w, "ADD", "net1"), w.log)).exitCode, 0);
    const pod = await w.fake.observe(w.pod);
    assert.deepEqual(rules(pod), ["32765: from 198.51.100.5/32 lookup 101"]);
    assert.deepEqual(table(pod, 100), []);
    assert.ok(table(pod, 254).includes("0.0.0.0/0 via 203.0.113.1 dev net1"));
    assert.ok(!table(pod, 254).includes("0.0.0.0/0 via 169.254.1.1 dev eth0"));
    assert.ok(table(pod, 101).includes("0.0.0.0/0 via 169.254.1.1 dev eth0"));
    assert.ok(
      table(pod, 101).includes("10.96.0.0/12 via 192.0.2.2 dev eth0 src 198.51.100.5"),
      "the planner's own main routes copied",
    );
  });

  it("NN-22 a third NIC: table 102 only", async () => {
    const w = world();
    await overlay(w);
    assert.equal((await w.role(call(w, "ADD", "net1"), w.log)).exitCode, 0);
    await secondNic(w, "net2", "203.0.113.140/25", "203.0.113.129", 200);
    const a = await w.role(call(w, "ADD", "net2"), w.log);
    assert.equal(a.exitCode, 0, a.stdout);
    const pod = await w.fake.observe(w.pod);
    assert.ok(rules(pod).includes("32763: from 203.0.113.140/32 lookup 102"), rules(pod).join("; "));
    assert.ok(table(pod, 102).includes("0.0.0.0/0 via 203.0.113.129 dev net2"));
    assert.ok(table(pod, 102).includes("10.96.0.0/12 via 192.0.2.2 dev eth0 src 198.51.100.5"));
  });

  it("NN-16 overlay on the first NIC fails, nothing changed", async () => {
    const w = world();
    await overlay(w);
    const before = w.fake.applied.length;
    const a = await w.role(call(w, "ADD", "eth0", { mode: "overlay" }), w.log);
    assert.equal(a.exitCode, 1);
    assert.match(
      errorOf(a.stdout),
      /^when creating interface eth0 in overlay mode, it detects that the current interface is first interface named eth0/,
    );
    assert.equal(w.fake.applied.length, before);
  });
});

describe("coordinator flow: config, errors, pass-through", () => {
  it("NN-1 a NotReady coordinator: failed to GetCoordinatorConfig", async () => {
    const scc: SpiderCoordinator = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: {},
      status: { phase: "NotReady" },
    };
    const w = world(async () => agentCoordinatorConfig([scc], { metadata: {} }, "ns", "pod1"));
    const a = await w.role(call(w, "ADD"), w.log);
    assert.equal(a.exitCode, 1);
    assert.match(errorOf(a.stdout), /^failed to GetCoordinatorConfig: .*spidercoordinator: default no ready/);
  });

  it("NN-2 NN-3 mode disable (NAD) and disabled (CR): prevResult out, nothing touched; DEL succeeds", async () => {
    const w1 = world();
    await underlay(w1);
    const n = w1.fake.applied.length;
    const a = await w1.role(call(w1, "ADD", "eth0", { mode: "disable" }), w1.log);
    assert.deepEqual(JSON.parse(a.stdout), PREV);
    assert.deepEqual(await w1.role(call(w1, "DEL", "eth0", { mode: "disable" }), w1.log), { exitCode: 0, stdout: "" });
    assert.equal(w1.fake.applied.length, n);
    const w2 = world({ mode: "disabled" });
    await underlay(w2);
    const m = w2.fake.applied.length;
    const b = await w2.role(call(w2, "ADD"), w2.log);
    assert.deepEqual(JSON.parse(b.stdout), PREV);
    assert.equal(w2.fake.applied.length, m);
  });

  it("NN-28 the result is prevResult converted to the netconf's version, nothing added", async () => {
    const w = world();
    await underlay(w);
    const a = await w.role(
      {
        ...call(w, "ADD"),
        stdin: JSON.stringify({ cniVersion: "0.4.0", name: "n", type: "coordinator", prevResult: PREV }),
      },
      w.log,
    );
    assert.equal(a.exitCode, 0, a.stdout);
    assert.deepEqual(JSON.parse(a.stdout), { ...PREV, cniVersion: "0.4.0", ips: [{ version: "4", ...PREV.ips[0] }] });
  });

  it("bad input gets the spec's error and changes nothing", async () => {
    const cases: [Record<string, unknown>, RegExp, string?][] = [
      [{ mode: "bridge" }, /^unknown tuneMode: bridge$/],
      [{ podMACPrefix: "01:00" }, /^failed to parse config: mac_prefix format should be match regex/],
      [
        { podDefaultRouteNic: "net9" },
        /^failed to tunePodRoutes: podDefaultRouteNIC: net9 don't exist in pod$/,
        "net1",
      ],
      [{ policyRoutes: [{ dst: "10.10.0.0/16", gw: "2001:db8::1" }] }, /must use the same IP family$/],
    ];
    for (const [nad, re, ifName] of cases) {
      const w = world();
      await underlay(w);
      if (ifName !== undefined) {
        assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
        await secondNic(w, "net1", "203.0.113.10/24", "203.0.113.1", 100);
      }
      const before = w.fake.applied.length;
      const a = await w.role(call(w, "ADD", ifName ?? "eth0", nad), w.log);
      assert.equal(a.exitCode, 1, JSON.stringify(nad));
      assert.match(errorOf(a.stdout), re);
      assert.equal(w.fake.applied.length, before, `${JSON.stringify(nad)} changed nothing`);
    }
    const w = world();
    w.fake.addPlainFile("/tmp/not-a-netns");
    const a = await w.role({ ...call(w, "ADD"), netns: "/tmp/not-a-netns" }, w.log);
    assert.match(errorOf(a.stdout), /^failed to GetNS "\/tmp\/not-a-netns": /);
    const b = await w.role({ ...call(w, "ADD"), netns: "/var/run/netns/none" }, w.log);
    assert.match(errorOf(b.stdout), /^failed to GetNS "\/var\/run\/netns\/none": /);
    const c = await w.role(call(w, "ADD", "eth0", {}, null), w.log);
    assert.match(errorOf(c.stdout), /^failed to parse prevResult: /);
  });

  it("a failing step reports the spec's text for it", async () => {
    const w = world();
    await underlay(w);
    w.fake.failNext((op) => op.op === "route.add" && op.ns.kind === "host", "EPERM");
    const a = await w.role(call(w, "ADD"), w.log);
    assert.equal(a.exitCode, 1);
    assert.match(errorOf(a.stdout), /^failed to add route table\(500\): /);
  });

  it("CHECK is a no-op; one log line and one metric sample per call", async () => {
    const w = world({ hijackCIDR: ["169.254.0.0/16", "2001:db8:ff::/64"] });
    await underlay(w);
    const n = w.fake.applied.length;
    assert.deepEqual(await w.role(call(w, "CHECK"), w.log), { exitCode: 0, stdout: "" });
    assert.equal(w.fake.applied.length, n);
    await w.role(call(w, "ADD"), w.log);
    await w.role(call(w, "ADD", "eth0", { mode: "bridge" }), w.log);
    assert.equal(w.lines.length, 2);
    const [ok, bad] = w.lines as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(ok["msg"], "coordinator ADD");
    assert.equal(ok["mode"], "underlay");
    assert.equal(ok["table"], 101);
    assert.equal(typeof ok["durationMs"], "number");
    assert.deepEqual(ok["warnings"], ["no node address of IPv6 to route 2001:db8:ff::/64 through; skipped"]);
    assert.equal(bad["msg"], "coordinator ADD failed");
    const text = await w.metrics.metrics();
    assert.match(text, /spiderpool_ts_plugin_calls_total\{plugin="coordinator",command="ADD",outcome="success"\} 1/);
    assert.match(text, /spiderpool_ts_plugin_calls_total\{plugin="coordinator",command="ADD",outcome="failure"\} 1/);
    assert.match(
      text,
      /spiderpool_ts_plugin_duration_seconds_count\{plugin="coordinator",command="CHECK",outcome="success"\} 1/,
    );
  });

  it("NN-13 MAC prefix on net1 and its announcement", async () => {
    const w = world({ podMACPrefix: "0a:1b" });
    await underlay(w);
    assert.equal((await w.role(call(w, "ADD"), w.log)).exitCode, 0);
    await secondNic(w, "net1", "203.0.113.10/24", "203.0.113.1", 100);
    assert.equal((await w.role(call(w, "ADD", "net1"), w.log)).exitCode, 0);
    const pod = await w.fake.observe(w.pod);
    assert.equal(pod.links.find((l) => l.name === "net1")?.mac, "0a:1b:cb:00:71:0a");
    assert.ok(
      w.fake.announcements.some(
        (a) => a.dev === "net1" && a.address === "203.0.113.10" && a.mac === "0a:1b:cb:00:71:0a",
      ),
    );
  });
});
