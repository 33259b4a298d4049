// End to end as root: the chain a runtime runs for a macvlan conflist with the coordinator —
// Debian's macvlan (IPAM: our shim as `spiderpool`), then our shim as `coordinator` with the
// macvlan result as prevResult — inside a "node" namespace the test creates, against an agent
// whose node is that namespace (HostNetwork = the netlink executor on a path). The state is read
// back with iproute2/nft and real packets cross: pod → node over veth0, pod → a hijacked
// "service" address answered by the node, pod → gateway, node → pod (reply-path marking), pod → pod.
// Nothing touches the machine's own namespace.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { SpiderpoolAgent } from "../../src/agent/agent.ts";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../../src/api/coordinator.ts";
import { NetLab, runPlugin, type PluginResult } from "../../src/cli/netlab.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { resourceTypeOf } from "../../src/kube/resources.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { nftTable, replyMarkTable } from "../support/nft.ts";
import { createPod, createPool, SHIM } from "../support/cluster.ts";
import { cniArgs, labNodeAgent, labNodeUnavailable, macvlan, stopLabNode } from "../support/lab-node.ts";

const exec = promisify(execFile);
const COORDINATORS = resourceTypeOf(SpiderCoordinatorKind);
const COORDINATOR = join(dirname(SHIM), "coordinator");
const why = await labNodeUnavailable("coordinator");

async function sh(ns: string, ...argv: string[]): Promise<string> {
  return (await exec("ip", ["netns", "exec", ns, ...argv])).stdout;
}
const ipj = async <T>(ns: string, ...argv: string[]): Promise<T> =>
  JSON.parse((await exec("ip", ["-n", ns, "-j", ...argv])).stdout) as T;

interface JRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  prefsrc?: string;
}
const fmt = (r: JRoute): string =>
  [
    r.dst,
    r.gateway && `via ${r.gateway}`,
    r.dev && `dev ${r.dev}`,
    r.scope === "link" && "scope link",
    r.prefsrc && `src ${r.prefsrc}`,
  ]
    .filter(Boolean)
    .join(" ");
const routes = async (ns: string, family: 4 | 6, table: string): Promise<string[]> =>
  (await ipj<JRoute[]>(ns, `-${family}`, "route", "show", "table", table)).map(fmt);
const rules = async (ns: string, family: 4 | 6): Promise<string[]> =>
  (
    await ipj<{ priority: number; src: string; fwmark?: string; table: string }[]>(ns, `-${family}`, "rule", "show")
  ).map((r) => `${r.priority}: from ${r.src}${r.fwmark ? ` fwmark ${r.fwmark}` : ""} lookup ${r.table}`);
const pingable = async (ns: string, addr: string, from?: string): Promise<boolean> => {
  try {
    const src = from === undefined ? [] : ["-I", from];
    await sh(ns, "busybox", addr.includes(":") ? "ping6" : "ping", ...src, "-c", "1", "-W", "2", addr);
    return true;
  } catch {
    return false;
  }
};

