import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIP } from "./address.ts";
import { parseCIDR } from "./cidr.ts";
import { IPFamilyMismatchError, InvalidIPRangeError } from "./errors.ts";
import { formatIPRange, parseIPRange } from "./range.ts";
import { IPRangeSet, mergeIPRanges } from "./range-set.ts";

const v = (s: string): bigint => parseIP(s).value;

describe("parseIPRange", () => {
  it("single addresses and ranges", () => {
    assert.deepEqual(parseIPRange("192.0.2.10"), { family: 4, start: v("192.0.2.10"), end: v("192.0.2.10") });
    assert.deepEqual(parseIPRange("192.0.2.1-192.0.2.10"), {
      family: 4,
      start: v("192.0.2.1"),
      end: v("192.0.2.10"),
    });
    assert.deepEqual(parseIPRange("2001:db8::1-2001:db8::9"), {
      family: 6,
      start: v("2001:db8::1"),
      end: v("2001:db8::9"),
    });
  });
  it("ranges across octet boundaries", () => {
    const r = parseIPRange("192.0.2.250-192.0.3.5");
    assert.equal(r.end - r.start + 1n, 12n);
    assert.equal(formatIPRange(r), "192.0.2.250-192.0.3.5");
  });
  const bad: Array<[string, RegExp]> = [
    ["", /empty string/],
    ["192.0.2.0/24", /no '\/prefix'/],
    ["192.0.2.10-192.0.2.1", /start '192.0.2.10' is greater than end '192.0.2.1'/],
    ["192.0.2.1-2001:db8::1", /different IP families/],
    ["192.0.2.1 - 192.0.2.3", /not an IP address/],
    ["192.0.2.1-", /end '' is not an IP address/],
    ["-192.0.2.1", /start '' is not an IP address/],
    ["1-2-3", /more than one '-'/],
    ["192.0.2.256", /not an IP address/],
  ];
  for (const [input, reason] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseIPRange(input),
        (err: unknown) => err instanceof InvalidIPRangeError && reason.test(err.message),
      );
    });
  }
});

describe("merge into canonical form", () => {
  it("sorts, de-duplicates and collapses consecutive runs", () => {
    assert.deepEqual(
      mergeIPRanges(4, ["192.0.2.5", "192.0.2.1-192.0.2.3", "192.0.2.4", "192.0.2.3", "192.0.2.10-192.0.2.12"]),
      ["192.0.2.1-192.0.2.5", "192.0.2.10-192.0.2.12"],
    );
  });
  it("writes single addresses without a dash and uses RFC 5952", () => {
    assert.deepEqual(mergeIPRanges(6, ["2001:DB8::9", "2001:db8:0:0::1-2001:db8::3"]), [
      "2001:db8::1-2001:db8::3",
      "2001:db8::9",
    ]);
  });
  it("merges across octet boundaries", () => {
    assert.deepEqual(mergeIPRanges(4, ["192.0.2.255", "192.0.3.0"]), ["192.0.2.255-192.0.3.0"]);
  });
  it("names the bad entry and rejects mixed families", () => {
    assert.throws(() => mergeIPRanges(4, ["192.0.2.1", "nope"]), /entry \[1\]/);
    assert.throws(
      () => mergeIPRanges(4, ["192.0.2.1", "2001:db8::1"]),
      (e: unknown) =>
        e instanceof IPFamilyMismatchError && e.message === "entry [1]: '2001:db8::1' is not an IPv4 value",
    );
  });
});

describe("set algebra", () => {
  const s = (...e: string[]): IPRangeSet => IPRangeSet.parse(4, e);
  it("subtracts ips minus excludeIPs minus reserved", () => {
    const ips = s("192.0.2.1-192.0.2.100");
    const exclude = s("192.0.2.1-192.0.2.9", "192.0.2.50");
    const reserved = s("192.0.2.100", "192.0.2.60-192.0.2.61");
    const eff = ips.subtract(exclude).subtract(reserved);
    assert.deepEqual(eff.toStrings(), ["192.0.2.10-192.0.2.49", "192.0.2.51-192.0.2.59", "192.0.2.62-192.0.2.99"]);
    assert.equal(eff.size, 40n + 9n + 38n);
  });
  it("membership, overlap, containment", () => {
    const a = s("192.0.2.10-192.0.2.20", "192.0.2.30");
    assert.equal(a.has(v("192.0.2.15")), true);
    assert.equal(a.has(v("192.0.2.25")), false);
    assert.equal(a.has(v("192.0.2.30")), true);
    assert.equal(a.overlaps(s("192.0.2.20-192.0.2.25")), true);
    assert.equal(a.overlaps(s("192.0.2.21-192.0.2.29")), false);
    assert.equal(a.containsAll(s("192.0.2.11", "192.0.2.30")), true);
    assert.equal(a.containsAll(s("192.0.2.11-192.0.2.21")), false);
    assert.equal(
      a.intersect(s("192.0.2.0-192.0.2.12", "192.0.2.30-192.0.2.40")).toStrings().join(","),
      "192.0.2.10-192.0.2.12,192.0.2.30",
    );
  });
  it("counts as BigInt: fd00::/64 has 2^64 addresses", () => {
    const c = IPRangeSet.fromCIDR(parseCIDR("fd00::/64"));
    assert.equal(c.size, 1n << 64n);
    assert.equal(IPRangeSet.fromCIDR(parseCIDR("192.0.2.7/32")).size, 1n);
    assert.equal(IPRangeSet.fromCIDR(parseCIDR("2001:db8::7/128")).size, 1n);
  });
  it("mixing families in one operation throws", () => {
    assert.throws(() => s("192.0.2.1").union(IPRangeSet.parse(6, ["2001:db8::1"])), IPFamilyMismatchError);
  });
});

describe("lowestFree", () => {
  it("skips used addresses across runs", () => {
    const set = IPRangeSet.parse(4, ["192.0.2.1-192.0.2.3", "192.0.2.10-192.0.2.11"]);
    const used = new Set([v("192.0.2.1"), v("192.0.2.2"), v("192.0.2.3"), v("192.0.2.10")]);
    assert.equal(set.lowestFree(used), v("192.0.2.11"));
    used.add(v("192.0.2.11"));
    assert.equal(set.lowestFree(used), undefined);
    assert.equal(IPRangeSet.empty(4).lowestFree(new Set()), undefined);
  });
  it("works in a /64 without touching the range size", () => {
    const set = IPRangeSet.fromCIDR(parseCIDR("2001:db8::/64"));
    const base = set.first as bigint;
    const used = new Set<bigint>();
    for (let i = 0n; i < 1000n; i++) used.add(base + i);
    assert.equal(set.lowestFree(used), base + 1000n);
  });
});

describe("lowest", () => {
  it("takes the lowest addresses across runs, splitting the last one", () => {
    const s = IPRangeSet.parse(4, ["192.0.2.1-192.0.2.3", "192.0.2.10-192.0.2.20"]);
    assert.deepEqual(s.lowest(0n).toStrings(), []);
    assert.deepEqual(s.lowest(2n).toStrings(), ["192.0.2.1-192.0.2.2"]);
    assert.deepEqual(s.lowest(5n).toStrings(), ["192.0.2.1-192.0.2.3", "192.0.2.10-192.0.2.11"]);
    assert.deepEqual(s.lowest(100n).toStrings(), s.toStrings());
  });
  it("costs in runs on a /64", () => {
    const s = IPRangeSet.fromCIDR(parseCIDR("2001:db8::/64"));
    assert.equal(s.lowest(1n << 40n).size, 1n << 40n);
  });
});
