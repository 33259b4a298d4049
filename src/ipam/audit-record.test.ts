// The audit log's records: the pool diff, the line round trip, and the replay that matters —
// once the Events expired, the audit lines alone give the timeline the Events gave.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  auditAsEvent,
  formatAuditLine,
  mergeAudit,
  parseAuditLine,
  poolChanges,
  type AuditRecord,
} from "./audit-record.ts";
import {
  allocatedMessage,
  reclaimedMessage,
  releasedMessage,
  timeline,
  type HistoryEvent,
  type HistoryQuery,
} from "./history.ts";
import type { PoolRecord } from "./pool-state.ts";

const recs = (o: Record<string, [string, string]>): Map<string, PoolRecord> =>
  new Map(Object.entries(o).map(([ip, [pod, podUid]]) => [ip, { pod, podUid }]));

describe("audit records", () => {
  it("pool diff: allocation, release, and an address handed to another pod in one update", () => {
    const t = "2026-12-07T10:00:00.000Z";
    const cases: Array<[string, Map<string, PoolRecord>, Map<string, PoolRecord>, string[]]> = [
      ["nothing changed", recs({ "192.0.2.1": ["a/p", "u1"] }), recs({ "192.0.2.1": ["a/p", "u1"] }), []],
      ["allocation", recs({}), recs({ "192.0.2.1": ["a/p", "u1"] }), ["allocate a/p 192.0.2.1"]],
      ["release", recs({ "192.0.2.1": ["a/p", "u1"] }), recs({}), ["release a/p 192.0.2.1"]],
      [
        "handed over",
        recs({ "192.0.2.1": ["a/p", "u1"] }),
        recs({ "192.0.2.1": ["a/q", "u2"] }),
        ["release a/p 192.0.2.1", "allocate a/q 192.0.2.1"],
      ],
    ];
    for (const [name, before, after, want] of cases)
      assert.deepEqual(
        poolChanges("web", before, after, t).map((r) => `${r.action} ${r.pod} ${r.address}`),
        want,
        name,
      );
  });

  it("a line round-trips; what is not a record is refused", () => {
    const r: AuditRecord = {
      time: "2026-12-07T10:00:00.000Z",
      pool: "web",
      address: "2001:db8::a",
      pod: "app/a",
      uid: "ua",
      nic: "",
      action: "reclaim",
      rule: "PodMissing",
    };
    assert.deepEqual(parseAuditLine(formatAuditLine(r)), r);
    for (const bad of [
      '{"time":"x"',
      "[]",
      "null",
      '{"time":"t","pool":"p","address":"a","pod":"p","uid":"u","action":"steal"}',
    ])
      assert.equal(parseAuditLine(bad), undefined, bad);
  });

  // One life of two addresses, told both ways: as the agent's and the GC's Events, and as
  // the controller's audit lines (the controller sees each change a little later).
  const T = (s: number, ms = 0): string => new Date(Date.parse("2026-12-07T10:00:00Z") + s * 1000 + ms).toISOString();
  const ev = (time: string, reason: string, message: string, pod: string, podUid: string): HistoryEvent => ({
    time,
    reason,
    message,
    pod,
    podUid,
    count: 1,
  });
  const events = [
    ev(T(0), "IPAllocated", allocatedMessage([{ nic: "eth0", address: "192.0.2.10/24", pool: "web" }]), "app/a", "ua"),
    ev(T(1), "IPAllocated", allocatedMessage([{ nic: "eth0", address: "192.0.2.11/24", pool: "web" }]), "app/d", "ud"),
    ev(T(2), "IPReleased", releasedMessage("ctr-a"), "app/a", "ua"),
    ev(T(3), "IPAllocated", allocatedMessage([{ nic: "eth0", address: "192.0.2.10/24", pool: "web" }]), "app/b", "ub"),
    ev(T(4), "IPReclaimed", reclaimedMessage("web", ["192.0.2.11"], "PodMissing"), "app/d", "ud"),
  ];
  const line = (time: string, address: string, pod: string, uid: string, action: AuditRecord["action"], rule = "") =>
    ({ time, pool: "web", address, pod, uid, nic: "", action, rule }) satisfies AuditRecord;
  const audit = [
    line(T(0, 40), "192.0.2.10", "app/a", "ua", "allocate"),
    line(T(1, 40), "192.0.2.11", "app/d", "ud", "allocate"),
    line(T(2, 40), "192.0.2.10", "app/a", "ua", "release"),
    line(T(3, 40), "192.0.2.10", "app/b", "ub", "allocate"),
    // The pool's watch event came before the GC's write returned: the echo first.
    line(T(4, 20), "192.0.2.11", "app/d", "ud", "release"),
    line(T(4, 40), "192.0.2.11", "app/d", "ud", "reclaim", "PodMissing"),
  ];
  const queries: HistoryQuery[] = [
    { kind: "address", address: "192.0.2.10" },
    { kind: "address", address: "192.0.2.11" },
    { kind: "pod", pod: "app/a" },
    { kind: "pod", pod: "app/d" },
    { kind: "pool", pool: "web" },
  ];
  const shape = (q: HistoryQuery, evs: HistoryEvent[]) => timeline(q, evs, []).map((e) => `${e.what} ${e.pod}`);

  it("replay: after the Events expired, the audit lines give the Events' timeline", () => {
    for (const q of queries) {
      const fromEvents = shape(q, events);
      assert.ok(fromEvents.length > 0);
      assert.deepEqual(shape(q, mergeAudit([], audit)), fromEvents, JSON.stringify(q));
    }
  });

  it("replay: with the Events still there, each change shows once, as the Event tells it", () => {
    for (const q of queries) assert.deepEqual(shape(q, mergeAudit(events, audit)), shape(q, events), JSON.stringify(q));
    // Half the Events expired: the audit fills in exactly the rest.
    for (const q of queries)
      assert.deepEqual(shape(q, mergeAudit(events.slice(3), audit)), shape(q, events), JSON.stringify(q));
    const merged = mergeAudit(events.slice(3), audit);
    assert.ok(
      merged.some((e) => e.message.startsWith("- 192.0.2.10 from SpiderIPPool web")),
      "an audit line's text",
    );
    assert.equal(auditAsEvent(audit[5]!).message, reclaimedMessage("web", ["192.0.2.11"], "PodMissing"));
  });
});
