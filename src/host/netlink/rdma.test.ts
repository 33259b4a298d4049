// The RDMA netlink codec against answers laid out as the kernel's nldev builds them
// (drivers/infiniband/core/nldev.c: fill_nldev_handle, fill_dev_info, fill_port_info,
// stat_get_doit_default_counter). Fabricated, not captured: this machine's kernel has no
// RDMA; the kernel lab's guest test checks the same decoding against `rdma statistic` on
// soft-RoCE.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  NO_HEADER,
  RDMA_CMD,
  decodeCounters,
  decodeDevice,
  decodeNetnsMode,
  decodePort,
  deviceRequest,
  guidText,
  portRequest,
} from "./rdma.ts";
import { bytes, encodeMessage, nest, splitMessages, str, u32, u8, type Attr, type Message } from "./wire.ts";

function u64(type: number, v: bigint): Attr {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return bytes(type, b);
}

function answer(type: number, attrs: Attr[]): Message {
  const [m] = [...splitMessages(encodeMessage(type, 0x2, 7, NO_HEADER, attrs))];
  assert.ok(m !== undefined);
  return m;
}

const entry = (name: string, v: bigint): Attr => nest(81, [str(82, name), u64(83, v)]);

describe("RDMA netlink codec", () => {
  it("message types are the nldev client's (5 << 10) + command", () => {
    assert.deepEqual(RDMA_CMD, { GET: 0x1401, PORT_GET: 0x1405, SYS_GET: 0x1406, STAT_GET: 0x1411 });
  });

  it("GUIDs print as `rdma` prints them: four 16-bit groups of the host-order u64", () => {
    assert.equal(guidText(0x901681fffe767801n), "9016:81ff:fe76:7801");
    assert.equal(guidText(1n), "0000:0000:0000:0001");
  });

  it("requests name a device by index and a port by index (no family header)", () => {
    const [m] = [...splitMessages(encodeMessage(RDMA_CMD.STAT_GET, 0x1, 1, NO_HEADER, portRequest(3, 1)))];
    assert.deepEqual([...(m?.body ?? [])], [8, 0, 1, 0, 3, 0, 0, 0, 8, 0, 3, 0, 1, 0, 0, 0]);
    assert.equal(deviceRequest(3).length, 1);
  });

  it("a device: index, name, GUIDs; a pad attribute and unknown ones are skipped", () => {
    const d = decodeDevice(
      answer(RDMA_CMD.GET, [
        u32(1, 2),
        str(2, "rxe0"),
        u64(4, 0x1234n), // CAP_FLAGS
        str(5, ""), // FW_VERSION
        bytes(0, new Uint8Array(0)), // PAD before a 64-bit value where alignment needs it
        u64(6, 0x901681fffe767801n),
        u64(7, 0x901681fffe767801n),
        u8(14, 1), // NODE_TYPE
      ]),
    );
    assert.deepEqual(d, {
      index: 2,
      ifname: "rxe0",
      node_guid: "9016:81ff:fe76:7801",
      sys_image_guid: "9016:81ff:fe76:7801",
    });
    assert.equal(decodeDevice(answer(RDMA_CMD.GET, [str(2, "x")])), undefined, "no index: not a device");
  });

  it("a port: its netdev only when the kernel named one (same namespace)", () => {
    const base = [u32(1, 2), str(2, "mlx5_0"), u32(3, 1), u8(12, 4), u8(13, 5)];
    assert.deepEqual(decodePort(answer(RDMA_CMD.PORT_GET, [...base, u32(50, 9), str(51, "ens1f0")])), {
      devIndex: 2,
      ifname: "mlx5_0",
      port: 1,
      netdev: "ens1f0",
    });
    assert.deepEqual(decodePort(answer(RDMA_CMD.PORT_GET, base)), { devIndex: 2, ifname: "mlx5_0", port: 1 });
  });

  it("a port's default counter: every hardware counter entry by name, 64-bit values", () => {
    const c = decodeCounters(
      answer(RDMA_CMD.STAT_GET, [
        u32(1, 2),
        str(2, "rxe0"),
        u32(3, 1),
        nest(80, [entry("sent_pkts", 412n), entry("rcvd_pkts", 400n), entry("rdma_sends", 0x1_0000_0001n)]),
      ]),
    );
    assert.deepEqual(c, {
      ifname: "rxe0",
      port: 1,
      counters: { sent_pkts: 412, rcvd_pkts: 400, rdma_sends: 0x1_0000_0001 },
    });
    assert.deepEqual(decodeCounters(answer(RDMA_CMD.STAT_GET, [u32(1, 2), str(2, "rxe0"), u32(3, 1)]))?.counters, {});
  });

  it("netns mode: 1 shared, 0 exclusive; an old kernel without the attribute shares", () => {
    assert.equal(decodeNetnsMode(answer(RDMA_CMD.SYS_GET, [u8(66, 1)])), "shared");
    assert.equal(decodeNetnsMode(answer(RDMA_CMD.SYS_GET, [u8(66, 0)])), "exclusive");
    assert.equal(decodeNetnsMode(answer(RDMA_CMD.SYS_GET, [])), "shared");
  });
});
