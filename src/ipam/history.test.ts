// Address history: the Event texts round-trip, and the timeline of an address, a pod and a
// pool is complete and ordered, ending with who holds it now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addressesIn,
  allocatedMessage,
  historyQuery,
  reclaimedMessage,
  releasedMessage,
  timeline,
  type HistoryEvent,
} from "./history.ts";

const ev = (time: string, reason: string, message: string, pod: string, podUid: string): HistoryEvent => ({
  time,
  reason,
  message,
  pod,
  podUid,
  count: 1,
});

describe("address history", () => {
  it("the messages name what history reads back", () => {
    const ips = [
      { nic: "eth0", address: "192.0.2.10/24", pool: "web" },
      { nic: "eth0", address: "2001:db8::a/64", pool: "web6" },
    ];
    assert.deepEqual(addressesIn(allocatedMessage(ips)), ips);
    assert.deepEqual(addressesIn(reclaimedMessage("web", ["192.0.2.11"], "PodMissing")), [
      { nic: "-", address: "192.0.2.11", pool: "web" },
    ]);
    assert.deepEqual(addressesIn(releasedMessage("0123456789abcdef")), []);
  });

  const events = [
    ev(
      "2026-12-07T10:00:03Z",
      "IPAllocated",
      allocatedMessage([{ nic: "eth0", address: "192.0.2.10/24", pool: "web" }]),
      "app/b",
      "ub",
    ),
    ev(
      "2026-12-07T10:00:00Z",
      "IPAllocated",
      allocatedMessage([{ nic: "eth0", address: "192.0.2.10/24", pool: "web" }]),
      "app/a",
      "ua",
    ),
    ev("2026-12-07T10:00:02Z", "IPReleased", releasedMessage("c-a"), "app/a", "ua"),
    ev(
      "2026-12-07T10:00:01Z",
      "IPAllocated",
      allocatedMessage([{ nic: "eth0", address: "192.0.2.11/24", pool: "web" }]),
      "app/c",
      "uc",
    ),
    ev("2026-12-07T10:00:04Z", "IPReclaimed", reclaimedMessage("web", ["192.0.2.11"], "PodMissing"), "app/c", "uc"),
    ev("2026-12-07T10:00:05Z", "IPReleased", releasedMessage("c-d"), "app/d", "ud"),
    ev("2026-12-07T10:00:06Z", "Scheduled", "not ours", "app/a", "ua"),
  ];
  const holders = [{ pool: "web", address: "192.0.2.10", pod: "app/b", podUid: "ub" }];

  it("an address: every holder in order, each release of the pod that held it, then who holds it now", () => {
    const t = timeline(historyQuery("192.0.2.10", new Set(["web"])), events, holders);
    assert.deepEqual(
      t.map((e) => [e.time, e.what, e.pod]),
      [
        ["2026-12-07T10:00:00Z", "allocated", "app/a"],
        ["2026-12-07T10:00:02Z", "released", "app/a"],
        ["2026-12-07T10:00:03Z", "allocated", "app/b"],
        ["now", "holds now", "app/b"],
      ],
    );
  });

  it("a GC reclaim belongs to the address's history", () => {
    const t = timeline(historyQuery("192.0.2.11", new Set(["web"])), events, holders);
    assert.deepEqual(
      t.map((e) => [e.what, e.pod]),
      [
        ["allocated", "app/c"],
        ["reclaimed", "app/c"],
      ],
    );
  });

  it("a pod and a pool", () => {
    assert.deepEqual(
      timeline(historyQuery("app/a", new Set(["web"])), events, holders).map((e) => e.what),
      ["allocated", "released"],
    );
    assert.equal(timeline(historyQuery("web", new Set(["web"])), events, holders).length, 6);
  });

  it("an argument that is neither an address nor a pool is a pod in default", () => {
    assert.deepEqual(historyQuery("web-1", new Set(["web"])), { kind: "pod", pod: "default/web-1" });
    assert.deepEqual(historyQuery("2001:DB8::A", new Set()), { kind: "address", address: "2001:db8::a" });
  });
});
