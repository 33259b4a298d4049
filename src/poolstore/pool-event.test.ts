import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { SpiderIPPool } from "../api/ippool.ts";
import { decodePoolEvent } from "./pool-event.ts";

function pool(records: Record<string, { namespacedName: string; podUid: string }>, annotations?: object): SpiderIPPool {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name: "pool-a", uid: "u1", resourceVersion: "42", ...(annotations ? { annotations } : {}) },
    spec: { subnet: "198.51.100.0/24", ips: ["198.51.100.1-198.51.100.250"], ipVersion: 4 },
    status: { allocatedIPs: JSON.stringify(records), allocatedIPCount: Object.keys(records).length, totalIPCount: 250 },
  } as SpiderIPPool;
}

function records(n: number, name = (i: number) => `default/pod-${i}`) {
  const r: Record<string, { namespacedName: string; podUid: string }> = {};
  for (let i = 0; i < n; i++) r[`198.51.100.${i + 1}`] = { namespacedName: name(i), podUid: `uid-${i}-0000-0000` };
  return r;
}

/** The event's bytes cut into pieces, as a socket hands them out. */
function line(ev: object, cuts: number[] = []): Buffer[] {
  const b = Buffer.from(JSON.stringify(ev));
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts.map((x) => x % b.length).sort((x, y) => x - y), b.length]) {
    if (c > at) out.push(b.subarray(at, c));
    at = Math.max(at, c);
  }
  return out;
}

describe("decodePoolEvent", () => {
  it("decodes a pool's event as a full decode would, the records only when read", () => {
    const p = pool(records(120));
    const ev = decodePoolEvent(line({ type: "MODIFIED", object: p }, [100, 5000]));
    assert.ok(ev !== undefined, "a pool event of 120 records takes the lazy path");
    const status = (ev.object as SpiderIPPool).status as Record<string, unknown>;
    assert.equal(typeof Object.getOwnPropertyDescriptor(status, "allocatedIPs")?.get, "function", "not decoded yet");
    assert.deepEqual(JSON.parse(JSON.stringify(ev)), { type: "MODIFIED", object: p });
    // Read once, it stays a plain member.
    assert.equal(status["allocatedIPs"], p.status?.allocatedIPs);
    assert.equal(Object.getOwnPropertyDescriptor(status, "allocatedIPs")?.value, p.status?.allocatedIPs);
  });

  it("keeps any records, whatever their text holds, however the bytes are cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme", maxLength: 12 }), { minLength: 40, maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (names, cuts) => {
          const p = pool(records(names.length, (i) => `ns-${i}/${names[i]}}"\\{`));
          const ev = decodePoolEvent(line({ type: "MODIFIED", object: p }, cuts));
          const expected = { type: "MODIFIED", object: p };
          // Lazy or whole (undefined: the caller decodes it whole), the pool reads the same.
          if (ev !== undefined) assert.deepEqual(JSON.parse(JSON.stringify(ev)), expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a record text ending in a brace does not end the string early", () => {
    const p = pool(records(60, (i) => `default/p-${i}}`));
    const ev = decodePoolEvent(line({ type: "ADDED", object: p }));
    assert.ok(ev !== undefined);
    assert.equal((ev.object as SpiderIPPool).status?.allocatedIPs, p.status?.allocatedIPs);
  });

  it("leaves small events and an ambiguous member to the whole decode; the lazy member takes writes", () => {
    assert.equal(decodePoolEvent(line({ type: "MODIFIED", object: pool(records(3)) })), undefined, "small");
    // An annotation of the same name with an object-like value: the pattern is there twice.
    const twice = pool(records(80), { allocatedIPs: "{x}" });
    assert.equal(decodePoolEvent(line({ type: "MODIFIED", object: twice })), undefined, "ambiguous: decoded whole");
    // The only such member an annotation's, the pool's records empty: never taken for the records.
    const impostor = pool(records(0), { allocatedIPs: `{${"z".repeat(5000)}}` });
    (impostor.status as Record<string, unknown>)["allocatedIPs"] = "";
    assert.equal(
      decodePoolEvent(line({ type: "MODIFIED", object: impostor })),
      undefined,
      "an annotation, not the records",
    );
    const empty = pool(records(0), { filler: "y".repeat(5000) });
    const e = decodePoolEvent(line({ type: "MODIFIED", object: empty }));
    assert.equal((e?.object as SpiderIPPool).status?.allocatedIPs, "{}");
    const lazy = decodePoolEvent(line({ type: "MODIFIED", object: pool(records(100)) }));
    const status = (lazy?.object as SpiderIPPool).status as Record<string, unknown>;
    status["allocatedIPs"] = "{}";
    assert.equal(status["allocatedIPs"], "{}");
  });

  it("a garbled records string fails when read, not the watch", () => {
    const p = pool(records(80));
    const text = JSON.stringify({ type: "MODIFIED", object: p }).replace("198.51.100.7", "198.51.100.7\\q");
    const ev = decodePoolEvent([Buffer.from(text)]);
    assert.ok(ev !== undefined);
    assert.equal((ev.object as SpiderIPPool).metadata.resourceVersion, "42");
    assert.throws(() => (ev.object as SpiderIPPool).status?.allocatedIPs, SyntaxError);
  });
});
