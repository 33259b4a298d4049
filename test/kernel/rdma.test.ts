// The RDMA metrics exporter on soft-RoCE in the kernel lab's guest: spiderpool-agent with
// enabledRdmaMetric reads RDMA netlink at each request; the counters it serves equal
// `rdma statistic` and grow with real RDMA traffic (ibv_rc_pingpong, server and client on one
// rxe device). Then exclusive netns mode with 10 namespaces, the scrape's cost printed.
// What soft-RoCE on this kernel (6.1) cannot do: move a device into a pod's namespace
// ("Operation not supported"), nor receive on a device made in another namespace (its UDP
// socket lives in the initial one: the sender counts packets, the receiver none). So pod
// labels on a device inside a pod are covered by test/integration/rdma-exporter.test.ts only.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { NetLab } from "../../src/cli/netlab.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { IN_GUEST, labName, sh } from "../support/kernel.ts";
import { untilOk } from "../support/wait.ts";

type Stat = { ifname: string } & Record<string, number | string>;

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(rdma_\w+_total)\{[^}]*ifname="([^"]+)"[^}]*\} (\d+)$/gm)) {
    out.set(`${m[1]}|${m[2]}`, Number(m[3]));
  }
  return out;
}

async function statistic(dev: string): Promise<Stat> {
  const all = JSON.parse(await sh("rdma", "-j", "statistic", "show")) as Stat[];
  const s = all.find((x) => x.ifname === dev);
  assert.ok(s !== undefined, `rdma statistic has ${dev}`);
  return s;
}

describe("RDMA metrics exporter on soft-RoCE (guest kernel)", () => {
  let c: Cluster;
  let lab: NetLab;
  let port: number;
  const pod = labName("rp");
  const d0 = labName("d");
  const rx0 = `${d0}x`;

  before(async () => {
    assert.ok(IN_GUEST, "run through test/kernel-lab/run.sh (the host's kernel has no rdma_rxe)");
    lab = new NetLab("spt-kl-rd");
    // A namespace besides the host's: in shared mode the exporter must not read it.
    await lab.addNamespace(pod);
    await sh("ip", "link", "add", d0, "type", "dummy");
    await sh("ip", "addr", "add", "192.0.2.80/24", "dev", d0);
    await sh("ip", "link", "set", d0, "up");
    await sh("rdma", "link", "add", rx0, "type", "rxe", "netdev", d0);
    c = await startCluster({ nodes: 1, config: { enableRdmaMetric: true, rdmaMetricPort: 0 } });
    port = c.nodes[0]?.agent.ports.rdmaMetrics ?? 0;
    assert.ok(port > 0, "the exporter listens on its own port");
  });
  after(async () => {
    await c?.close();
    await sh("rdma", "link", "delete", rx0).catch(() => undefined);
    await sh("ip", "link", "del", d0).catch(() => undefined);
    assert.deepEqual(await lab.cleanup(), []);
  });

  it("shared mode: the served counters equal `rdma statistic`, with the spec's names and labels", async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(text, /^# TYPE rdma_sent_pkts_total counter$/m);
    assert.match(
      text,
      new RegExp(
        `^rdma_sent_pkts_total\\{node_name="node1",ifname="${rx0}",net_dev_name="${d0}",node_guid="[0-9a-f:]+",sys_image_guid="[0-9a-f:]+",is_root="true"\\} \\d+$`,
        "m",
      ),
    );
    const m = await scrape(port);
    const s = await statistic(rx0);
    for (const key of ["sent_pkts", "rcvd_pkts", "rdma_sends", "rdma_recvs"]) {
      assert.equal(m.get(`rdma_${key}_total|${rx0}`), s[key], key);
    }
  });

  it("counters grow with ibv_rc_pingpong traffic and still match `rdma statistic`", async (t) => {
    const before = await scrape(port);
    // GID 1 is the dummy's IPv4 address (RoCEv2); the client retries until the server listens.
    const server = spawn("ibv_rc_pingpong", ["-d", rx0, "-g", "1", "-n", "200"], { stdio: "ignore" });
    t.after(() => server.kill());
    const out = await untilOk(
      () => sh("timeout", "60", "ibv_rc_pingpong", "-d", rx0, "-g", "1", "-n", "200", "192.0.2.80"),
      "ibv_rc_pingpong's client to reach the server",
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    t.diagnostic(out.trim().split("\n").slice(-2).join(" / "));
    const afterScrape = await scrape(port);
    const s = await statistic(rx0);
    const sent = afterScrape.get(`rdma_sent_pkts_total|${rx0}`) ?? 0;
    assert.ok(sent >= (before.get(`rdma_sent_pkts_total|${rx0}`) ?? 0) + 200, `sent_pkts ${sent}`);
    assert.equal(sent, s["sent_pkts"]);
    assert.ok((afterScrape.get(`rdma_rcvd_pkts_total|${rx0}`) ?? 0) >= 200);
    assert.ok(
      (afterScrape.get(`rdma_rdma_sends_total|${rx0}`) ?? 0) > (before.get(`rdma_rdma_sends_total|${rx0}`) ?? 0),
    );
  });
});

describe("RDMA metrics exporter, exclusive netns mode with 10 namespaces (guest kernel)", () => {
  let c: Cluster;
  let lab: NetLab;

  before(async () => {
    // Exclusive mode can be set only while no other namespace exists; the earlier tests'
    // namespaces go away asynchronously, so wait for the kernel to take it.
    await untilOk(
      () => sh("rdma", "system", "set", "netns", "exclusive"),
      "the kernel to take `rdma system set netns exclusive`",
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    lab = new NetLab("spt-kl-rx");
    for (let i = 0; i < 10; i++) await lab.addNamespace(labName(`n${i}`));
    c = await startCluster({ nodes: 1, config: { enableRdmaMetric: true, rdmaMetricPort: 0 } });
  });
  after(async () => {
    await c?.close();
    assert.deepEqual(await lab.cleanup(), []);
  });

  it("reads every namespace; the scrape's cost is printed", async (t) => {
    const agent = c.nodes[0]?.agent;
    const port = agent?.ports.rdmaMetrics ?? 0;
    // The first scrapes run V8's interpreter under emulation: one warm-up, then the figure.
    await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const http: number[] = [];
    const collect: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      await res.text();
      http.push(performance.now() - t0);
      collect.push(agent?.rdma?.last?.durationMs ?? NaN);
    }
    assert.equal(agent?.rdma?.last?.mode, "exclusive");
    assert.ok((agent?.rdma?.last?.namespaces ?? 0) >= 10, `namespaces read: ${agent?.rdma?.last?.namespaces}`);
    const fmt = (xs: number[]): string => {
      xs.sort((a, b) => a - b);
      return `median ${xs[3]?.toFixed(0)} ms, min ${xs[0]?.toFixed(0)} ms, max ${xs[6]?.toFixed(0)} ms`;
    };
    const figure = `rdma scrape with ${agent?.rdma?.last?.namespaces} namespaces (exclusive mode, under emulation): collect ${fmt(collect)}; HTTP round trip ${fmt(http)}`;
    t.diagnostic(figure);
    process.stdout.write(`# ${figure}\n`);
  });
});
