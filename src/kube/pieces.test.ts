import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Pieces } from "./pieces.ts";

/** `b` cut at the given offsets (sorted, repeats give empty pieces). */
function cut(b: Buffer, at: readonly number[]): Buffer[] {
  const offsets = [...at.map((x) => x % (b.length + 1))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of offsets) {
    out.push(b.subarray(prev, o));
    prev = o;
  }
  out.push(b.subarray(prev));
  return out;
}

/** What `Pieces.commonPrefix` must give: compared byte by byte. */
function prefix(a: Buffer, at: number, b: Buffer, len: number): number {
  let i = 0;
  while (i < len && at + i < a.length && a[at + i] === b[i]) i++;
  return i;
}

// Bytes from a small alphabet, so that long common runs and repeated bytes are frequent.
const bytes = fc.uint8Array({ minLength: 0, maxLength: 9000 }).map((u) => Buffer.from(u.map((x) => 0x2a + (x % 4))));

describe("Pieces", () => {
  it("reads a document in pieces as the joined bytes read", () => {
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(), { maxLength: 12 }), fc.nat(), fc.nat(), (b, at, x, y) => {
        const p = new Pieces(cut(b, at));
        assert.equal(p.length, b.length);
        const i = b.length === 0 ? 0 : x % b.length;
        const j = b.length === 0 ? 0 : y % (b.length + 1);
        const [lo, hi] = i <= j ? [i, j] : [j, i];
        assert.equal(p.byte(i), b[i]);
        assert.equal(p.byte(b.length), undefined);
        assert.ok(p.slice(lo, hi).equals(b.subarray(lo, hi)));
        const copied = Buffer.alloc(hi - lo + 3, 0xff);
        p.copy(copied, 3, lo, hi);
        assert.ok(copied.subarray(3).equals(b.subarray(lo, hi)));
        const last = b.lastIndexOf(0x2b, hi - 1);
        assert.equal(p.lastIndexOf(0x2b, lo, hi - 1), hi === 0 || last < lo ? -1 : last);
      }),
      { numRuns: 400 },
    );
  });

  it("compares with another buffer and with other pieces as memcmp would", () => {
    fc.assert(
      fc.property(
        bytes,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (b, at, otherAt, from, change, pos, cap) => {
          // The other document: b with one byte changed (or not), from some offset on.
          const o = Buffer.from(b);
          if (o.length > 0 && change % 3 !== 0) o[pos % o.length] = 0x41;
          const s = b.length === 0 ? 0 : from % b.length;
          const p = new Pieces(cut(b, at));
          // Compared over a length that may stop short of the end: never a byte past it.
          const len = o.length - s === 0 ? 0 : cap % (o.length - s + 1);
          const want = prefix(b, s, o.subarray(s), len);
          assert.equal(p.commonPrefix(s, o.subarray(s), len), want);
          assert.equal(p.commonPrefixWith(s, new Pieces(cut(o, otherAt)), s, len), want);
        },
      ),
      { numRuns: 400 },
    );
  });
});
