// The RDMA exporter's flow against an in-memory source: which namespaces a scrape reads in each
// netns mode, pod labels, and the HTTP answer. The kernel side runs in the kernel lab
// (test/kernel/rdma.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { RdmaExporter } from "../../src/rdma/exporter.ts";
import type { NamespaceReading, PodRef } from "../../src/rdma/model.ts";
import { FakeRdmaSource } from "../support/fake-rdma.ts";

const rxe = (ifname: string, netdev: string, guid: string, sent: number): Omit<NamespaceReading, "path"> => ({
  devices: [{ ifname, node_guid: guid, sys_image_guid: guid }],
  ports: [{ ifname, port: 1, netdev }],
  statistics: [{ ifname, port: 1, sent_pkts: sent }],
  netdevs: [{ ifname: netdev, address: "92:16:81:76:78:01" }],
});
const POD: PodRef = { namespace: "default", name: "trainer-0" };
const ctx = { nodeName: "node1", podOf: (ip: string) => (ip === "192.0.2.40" ? POD : undefined) };

describe("RDMA metrics: the exporter", () => {
  const log = pino({ level: "silent" });

  it("shared mode reads the host's namespace only", async () => {
    const src = new FakeRdmaSource();
    src.readings.set(undefined, rxe("rxe0", "d0", "9016:81ff:fe76:7801", 5));
    src.readings.set("/var/run/netns/pod", {
      ...rxe("rxe9", "d9", "9016:81ff:fe76:7809", 1),
      path: "/var/run/netns/pod",
    });
    const s = await new RdmaExporter(src, ctx, log).collect();
    assert.equal(s.mode, "shared");
    assert.deepEqual(src.reads, [undefined]);
    assert.ok(s.samples.every((x) => x.labels["ifname"] === "rxe0"));
  });

  it("exclusive mode reads every namespace; one that vanished meanwhile is skipped", async () => {
    const src = new FakeRdmaSource();
    src.mode = "exclusive";
    src.readings.set(undefined, rxe("rxe0", "d0", "9016:81ff:fe76:7801", 5));
    src.readings.set("/var/run/netns/pod", {
      ...rxe("mlx5_3", "net1", "9016:81ff:fe76:7809", 1),
      path: "/var/run/netns/pod",
      podIP: "192.0.2.40",
    });
    src.vanished.add("/var/run/netns/gone");
    const e = new RdmaExporter(src, ctx, log);
    const s = await e.collect();
    assert.equal(s.namespaces, 2);
    assert.deepEqual(
      [...new Set(s.samples.map((x) => `${x.labels["ifname"]}:${x.labels["pod_name"] ?? "-"}`))].sort(),
      ["mlx5_3:trainer-0", "rxe0:-"],
    );
    assert.equal(e.last?.namespaces, 2);
  });

  it("serves the text on its own port; a failed read of the host answers 500", async () => {
    const src = new FakeRdmaSource();
    src.readings.set(undefined, rxe("rxe0", "d0", "9016:81ff:fe76:7801", 5));
    const e = new RdmaExporter(src, ctx, log);
    const port = await e.start(0, "127.0.0.1");
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^rdma_sent_pkts_total\{node_name="node1",ifname="rxe0".*\} 5$/m);
      src.readings.delete(undefined);
      const bad = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(bad.status, 500);
      await bad.text();
    } finally {
      await e.stop();
    }
  });
});
