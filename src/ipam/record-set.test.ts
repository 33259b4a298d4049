import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatIP, IPRangeSet, parseIP } from "../ip/index.ts";
import { usedOut } from "./errors.ts";
import { pickInDraft } from "./pick.ts";
import { parseAllocatedIPs, poolAddresses, type PoolAddresses, type PoolRecord } from "./pool-state.ts";
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

// Versions of a pool as other agents write them: records appended, dropped, changed,
// reordered, keys in another form, or the whole text formatted another way.
type Edit =
  | { k: "append"; ips: number[]; uid: number }
  | { k: "drop"; at: number[] }
  | { k: "change"; at: number; uid: number }
  | { k: "shuffle"; seed: number }
  | { k: "uppercase" }
  | { k: "pretty" };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("append" as const),
      ips: fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 5 }),
      uid: fc.nat(99),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("drop" as const), at: fc.array(fc.nat(), { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("change" as const), at: fc.nat(), uid: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("shuffle" as const), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("uppercase" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("pretty" as const) }) },
);

const v6 = (i: number): string => `2001:db8::${(0xa0 + i).toString(16)}`;

describe("RecordSet.sync", () => {
  it("leaves the set exactly as a fresh parse of the version, whatever the version repeats (property)", () => {
    fc.assert(
      fc.property(fc.array(editArb, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), (edits, blockRecords) => {
        let records: Array<[string, PoolRecord]> = [];
        const s = RecordSet.parse(6, undefined, blockRecords);
        for (const e of edits) {
          let format: "plain" | "uppercase" | "pretty" = "plain";
          if (e.k === "append") {
            for (const i of e.ips) {
              const ip = v6(i);
              records = records.filter(([x]) => x !== ip);
              records.push([ip, { pod: `ns/p${e.uid}`, podUid: `u${e.uid}-${i}` }]);
            }
          } else if (e.k === "drop") {
            const gone = new Set(e.at.map((i) => (records.length === 0 ? -1 : i % records.length)));
            records = records.filter((_, i) => !gone.has(i));
          } else if (e.k === "change" && records.length > 0) {
            const i = e.at % records.length;
            records[i] = [records[i]![0], { pod: `ns/q${e.uid}`, podUid: `v${e.uid}` }];
          } else if (e.k === "shuffle") {
            let x = e.seed;
            records = records
              .map((r) => [r, (x = (x * 1103515245 + 12345) % 2 ** 31)] as const)
              .sort((a, b) => a[1] - b[1])
              .map(([r]) => r);
          } else if (e.k === "uppercase" || e.k === "pretty") format = e.k;
          const obj = Object.fromEntries(records.map(([ip, r]) => [format === "uppercase" ? ip.toUpperCase() : ip, r]));
          const text =
            records.length === 0 ? "null" : JSON.stringify(obj, undefined, format === "pretty" ? 1 : undefined);
          s.sync(text);
          const fresh = RecordSet.parse(6, text);
          assert.deepEqual(s.toMap(), fresh.toMap());
          assert.equal(s.size, fresh.size);
          for (const [ip, r] of fresh.entries()) {
            assert.equal(s.isUsed(parseIP(ip).value), true);
            assert.equal(s.addressesOf(r.podUid)?.has(ip), true);
          }
          for (let i = 0; i <= 80; i++) assert.equal(s.isUsed(parseIP(v6(i)).value), fresh.get(v6(i)) !== undefined);
          // What the set writes next is the version it follows.
          assert.deepEqual(parseAllocatedIPs(s.render()), fresh.toMap());
        }
      }),
      { numRuns: 500 },
    );
  });

  it("reads only the records a version adds after the text it repeats", () => {
    const s = new RecordSet(4, 4);
    const recs: Array<[string, PoolRecord]> = [];
    for (let i = 1; i <= 30; i++) recs.push([`192.0.2.${i}`, { pod: `ns/p${i}`, podUid: `u${i}` }]);
    const text = (n: number): string => JSON.stringify(Object.fromEntries(recs.slice(0, n)));
    assert.equal(s.sync(text(20)), 20);
    assert.equal(s.sync(text(20)), 0);
    assert.equal(s.sync(text(23)), 3);
    // Our own write's records extend the text the same way.
    const d = new Draft(s);
    for (const [ip, r] of recs.slice(23, 25)) d.set(ip, r);
    s.apply(d);
    assert.equal(s.sync(text(27)), 2);
    // Dropping a record of the sixth block leaves five blocks (20 records) repeated.
    const dropped = JSON.stringify(Object.fromEntries(recs.slice(0, 27).filter(([ip]) => ip !== "192.0.2.22")));
    assert.equal(s.sync(dropped), 6);
    assert.equal(s.get("192.0.2.22"), undefined);
    assert.equal(s.size, 26);
    // Another order shares nothing at the start: the whole text is read.
    assert.equal(s.sync(JSON.stringify(Object.fromEntries([...recs.slice(0, 27)].reverse()))), 27);
  });

  it("refuses a text that is not JSON although it repeats the set's records", () => {
    const s = RecordSet.parse(4, '{"192.0.2.1":{"pod":"a/b","podUid":"u"}}', 1);
    for (const bad of [
      '{"192.0.2.1":{"pod":"a/b","podUid":"u"},}',
      '{"192.0.2.1":{"pod":"a/b","podUid":"u"}, }',
      '{"192.0.2.1":{"pod":"a/b","podUid":"u"},\n}',
      '{"192.0.2.1":{"pod":"a/b","podUid":"u"}}x',
    ]) {
      assert.throws(() => JSON.parse(bad));
      assert.throws(() => s.sync(bad));
    }
  });
});