describe("coordinator chain (macvlan → spiderpool → coordinator) in network namespaces", { skip: why ?? false }, () => {
  const p = `spt-co-${randomBytes(2).toString("hex")}`;
  const NODE = `${p}-n`;
  const GW = `${p}-g`;
  const lab = new NetLab(p);
  let h: Harness;
  let agent: SpiderpoolAgent;
  let dir: string;
  let socket: string;

  before(async () => {
    await lab.addNode(NODE);
    await lab.addNamespace(GW);
    const ip = (...a: string[]) => exec("ip", a);
    await ip("-n", NODE, "link", "set", "eth-m-p", "netns", GW);
    await ip("-n", GW, "addr", "add", "192.0.2.1/24", "dev", "eth-m-p");
    await ip("-n", GW, "link", "set", "eth-m-p", "up");
    await ip("-n", NODE, "addr", "add", "192.0.2.2/24", "dev", "eth-m");
    await ip("-n", NODE, "addr", "add", "2001:db8:c0::2/64", "dev", "eth-m", "nodad");
    // The "service" the pod reaches through the hijacked range, on a link after eth-m named as
    // kube-proxy's (whose addresses no pod is steered to). On `lo` it would be the source the kernel
    // picks for the node's routes to pods through their veths, which have no address of their own.
    await ip("-n", NODE, "link", "add", "kube-ipvs0", "type", "veth", "peer", "name", "kube-ipvs0-p");
    await ip("-n", NODE, "link", "set", "kube-ipvs0", "up");
    await ip("-n", NODE, "link", "set", "kube-ipvs0-p", "up");
    await ip("-n", NODE, "addr", "add", "198.51.100.200/32", "dev", "kube-ipvs0");
    await ip("-n", GW, "addr", "add", "203.0.113.1/25", "dev", "eth-m-p");

    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "coord-e2e-"));
    socket = join(dir, "agent.sock");
    await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
    const scc = await h.client.create<SpiderCoordinator>(COORDINATORS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { mode: "auto", podCIDRType: "none", hijackCIDR: ["198.51.100.128/25"], tunePodRoutes: true },
    });
    await h.client.updateStatus(COORDINATORS, {
      ...scc,
      status: { phase: "Synced", overlayPodCIDR: ["203.0.113.192/26"], serviceCIDR: ["198.51.100.0/25"] },
    });
    await createPool(h, "co-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], gateway: "192.0.2.1" });
    await createPool(h, "co-net1", {
      subnet: "203.0.113.0/25",
      ips: ["203.0.113.10-203.0.113.20"],
      gateway: "203.0.113.1",
    });
    await createPool(h, "co-v6", { subnet: "2001:db8:c0::/64", ips: ["2001:db8:c0::10-2001:db8:c0::20"] });
    agent = labNodeAgent(h, lab.nsPath(NODE), socket);
    await agent.start();
  });

  after(() => stopLabNode(agent, h, dir, lab));

  const cid = (pod: string): string => `${pod}0123456789abcdef`.slice(0, 20);
  const call = (
    pod: KubeObject,
    ns: string,
    command: "ADD" | "DEL",
    plugin: string,
    netconf: Record<string, unknown>,
    ifName = "eth0",
  ) =>
    runPlugin({
      plugin,
      command,
      netconf: { cniVersion: "1.0.0", name: "macvlan-eth-m", ...netconf },
      containerID: cid(String(pod.metadata?.name)),
      netns: lab.nsPath(ns),
      ifName,
      args: cniArgs(pod),
      cniPath: dirname(SHIM),
      inNamespace: NODE,
    });
  const MACVLAN = () => ({
    type: "macvlan",
    master: "eth-m",
    mode: "bridge",
    ipam: { type: "spiderpool", ipam_unix_socket_path: socket },
  });
  // Our shim finds its agent through this key; the coordinator ignores it.
  const COORD = (prevResult: unknown, nad: Record<string, unknown> = {}) => ({
    type: "coordinator",
    ipam: { ipam_unix_socket_path: socket },
    prevResult,
    ...nad,
  });

  /** The conflist's ADD: each plugin in order, the previous result passed along. */
  async function chainAdd(
    pod: KubeObject,
    ns: string,
    ifName = "eth0",
    nad: Record<string, unknown> = {},
  ): Promise<{ result: PluginResult; prev: unknown }> {
    const m = await call(pod, ns, "ADD", macvlan as string, MACVLAN(), ifName);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    const prev = JSON.parse(m.stdout) as unknown;
    return { result: await call(pod, ns, "ADD", COORDINATOR, COORD(prev, nad), ifName), prev };
  }
  /** The conflist's DEL: in reverse order. */
  async function chainDel(pod: KubeObject, ns: string, prev: unknown): Promise<void> {
    const c = await call(pod, ns, "DEL", COORDINATOR, COORD(prev));
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const m = await call(pod, ns, "DEL", macvlan as string, MACVLAN());
    assert.equal(m.code, 0, m.stdout + m.stderr);
  }

  let podA: KubeObject;
  let prevA: unknown;
  const A = `${p}-a`;
  const B = `${p}-b`;
  const E = "192.0.2.10";

  it("NN-4 NN-6 NN-7 NN-8 NN-12 NN-28 underlay eth0: state in the pod and on the node", async () => {
    podA = await createPod(h, {
      name: "co-a",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["co-v4"]}' },
    });
    await lab.addNamespace(A);
    const { result, prev } = await chainAdd(podA, A);
    prevA = prev;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), prev, "the coordinator prints prevResult unchanged");
    const hostVeth = `veth${cid("co-a").slice(0, 11)}`;
    const podLinks = await ipj<{ ifname: string; mtu: number; operstate: string; address: string }[]>(
      A,
      "link",
      "show",
    );
    const veth0 = podLinks.find((l) => l.ifname === "veth0");
    assert.ok(veth0, JSON.stringify(podLinks));
    assert.equal(veth0.mtu, 1500);
    assert.equal(veth0.operstate, "UP");
    const nodeLinks = await ipj<{ ifname: string; operstate: string; address: string }[]>(NODE, "link", "show");
    const hv = nodeLinks.find((l) => l.ifname === hostVeth);
    assert.ok(hv, JSON.stringify(nodeLinks.map((l) => l.ifname)));
    assert.equal(hv.operstate, "UP");

    const main = await routes(A, 4, "main");
    for (const r of [
      `192.0.2.2 dev veth0 scope link src ${E}`,
      `203.0.113.192/26 via 192.0.2.2 dev veth0 src ${E}`,
      `198.51.100.0/25 via 192.0.2.2 dev veth0 src ${E}`,
      `198.51.100.128/25 via 192.0.2.2 dev veth0 src ${E}`,
      "default via 192.0.2.1 dev eth0",
    ]) {
      assert.ok(main.includes(r), `${r} in main: ${main.join("; ")}`);
    }
    assert.deepEqual(await routes(A, 4, "100"), [`default via 192.0.2.2 dev veth0 src ${E}`]);
    assert.deepEqual(await routes(A, 4, "101"), [`192.0.2.2 dev veth0 scope link src ${E}`]);
    assert.ok((await rules(A, 4)).includes("1000: from all fwmark 0x1 lookup 100"), (await rules(A, 4)).join("; "));
    // §1.8's mangle rules, as nf_tables in a table of ours (ADR 0009); IPv4 only for this pod.
    assert.deepEqual(nftTable(A, "ip", "spiderpool"), replyMarkTable("veth0"));
    assert.equal(nftTable(A, "ip6", "spiderpool"), undefined);
    assert.equal((await sh(A, "cat", "/proc/sys/net/ipv4/conf/all/rp_filter")).trim(), "0");
    const podNeigh = await ipj<{ dst: string; dev: string; lladdr: string; state: string[] }[]>(A, "neigh", "show");
    assert.ok(
      podNeigh.some(
        (n) => n.dst === "192.0.2.2" && n.dev === "veth0" && n.lladdr === hv.address && n.state.includes("PERMANENT"),
      ),
    );

    assert.ok((await rules(NODE, 4)).includes("1000: from all lookup 500"));
    assert.deepEqual(await routes(NODE, 4, "500"), [`${E} dev ${hostVeth} scope link`]);
    const nodeNeigh = await ipj<{ dst: string; dev: string; lladdr: string; state: string[] }[]>(NODE, "neigh", "show");
    assert.ok(
      nodeNeigh.some(
        (n) => n.dst === E && n.dev === hostVeth && n.lladdr === veth0.address && n.state.includes("PERMANENT"),
      ),
    );
  });

  it("real traffic: the pod reaches its node over veth0, a hijacked service address, the gateway; the node reaches the pod", async () => {
    assert.ok(await pingable(A, "192.0.2.2"), "pod → node");
    assert.ok(await pingable(A, "198.51.100.200"), "pod → service address answered by the node");
    assert.ok(await pingable(A, "192.0.2.1"), "pod → gateway over the macvlan");
    assert.ok(await pingable(NODE, E), "node → pod, the reply leaving through veth0");
  });

  it("NN-7 the reply mark at work: the node reaches the pod from an address the pod routes via eth0, and not without the marks", async () => {
    // 203.0.113.150 is on no route of the pod's but the default (via the gateway, over eth0): only
    // the mark, restored on the reply, sends the answer back through veth0 (table 100).
    const FROM = "203.0.113.150";
    await exec("ip", ["-n", NODE, "addr", "add", `${FROM}/32`, "dev", "lo"]);
    try {
      assert.ok(await pingable(NODE, E, FROM), "node → pod from an address the pod routes elsewhere");
      await sh(A, "nft", "flush", "table", "ip", "spiderpool");
      assert.equal(await pingable(NODE, E, FROM), false, "without the marks the reply leaves through eth0");
      const ns = { kind: "path" as const, path: lab.nsPath(A) };
      assert.equal(
        await new NetlinkHost().apply([{ op: "mark.replyPath", ns, family: 4, dev: "veth0", mark: 1 }]),
        undefined,
      );
      assert.ok(await pingable(NODE, E, FROM), "with them again, through veth0");
    } finally {
      await exec("ip", ["-n", NODE, "addr", "del", `${FROM}/32`, "dev", "lo"]);
    }
  });

  it("NN-11 a second, dual-stack pod on the same parent: IPv6 without src, pods reach each other", async () => {
    const pod = await createPod(h, {
      name: "co-b",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["co-v4"],"ipv6":["co-v6"]}' },
    });
    await lab.addNamespace(B);
    const { result } = await chainAdd(pod, B);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal((await sh(B, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6")).trim(), "0");
    const v6 = await routes(B, 6, "main");
    assert.ok(v6.includes("2001:db8:c0::2 dev veth0"), v6.join("; "));
    assert.deepEqual(await routes(B, 6, "100"), ["default via 2001:db8:c0::2 dev veth0"]);
    assert.ok((await rules(B, 6)).includes("1000: from all fwmark 0x1 lookup 100"));
    assert.deepEqual(nftTable(B, "ip6", "spiderpool"), replyMarkTable("veth0"));
    assert.deepEqual(nftTable(B, "ip", "spiderpool"), replyMarkTable("veth0"));
    assert.ok(await pingable(B, "192.0.2.2"), "second pod → node");
    // Over IPv6 once the pod's address has finished duplicate address detection.
    await eventually(() => pingable(B, "2001:db8:c0::2"), 10_000, "pod → node over IPv6 through veth0");
    assert.ok(await pingable(A, "192.0.2.11"), "pod → pod on the same parent");
  });

  const v4of = async (ns: string, ifName: string): Promise<string> =>
    ((await lab.addresses(ns, ifName)).find((a) => !a.includes(":")) ?? "").split("/")[0] as string;

  it("NN-23 underlay second NIC: rule 999 from N → 101, node and hijack routes via veth0 in 101, net1's routes moved", async () => {
    const pod = await createPod(h, {
      name: "co-c",
      node: "node1",
      annotations: {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["co-v4"]},{"interface":"net1","ipv4":["co-net1"]}]',
      },
    });
    const C = `${p}-c`;
    await lab.addNamespace(C);
    assert.equal((await chainAdd(pod, C)).result.code, 0);
    const r = await chainAdd(pod, C, "net1");
    assert.equal(r.result.code, 0, r.result.stdout + r.result.stderr);
    const e = await v4of(C, "eth0");
    const n = await v4of(C, "net1");
    assert.ok((await rules(C, 4)).includes(`999: from ${n} lookup 101`), (await rules(C, 4)).join("; "));
    const t101 = await routes(C, 4, "101");
    for (const want of [
      `192.0.2.2 dev veth0 scope link src ${e}`,
      `198.51.100.0/25 via 192.0.2.2 dev veth0 src ${e}`,
      `203.0.113.0/25 dev net1 scope link src ${n}`,
    ]) {
      assert.ok(t101.includes(want), `${want} in table 101: ${t101.join("; ")}`);
    }
    const main = await routes(C, 4, "main");
    assert.ok(!main.some((x) => x.startsWith("default") && x.includes("dev net1")), main.join("; "));
    assert.ok(main.includes(`203.0.113.0/25 dev net1 scope link src ${n}`), "the subnet route stays in main");
    assert.ok((await routes(NODE, 4, "500")).includes(`${n} dev veth${cid("co-c").slice(0, 11)} scope link`));
    assert.ok(await pingable(C, "203.0.113.1"), "net1's gateway");
    assert.ok(await pingable(C, "192.0.2.2"), "the node, still over veth0");
  });

  it("NN-17 NN-18 overlay: a Calico-like eth0 (veth to cali…) and macvlan net1", async () => {
    const D = `${p}-d`;
    await lab.addNamespace(D);
    const cali = `cali${randomBytes(5).toString("hex")}`;
    const ip = (...a: string[]) => exec("ip", a);
    await ip("-n", NODE, "link", "add", cali, "type", "veth", "peer", "name", "eth0", "netns", D);
    await ip("-n", NODE, "link", "set", cali, "up");
    await ip("-n", D, "link", "set", "eth0", "up");
    await ip("-n", D, "addr", "add", "203.0.113.200/32", "dev", "eth0");
    await ip("-n", D, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
    await ip("-n", D, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
    await ip("-n", NODE, "route", "add", "203.0.113.200/32", "dev", cali);
    const pod = await createPod(h, {
      name: "co-d",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippools": '[{"interface":"net1","ipv4":["co-net1"]}]' },
    });
    const r = await chainAdd(pod, D, "net1");
    assert.equal(r.result.code, 0, r.result.stdout + r.result.stderr);
    const n = await v4of(D, "net1");
    const rs = await rules(D, 4);
    assert.ok(rs.includes(`32765: from ${n} lookup 101`), rs.join("; "));
    assert.ok(rs.includes("32764: from 203.0.113.200 lookup 100"), rs.join("; "));
    assert.deepEqual(await routes(D, 4, "100"), ["default via 169.254.1.1 dev eth0"]);
    const main = await routes(D, 4, "main");
    for (const want of [
      "default via 169.254.1.1 dev eth0",
      "192.0.2.2 dev eth0 scope link src 203.0.113.200",
      "198.51.100.0/25 via 192.0.2.2 dev eth0 src 203.0.113.200",
      "203.0.113.192/26 via 192.0.2.2 dev eth0 src 203.0.113.200",
    ]) {
      assert.ok(main.includes(want), `${want} in main: ${main.join("; ")}`);
    }
    assert.ok((await routes(NODE, 4, "500")).includes(`${n} dev ${cali} scope link`));
    const nodeNeigh = await ipj<{ dst: string; dev: string }[]>(NODE, "neigh", "show");
    assert.ok(nodeNeigh.some((x) => x.dst === n && x.dev === cali));
    assert.ok(await pingable(D, "192.0.2.2"), "the overlay pod reaches the node through eth0");
    assert.ok(await pingable(D, "198.51.100.200"), "and a hijacked service address");
  });

  it("NN-13 MAC prefix on net1 with a gratuitous ARP the gateway learns from; vethLinkAddress; txQueueLen in the pod (Q1)", async () => {
    await exec("ip", ["netns", "exec", GW, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth-m-p/arp_accept"]);
    const pod = await createPod(h, {
      name: "co-e",
      node: "node1",
      annotations: {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["co-v4"]},{"interface":"net1","ipv4":["co-net1"]}]',
      },
    });
    const F = `${p}-e`;
    await lab.addNamespace(F);
    const first = await chainAdd(pod, F, "eth0", { vethLinkAddress: "169.254.100.1", txQueueLen: 2000 });
    assert.equal(first.result.code, 0, first.result.stdout + first.result.stderr);
    const veth0 = await ipj<{ addr_info: { local: string; prefixlen: number }[] }[]>(F, "addr", "show", "dev", "veth0");
    assert.ok(veth0[0]?.addr_info.some((a) => a.local === "169.254.100.1" && a.prefixlen === 32));
    const eth0 = await ipj<{ txqlen: number }[]>(F, "link", "show", "dev", "eth0");
    assert.equal(eth0[0]?.txqlen, 2000);
    const r = await chainAdd(pod, F, "net1", { podMACPrefix: "0a:1b" });
    assert.equal(r.result.code, 0, r.result.stdout + r.result.stderr);
    const n = await v4of(F, "net1");
    const bytes = n.split(".").map((b) => Number(b).toString(16).padStart(2, "0"));
    const mac = `0a:1b:${bytes.join(":")}`;
    const net1 = await ipj<{ address: string }[]>(F, "link", "show", "dev", "net1");
    assert.equal(net1[0]?.address, mac);
    await eventually(
      async () =>
        (await ipj<{ dst: string; lladdr?: string }[]>(GW, "neigh", "show")).some(
          (x) => x.dst === n && x.lladdr === mac,
        ),
      3000,
      "the gateway to learn the new MAC from the gratuitous ARP",
    );
  });

  it("bad input gets the spec's error and changes nothing on the node or in the pod", async () => {
    const pod = await createPod(h, {
      name: "co-f",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["co-v4"]}' },
    });
    const G = `${p}-f`;
    await lab.addNamespace(G);
    const m = await call(pod, G, "ADD", macvlan as string, MACVLAN());
    assert.equal(m.code, 0, m.stdout + m.stderr);
    const prev = JSON.parse(m.stdout) as unknown;
    const snapshot = async (): Promise<string> =>
      JSON.stringify([
        await ipj(NODE, "link", "show"),
        await rules(NODE, 4),
        await routes(NODE, 4, "500"),
        await ipj(G, "link", "show"),
        await routes(G, 4, "main"),
        await rules(G, 4),
      ]);
    const before = await snapshot();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ mode: "bridge" }, /^unknown tuneMode: bridge$/],
      [{ podMACPrefix: "01:00" }, /^failed to parse config: mac_prefix format should be match regex/],
      [{ policyRoutes: [{ dst: "10.10.0.0/16", gw: "2001:db8::1" }] }, /must use the same IP family$/],
      [{ mode: "overlay" }, /in overlay mode, it detects that the current interface is first interface named eth0/],
    ];
    for (const [nad, re] of cases) {
      const r = await call(pod, G, "ADD", COORDINATOR, COORD(prev, nad));
      assert.equal(r.code, 1, JSON.stringify(nad));
      assert.match((JSON.parse(r.stdout) as { msg: string }).msg, re);
    }
    const notNs = join(dir, "not-a-netns");
    writeFileSync(notNs, "");
    const r = await runPlugin({
      plugin: COORDINATOR,
      command: "ADD",
      netconf: { cniVersion: "1.0.0", name: "macvlan-eth-m", ...COORD(prev) },
      containerID: cid("co-f"),
      netns: notNs,
      ifName: "eth0",
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=co-f`,
      cniPath: dirname(SHIM),
      inNamespace: NODE,
    });
    assert.equal(r.code, 1);
    assert.match((JSON.parse(r.stdout) as { msg: string }).msg, /^failed to GetNS ".*not-a-netns": /);
    assert.equal(await snapshot(), before);
  });

  it("NN-27 DEL leaves no veth and no table-500 route on the node; again after the netns is gone", async () => {
    const hostVeth = `veth${cid("co-a").slice(0, 11)}`;
    await chainDel(podA, A, prevA);
    const nodeLinks = await ipj<{ ifname: string }[]>(NODE, "link", "show");
    assert.ok(!nodeLinks.some((l) => l.ifname === hostVeth));
    assert.ok(!(await routes(NODE, 4, "500")).some((r) => r.startsWith(`${E} `)));
    const again = await call(podA, `${p}-gone`, "DEL", COORDINATOR, COORD(prevA));
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });
});
