import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatIP, IPRangeSet, parseIP } from "../ip/index.ts";
import { usedOut } from "./errors.ts";
import { parseAllocatedIPs, pickInDraft, poolAddresses, type PoolAddresses, type PoolRecord } from "./pool-state.ts";
import { Draft, RecordSet } from "./record-set.ts";

const addrs = poolAddresses({
  subnet: "192.0.2.0/24",
  ips: ["192.0.2.10-192.0.2.40"],
  excludeIPs: ["192.0.2.12"],
} as never);
const reserved = IPRangeSet.parse(4, ["192.0.2.15"]);
const available = addrs.effective.subtract(reserved);

// The model the drafts are checked against: a plain Map, copied per batch, searched from the
// start of the pool for every pick (spec §1.10), released record by record (spec §9.5).
function modelPick(a: PoolAddresses, records: Map<string, PoolRecord>, reserved: IPRangeSet, podUid: string): string {
  for (const [ip, r] of records) if (r.podUid === podUid) return ip;
  const used = new Set([...records.keys()].map((ip) => parseIP(ip).value));
  const free = a.effective.subtract(reserved).lowestFree(used);
  if (free === undefined) throw usedOut();
  return formatIP(4, free);
}

function modelRelease(records: Map<string, PoolRecord>, ip: string, podUid: string): Map<string, PoolRecord> {
  const next = new Map(records);
  if (next.get(ip)?.podUid === podUid) next.delete(ip);
  return next;
}

function render(records: Map<string, PoolRecord>): string | undefined {
  return records.size === 0 ? undefined : JSON.stringify(Object.fromEntries(records));
}

type Op =
  | { k: "alloc"; uid: number }
  | { k: "release"; uid: number; ip: number; own: boolean }
  | { k: "retarget"; ip: number; uid: number }
  | { k: "commit" }
  | { k: "discard" }
  | { k: "foreign"; add: number[]; drop: number[]; uid: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("alloc" as const), uid: fc.integer({ min: 0, max: 40 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("release" as const),
      uid: fc.integer({ min: 0, max: 40 }),
      ip: fc.integer({ min: 8, max: 42 }),
      own: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("retarget" as const),
      ip: fc.integer({ min: 8, max: 42 }),
      uid: fc.integer({ min: 41, max: 60 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("commit" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("discard" as const) }) },
  {
    // Another agent's write: the pending draft is lost and the set synced to its version.
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("foreign" as const),
      add: fc.array(fc.integer({ min: 8, max: 42 }), { maxLength: 4 }),
      drop: fc.array(fc.integer({ min: 8, max: 42 }), { maxLength: 4 }),
      uid: fc.integer({ min: 61, max: 80 }),
    }),
  },
);

