import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IPRangeSet } from "../ip/index.ts";
import {
  parseAllocatedIPs,
  pickAddress,
  pickInDraft,
  poolAddresses,
  releaseRecords,
  renderAllocatedIPs,
  type PoolRecord,
} from "./pool-state.ts";
import { Draft, RecordSet } from "./record-set.ts";

const addrs = poolAddresses({
  subnet: "192.0.2.0/24",
  ips: ["192.0.2.10-192.0.2.40"],
  excludeIPs: ["192.0.2.12"],
} as never);
const reserved = IPRangeSet.parse(4, ["192.0.2.15"]);
const available = addrs.effective.subtract(reserved);

type Op =
  | { k: "alloc"; uid: number }
  | { k: "release"; uid: number; ip: number; own: boolean }
  | { k: "retarget"; ip: number; uid: number }
  | { k: "commit" }
  | { k: "discard" };

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
);

describe("RecordSet and Draft", () => {
  it("plan, commit and discard exactly as the Map-based allocator (property)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        // The reference: records as a Map, copied on every planned batch.
        let committed = new Map<string, PoolRecord>();
        let planned = new Map(committed);
        let base = RecordSet.parse(4, renderAllocatedIPs(committed));
        let draft = new Draft(base);
        for (const op of ops) {
          if (op.k === "alloc") {
            let want: string | Error;
            try {
              want = pickAddress("p", addrs, planned, reserved, `u${op.uid}`, 1000).ip;
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
            const r = releaseRecords(planned, [ip], `u${op.uid}`);
            planned = r.next;
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
        base = RecordSet.parse(4, renderAllocatedIPs(committed));
        assert.deepEqual(base.toMap(), committed);
      }),
      { numRuns: 500 },
    );
  });

  it("reads keys as canonical addresses and tolerates null and empty text", () => {
    const s = RecordSet.parse(6, '{"2001:DB8::0001":{"pod":"a/b","podUid":"u"}}');
    assert.deepEqual([...s.toMap().keys()], ["2001:db8::1"]);
    assert.equal(s.addressesOf("u")?.has("2001:db8::1"), true);
    for (const t of [undefined, "", "null"]) assert.equal(RecordSet.parse(4, t).size, 0);
    assert.equal(RecordSet.parse(4, undefined).render(), undefined);
  });
});
