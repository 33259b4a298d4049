/**
 * Property tests of src/ip against ipaddr.js (the oracle) and against brute force on
 * small universes. Known, deliberate differences from ipaddr.js are excluded explicitly:
 * it accepts zone ids and octal-looking embedded IPv4 (`::ffff:01.2.3.4`), and parses
 * `::a.b.c.d` as IPv4-mapped, where RFC 4291 (and Go) read it as IPv4-compatible.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { formatIP, parseIP, tryParseIP } from "./address.ts";
import { parseCIDR } from "./cidr.ts";
import { IPRangeSet } from "./range-set.ts";

const RUNS = 3000;

function oracleValue6(s: string): bigint {
  const parts = ipaddr.IPv6.parse(s).parts;
  return parts.reduce((acc, p) => (acc << 16n) | BigInt(p), 0n);
}

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const u32 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
// Values with long zero runs exercise the '::' choice.
const sparse128 = fc
  .array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0x0db8, 0xabc), { minLength: 8, maxLength: 8 })
  .map((g) => g.reduce((acc, p) => (acc << 16n) | BigInt(p), 0n));

describe("IPv6 against ipaddr.js", () => {
  it("format is RFC 5952 as ipaddr.js writes it, and parses back", () => {
    fc.assert(
      fc.property(fc.oneof(u128, sparse128), (value) => {
        const ours = formatIP(6, value);
        assert.equal(parseIP(ours).value, value);
        const mapped = value >> 32n === 0xffffn;
        if (!mapped) {
          const bytes = Array.from({ length: 16 }, (_, i) => Number((value >> BigInt(8 * (15 - i))) & 0xffn));
          assert.equal(ours, (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String());
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("every spelling ipaddr.js prints parses to the same value", () => {
    fc.assert(
      fc.property(fc.oneof(u128, sparse128), (value) => {
        const bytes = Array.from({ length: 16 }, (_, i) => Number((value >> BigInt(8 * (15 - i))) & 0xffn));
        // toFixedLengthString exists at run time but is missing from the typings.
        const addr = ipaddr.fromByteArray(bytes) as ipaddr.IPv6 & { toFixedLengthString(): string };
        for (const text of [addr.toNormalizedString(), addr.toFixedLengthString(), addr.toString()]) {
          assert.equal(parseIP(text).value, value, text);
          assert.equal(parseIP(text.toUpperCase()).value, value, text);
        }
      }),
      { numRuns: RUNS },
    );
  });

  const token = fc.constantFrom(
    "0",
    "1",
    "a",
    "F",
    "ff",
    "db8",
    "0000",
    "12345",
    ":",
    ":",
    "::",
    ".",
    "1.2.3.4",
    "%",
    " ",
  );
  it("random strings: acceptance and value agree (outside the documented quirks)", () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 16 }), (parts) => {
        const s = parts.join("");
        if (!s.includes(":") || s.includes("%") || s.includes(".")) return;
        const ours = tryParseIP(s);
        const theirs = ipaddr.IPv6.isValid(s);
        assert.equal(ours !== undefined, theirs, s);
        if (ours) assert.equal(ours.value, oracleValue6(s), s);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("IPv4-mapped embedded dotted tails agree", () => {
    fc.assert(
      fc.property(u32, (v4) => {
        const dotted = formatIP(4, v4);
        const s = `::ffff:${dotted}`;
        assert.equal(parseIP(s).value, (0xffffn << 32n) | v4);
        assert.equal(oracleValue6(s), (0xffffn << 32n) | v4);
        assert.equal(formatIP(6, (0xffffn << 32n) | v4), s);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("IPv4 against ipaddr.js", () => {
  it("values round-trip", () => {
    fc.assert(
      fc.property(u32, (value) => {
        const s = formatIP(4, value);
        assert.equal(
          s,
          ipaddr.fromByteArray([24, 16, 8, 0].map((sh) => Number((value >> BigInt(sh)) & 0xffn))).toString(),
        );
        assert.equal(parseIP(s).value, value);
      }),
      { numRuns: RUNS },
    );
  });
  const part = fc.oneof(
    fc.nat({ max: 300 }).map(String),
    fc.constantFrom("00", "01", "007", "", "a", " 1", "0x1", "1000"),
  );
  it("acceptance matches isValidFourPartDecimal", () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
        const s = parts.join(".");
        const ours = tryParseIP(s);
        assert.equal(ours !== undefined, ipaddr.IPv4.isValidFourPartDecimal(s), s);
        if (ours)
          assert.equal(
            ours.value,
            BigInt(
              ipaddr.IPv4.parse(s)
                .toByteArray()
                .reduce((a, b) => a * 256 + b, 0),
            ),
          );
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("CIDR against ipaddr.js", () => {
  it("network and last address agree (v4 and v6)", () => {
    fc.assert(
      fc.property(fc.boolean(), u128, fc.nat({ max: 128 }), (v6, raw, p) => {
        const family = v6 ? 6 : 4;
        const value = v6 ? raw : raw & 0xffff_ffffn;
        const prefix = v6 ? p : p % 33;
        const s = `${formatIP(family, value)}/${prefix}`;
        const ours = parseCIDR(s);
        const net = ipaddr.IPv4.isValidFourPartDecimal(formatIP(family, value))
          ? ipaddr.IPv4.networkAddressFromCIDR(s)
          : ipaddr.IPv6.networkAddressFromCIDR(s);
        const last = v6 ? ipaddr.IPv6.broadcastAddressFromCIDR(s) : ipaddr.IPv4.broadcastAddressFromCIDR(s);
        const toBig = (a: ipaddr.IPv4 | ipaddr.IPv6): bigint =>
          a.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
        assert.equal(ours.network, toBig(net), s);
        assert.equal(ours.last, toBig(last), s);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("range sets against brute force", () => {
  // A small window of a v6 /64 and of v4, so the model can enumerate every address.
  const W = 64;
  const base6 = parseIP("2001:db8::").value;
  const base4 = parseIP("198.51.100.0").value;
  const runs = fc.array(
    fc.tuple(fc.nat({ max: W - 1 }), fc.nat({ max: 8 })).map(([a, len]) => [a, Math.min(W - 1, a + len)] as const),
    { maxLength: 6 },
  );
  const model = (rs: ReadonlyArray<readonly [number, number]>): Set<number> => {
    const out = new Set<number>();
    for (const [a, b] of rs) for (let i = a; i <= b; i++) out.add(i);
    return out;
  };
  const mk = (family: 4 | 6, rs: ReadonlyArray<readonly [number, number]>): IPRangeSet => {
    const base = family === 6 ? base6 : base4;
    return IPRangeSet.fromRanges(
      family,
      rs.map(([a, b]) => ({ family, start: base + BigInt(a), end: base + BigInt(b) })),
    );
  };
  const members = (family: 4 | 6, s: IPRangeSet): Set<number> => {
    const base = family === 6 ? base6 : base4;
    return new Set([...s.values()].map((x) => Number(x - base)));
  };
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

  it("union, subtract, intersect, size, has, canonical runs", () => {
    fc.assert(
      fc.property(fc.constantFrom<4 | 6>(4, 6), runs, runs, (family, ra, rb) => {
        const a = mk(family, ra);
        const b = mk(family, rb);
        const ma = model(ra);
        const mb = model(rb);
        assert.deepEqual(sorted(members(family, a)), sorted(ma));
        assert.deepEqual(sorted(members(family, a.union(b))), sorted(new Set([...ma, ...mb])));
        assert.deepEqual(sorted(members(family, a.subtract(b))), sorted(new Set([...ma].filter((x) => !mb.has(x)))));
        assert.deepEqual(sorted(members(family, a.intersect(b))), sorted(new Set([...ma].filter((x) => mb.has(x)))));
        assert.equal(a.size, BigInt(ma.size));
        assert.equal(
          a.overlaps(b),
          [...ma].some((x) => mb.has(x)),
        );
        assert.equal(
          a.containsAll(b),
          [...mb].every((x) => ma.has(x)),
        );
        const base = family === 6 ? base6 : base4;
        for (let i = 0; i < W; i++) assert.equal(a.has(base + BigInt(i)), ma.has(i));
        // Canonical: runs are disjoint and non-adjacent, and re-parsing the text is identity.
        const rr = a.ranges;
        for (let i = 1; i < rr.length; i++) assert.ok((rr[i]?.start ?? 0n) > (rr[i - 1]?.end ?? 0n) + 1n);
        assert.ok(IPRangeSet.parse(family, a.toStrings()).equals(a));
      }),
      { numRuns: RUNS },
    );
  });

  it("lowestFree is the least member not used", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<4 | 6>(4, 6),
        runs,
        fc.array(fc.nat({ max: W - 1 }), { maxLength: 40 }),
        (family, ra, usedIdx) => {
          const base = family === 6 ? base6 : base4;
          const set = mk(family, ra);
          const used = new Set(usedIdx.map((i) => base + BigInt(i)));
          const expected = sorted(model(ra)).find((i) => !usedIdx.includes(i));
          const got = set.lowestFree(used);
          assert.equal(got, expected === undefined ? undefined : base + BigInt(expected));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
