// The ethtool statistics decoder against the layout SIOCETHTOOL fills (32-byte name slots,
// u64 values), fabricated; the read itself on this machine's eth0 (virtio_net: no vport or
// per-priority counters, those are mlx5's).
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { describe, it } from "node:test";
import { addonPath, loadAddon } from "./addon.ts";
import { HostSyscallError } from "./errors.ts";
import { decodeEthtoolStats, readEthtoolStats } from "./ethtool.ts";

function raw(stats: [string, bigint][]): { busInfo: string; strings: ArrayBuffer; values: ArrayBuffer } {
  const strings = new Uint8Array(stats.length * 32);
  const values = new DataView(new ArrayBuffer(stats.length * 8));
  stats.forEach(([name, v], i) => {
    strings.set(new TextEncoder().encode(name), i * 32);
    values.setBigUint64(i * 8, v, true);
  });
  return { busInfo: "0000:3b:00.2", strings: strings.buffer, values: values.buffer };
}

describe("ethtool statistics", () => {
  it("names from NUL-padded 32-byte slots, values in the same order", () => {
    const name31 = "x".repeat(31);
    assert.deepEqual(
      decodeEthtoolStats(
        raw([
          ["rx_vport_rdma_unicast_packets", 12n],
          ["vport_speed_mbps", 4294967295n],
          [name31, 1n],
        ]),
      ),
      {
        busInfo: "0000:3b:00.2",
        stats: { rx_vport_rdma_unicast_packets: 12, vport_speed_mbps: 4294967295, [name31]: 1 },
      },
    );
  });

  it("no statistics: an empty record", () => {
    assert.deepEqual(decodeEthtoolStats(raw([])).stats, {});
  });

  it("read in-process: a NIC's bus is on its sysfs device's path, with statistics; lo has no ethtool", (t) => {
    if (addonPath() === undefined) return t.skip("the host addon is not built");
    let device: string;
    try {
      device = realpathSync("/sys/class/net/eth0/device");
    } catch {
      return t.skip("no eth0 with a device here");
    }
    const got = readEthtoolStats(loadAddon(), null, "eth0");
    // virtio_net names the PCI device its virtio device sits on.
    assert.ok(got.busInfo !== "" && device.split("/").includes(got.busInfo), `${got.busInfo} in ${device}`);
    assert.ok(Object.keys(got.stats).length > 0, "a NIC driver's statistics");
    assert.throws(
      () => readEthtoolStats(loadAddon(), null, "lo"),
      (e: unknown) => e instanceof HostSyscallError,
    );
  });
});
