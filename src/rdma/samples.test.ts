import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NamespaceReading, PodRef } from "./model.ts";
import { renderPrometheus } from "./render.ts";
import { ethtoolValues, netdevForGuid, samplesOf, snakeCase } from "./samples.ts";

const rxe = (ifname: string, netdev: string, guid: string, sent: number): Omit<NamespaceReading, "path"> => ({
  devices: [{ ifname, node_guid: guid, sys_image_guid: guid }],
  ports: [{ ifname, port: 1, netdev }],
  statistics: [{ ifname, port: 1, sent_pkts: sent, rcvd_pkts: 2, rdma_sends: 0, lifespan: "x" }],
  netdevs: [{ ifname: netdev, address: "92:16:81:76:78:01" }],
});

const POD: PodRef = {
  namespace: "default",
  name: "trainer-0",
  ownerApiVersion: "apps/v1",
  ownerKind: "StatefulSet",
  ownerNamespace: "default",
  ownerName: "trainer",
};
const ctx = { nodeName: "node1", podOf: (ip: string) => (ip === "192.0.2.40" ? POD : undefined) };

describe("RDMA metrics: samples", () => {
  it("camelCase keys become snake case", () => {
    assert.equal(snakeCase("rxWriteRequests"), "rx_write_requests");
    assert.equal(snakeCase("np_cnp_sent"), "np_cnp_sent");
  });

  it("a RoCE device's netdev from its node GUID (EUI-64 with or without the U/L bit flipped); IPoIB from the address's last 8 bytes", () => {
    const netdevs = [
      { ifname: "d0", address: "92:16:81:76:78:01" },
      { ifname: "ens1", address: "b8:ce:f6:a4:c6:b2" },
      { ifname: "ib0", address: "00:00:10:87:fe:80:00:00:00:00:00:00:b8:ce:f6:03:00:a4:c6:b2" },
    ];
    assert.equal(netdevForGuid("9016:81ff:fe76:7801", netdevs), "d0", "soft-RoCE flips the bit");
    assert.equal(netdevForGuid("b8ce:f6ff:fea4:c6b2", netdevs), "ens1");
    assert.equal(netdevForGuid("b8ce:f603:00a4:c6b2", netdevs), "ib0");
    assert.equal(netdevForGuid("0000:0000:0000:0001", netdevs), undefined);
  });

  it("host devices: every numeric statistic as rdma_<key> with the spec's labels, and device_tos", () => {
    const s = samplesOf(rxe("rxe0", "d0", "9016:81ff:fe76:7801", 7), ctx);
    const labels = {
      node_name: "node1",
      ifname: "rxe0",
      net_dev_name: "d0",
      node_guid: "9016:81ff:fe76:7801",
      sys_image_guid: "9016:81ff:fe76:7801",
      is_root: "true",
    };
    assert.deepEqual(s, [
      { name: "rdma_sent_pkts", labels, value: 7 },
      { name: "rdma_rcvd_pkts", labels, value: 2 },
      { name: "rdma_rdma_sends", labels, value: 0 },
      { name: "rdma_device_tos", labels: { node_name: "node1", ifname: "rxe0", net_dev_name: "d0" }, value: 0 },
    ]);
  });

  it("a device in a pod's namespace carries the pod and its owner; the netdev falls back to the GUID", () => {
    const r: NamespaceReading = {
      ...rxe("mlx5_3", "d0", "9016:81ff:fe76:7801", 1),
      ports: [{ ifname: "mlx5_3", port: 1 }],
      path: "/var/run/netns/pod",
      podIP: "192.0.2.40",
    };
    const [first, ...rest] = samplesOf(r, ctx);
    assert.deepEqual(first?.labels, {
      node_name: "node1",
      ifname: "mlx5_3",
      net_dev_name: "d0",
      node_guid: "9016:81ff:fe76:7801",
      sys_image_guid: "9016:81ff:fe76:7801",
      is_root: "false",
      pod_namespace: "default",
      pod_name: "trainer-0",
      owner_api_version: "apps/v1",
      owner_kind: "StatefulSet",
      owner_namespace: "default",
      owner_name: "trainer",
    });
    assert.ok(
      rest.every((x) => x.name !== "rdma_device_tos"),
      "device_tos for root devices only",
    );
  });

  // mlx5's names (soft-RoCE's netdevs have no driver statistics: fabricated, not captured).
  const ETHTOOL_CASES: [string, Record<string, number>, ReturnType<typeof ethtoolValues>][] = [
    [
      "vport counters kept under their names",
      { rx_vport_rdma_unicast_packets: 5, tx_vport_rdma_multicast_bytes: 9 },
      [
        { key: "rx_vport_rdma_unicast_packets", value: 5 },
        { key: "tx_vport_rdma_multicast_bytes", value: 9 },
      ],
    ],
    [
      "per-priority pause and discards with the priority apart",
      { rx_prio3_pause: 4, tx_prio0_discards: 1, rx_prio7_discards: 2 },
      [
        { key: "rx_pause", value: 4, priority: 3 },
        { key: "tx_discards", value: 1, priority: 0 },
        { key: "rx_discards", value: 2, priority: 7 },
      ],
    ],
    [
      "vport_speed_mbps, unless unknown (u32 all ones)",
      { vport_speed_mbps: 100000 },
      [{ key: "vport_speed_mbps", value: 100000 }],
    ],
    ["unknown speed skipped", { vport_speed_mbps: 4294967295 }, []],
    ["the rest left out", { rx_packets: 1, tx_prio3_bytes: 2, rx_prio3_pause_duration: 3, rx_pause_ctrl_phy: 4 }, []],
  ];
  for (const [name, stats, want] of ETHTOOL_CASES) {
    it(`ethtool statistics: ${name}`, () => assert.deepEqual(ethtoolValues(stats), want));
  }

  it("a VF's netdev: ethtool samples with the device's labels, rdma_parent_name, and priority", () => {
    const r: NamespaceReading = {
      ...rxe("mlx5_3", "net1", "9016:81ff:fe76:7801", 1),
      statistics: [],
      ethtool: { net1: { rx_prio3_pause: 4, vport_speed_mbps: 25000 } },
      parentOf: { net1: "ens1f0" },
    };
    const labels = {
      node_name: "node1",
      ifname: "mlx5_3",
      net_dev_name: "net1",
      node_guid: "9016:81ff:fe76:7801",
      sys_image_guid: "9016:81ff:fe76:7801",
      is_root: "true",
      rdma_parent_name: "ens1f0",
    };
    assert.deepEqual(samplesOf(r, ctx).slice(0, 2), [
      { name: "rdma_rx_pause", labels: { ...labels, priority: "3" }, value: 4 },
      { name: "rdma_vport_speed_mbps", labels, value: 25000 },
    ]);
  });

  it("Prometheus text: counters with _total, escaped labels", () => {
    const text = renderPrometheus([
      { name: "rdma_sent_pkts", labels: { ifname: "rxe0", pod_name: 'a"b' }, value: 3 },
      { name: "rdma_sent_pkts", labels: { ifname: "rxe1" }, value: 4 },
    ]);
    assert.equal(
      text,
      [
        "# HELP rdma_sent_pkts_total RDMA sent pkts",
        "# TYPE rdma_sent_pkts_total counter",
        'rdma_sent_pkts_total{ifname="rxe0",pod_name="a\\"b"} 3',
        'rdma_sent_pkts_total{ifname="rxe1"} 4',
        "",
      ].join("\n"),
    );
  });
});