describe("RecordSet and Draft", () => {
  it("plan, commit and discard exactly as the Map-based allocator (property)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        // The reference: records as a Map, copied on every planned batch.
        let committed = new Map<string, PoolRecord>();
        let planned = new Map(committed);
        // Blocks of three records, so a few dozen records span many blocks.
        let base = RecordSet.parse(4, render(committed), 3);
        let draft = new Draft(base);
        for (const op of ops) {
          if (op.k === "alloc") {
            let want: string | Error;
            try {
              want = modelPick(addrs, planned, reserved, `u${op.uid}`);
            } catch (e) {
              want = e as Error;
            }
            let got: string | Error;
            try {
              const pick = pickInDraft("p", available, draft, `u${op.uid}`, 1000);
              if (!pick.reused) draft.set(pick.ip, { pod: `ns/p${op.uid}`, podUid: `u${op.uid}` });
              got = pick.ip;
            } catch (e) {
              got = e as Error;
            }
            if (typeof want === "string") {
              assert.equal(got, want);
              planned.set(want, planned.get(want) ?? { pod: `ns/p${op.uid}`, podUid: `u${op.uid}` });
            } else assert.ok(got instanceof Error && got.message === want.message);
          } else if (op.k === "release") {
            // Half the releases name the address the pod holds, so frees really happen.
            const held = [...planned].find(([, r]) => r.podUid === `u${op.uid}`)?.[0];
            const ip = op.own && held !== undefined ? held : `192.0.2.${op.ip}`;
            planned = modelRelease(planned, ip, `u${op.uid}`);
            if (draft.get(ip)?.podUid === `u${op.uid}`) draft.delete(ip);
          } else if (op.k === "retarget") {
            // A StatefulSet pod back with a new UID takes over its record.
            const ip = `192.0.2.${op.ip}`;
            const cur = planned.get(ip);
            if (cur !== undefined) {
              planned.set(ip, { pod: cur.pod, podUid: `u${op.uid}` });
              draft.set(ip, { pod: cur.pod, podUid: `u${op.uid}` });
            }
          } else if (op.k === "commit") {
            const text = base.render(draft);
            base.apply(draft);
            committed = new Map(planned);
            assert.deepEqual(parseAllocatedIPs(text), committed);
            assert.deepEqual(parseAllocatedIPs(base.render()), committed);
            draft = new Draft(base);
          } else if (op.k === "foreign") {
            const next = new Map(committed);
            for (const i of op.drop) next.delete(`192.0.2.${i}`);
            for (const i of op.add) next.set(`192.0.2.${i}`, { pod: `ns/f${op.uid}`, podUid: `f${op.uid}-${i}` });
            committed = next;
            base.sync(render(committed));
            assert.deepEqual(base.toMap(), committed);
            planned = new Map(committed);
            draft = new Draft(base);
          } else {
            planned = new Map(committed);
            draft = new Draft(base);
          }
          assert.equal(draft.size, planned.size);
          const text = base.render(draft);
          assert.deepEqual(parseAllocatedIPs(text), planned);
          // Each record once: JSON.parse would hide a key written twice.
          assert.equal((text ?? "").split('"podUid"').length - 1, planned.size);
        }
        // A set parsed from the committed text equals the one moved forward in place.
        base = RecordSet.parse(4, render(committed));
        assert.deepEqual(base.toMap(), committed);
      }),
      {
        numRuns: 1000,
        // Always tried: an address freed from the committed set must be the next one picked.
        examples: [
          [
            [
              { k: "alloc", uid: 12 },
              { k: "commit" },
              { k: "release", uid: 12, ip: 8, own: true },
              { k: "alloc", uid: 0 },
            ],
          ],
          // Always tried: an address another agent freed is the next one picked here.
          [
            [
              { k: "alloc", uid: 1 },
              { k: "alloc", uid: 2 },
              { k: "commit" },
              { k: "foreign", add: [], drop: [8], uid: 61 },
              { k: "alloc", uid: 3 },
            ],
          ],
        ],
      },
    );
  });

  it("reads keys as canonical addresses and tolerates null and empty text", () => {
    const s = RecordSet.parse(6, '{"2001:DB8::0001":{"pod":"a/b","podUid":"u"}}');
    assert.deepEqual([...s.toMap().keys()], ["2001:db8::1"]);
    assert.equal(s.addressesOf("u")?.has("2001:db8::1"), true);
    for (const t of [undefined, "", "null"]) assert.equal(RecordSet.parse(4, t).size, 0);
    assert.equal(RecordSet.parse(4, undefined).render(), undefined);
  });

  it("syncs in place to another version, canonicalising keys and dropping what is gone", () => {
    const s = RecordSet.parse(6, '{"2001:db8::1":{"pod":"a/b","podUid":"u"},"2001:db8::2":{"pod":"a/c","podUid":"v"}}');
    s.sync('{"2001:DB8::0001":{"pod":"a/b","podUid":"u2"},"2001:db8::3":{"pod":"a/d","podUid":"w"}}');
    assert.deepEqual(
      s.toMap(),
      new Map([
        ["2001:db8::1", { pod: "a/b", podUid: "u2" }],
        ["2001:db8::3", { pod: "a/d", podUid: "w" }],
      ]),
    );
    assert.equal(s.addressesOf("u"), undefined);
    assert.equal(s.addressesOf("v"), undefined);
    assert.equal(s.isUsed(2n + (0x20010db8n << 96n)), false);
    s.sync("null");
    assert.equal(s.size, 0);
    assert.equal(s.render(), undefined);
    assert.throws(() => s.sync("[1]"), /not a JSON object/);
  });
});
