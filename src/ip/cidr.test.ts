import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cidrContainsIP,
  cidrSize,
  cidrsOverlap,
  formatCIDR,
  isCanonicalCIDR,
  parseCanonicalCIDR,
  parseCIDR,
} from "./cidr.ts";
import { parseIP } from "./address.ts";
import { InvalidCIDRError, NonCanonicalCIDRError } from "./errors.ts";

describe("parseCIDR", () => {
  const cases: Array<[string, 4 | 6, number, string, string, bigint]> = [
    ["192.0.2.0/24", 4, 24, "192.0.2.0", "192.0.2.255", 256n],
    ["192.0.2.7/32", 4, 32, "192.0.2.7", "192.0.2.7", 1n],
    ["0.0.0.0/0", 4, 0, "0.0.0.0", "255.255.255.255", 1n << 32n],
    ["198.51.100.0/23", 4, 23, "198.51.100.0", "198.51.101.255", 512n],
    ["2001:db8::/32", 6, 32, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1n << 96n],
    ["fd00::/64", 6, 64, "fd00::", "fd00::ffff:ffff:ffff:ffff", 18446744073709551616n],
    ["2001:db8::5/128", 6, 128, "2001:db8::5", "2001:db8::5", 1n],
    ["::/0", 6, 0, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1n << 128n],
  ];
  for (const [input, family, prefix, first, last, size] of cases) {
    it(`${input}: ${first} .. ${last}, ${size} addresses`, () => {
      const c = parseCIDR(input);
      assert.equal(c.family, family);
      assert.equal(c.prefix, prefix);
      assert.equal(c.network, parseIP(first).value);
      assert.equal(c.last, parseIP(last).value);
      assert.equal(cidrSize(c), size);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ["192.0.2.0", /missing '\/prefix'/],
    ["192.0.2.0/33", /greater than 32/],
    ["2001:db8::/129", /greater than 128/],
    ["192.0.2.0/024", /leading zero/],
    ["192.0.2.0/", /empty prefix/],
    ["192.0.2.0/2a", /not a decimal/],
    ["192.0.2.0/24/24", /more than one/],
    ["192.0.2/24", /not an IP address/],
    ["192.0.2.0/ 24", /not a decimal/],
    ["fe80::%eth0/64", /not an IP address/],
  ];
  for (const [input, reason] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseCIDR(input),
        (err: unknown) => err instanceof InvalidCIDRError && reason.test(err.message),
      );
    });
  }
});

describe("canonical network check", () => {
  it("accepts network addresses", () => {
    assert.equal(isCanonicalCIDR("192.0.2.0/24"), true);
    assert.equal(isCanonicalCIDR("2001:db8::/32"), true);
    assert.equal(isCanonicalCIDR("203.0.113.9/32"), true);
    assert.equal(parseCanonicalCIDR("2001:db8::/32").network, parseIP("2001:db8::").value);
    assert.throws(() => parseCanonicalCIDR("2001:DB8::/32"), /did you mean '2001:db8::\/32'/);
    assert.throws(() => parseCanonicalCIDR("2001:db8:0::/32"), /did you mean '2001:db8::\/32'/);
  });
  it("rejects host bits with the network as a hint", () => {
    assert.equal(isCanonicalCIDR("192.0.2.1/24"), false);
    assert.throws(
      () => parseCanonicalCIDR("192.0.2.1/24"),
      (err: unknown) =>
        err instanceof NonCanonicalCIDRError &&
        err.canonical === "192.0.2.0/24" &&
        err.message === "CIDR '192.0.2.1/24' is not in canonical network form; did you mean '192.0.2.0/24'?",
    );
    assert.throws(() => parseCanonicalCIDR("2001:db8::1/64"), /did you mean '2001:db8::\/64'/);
  });
  it("isCanonicalCIDR also wants canonical spelling", () => {
    assert.equal(isCanonicalCIDR("2001:DB8::/32"), false);
  });
});

describe("containment and overlap", () => {
  it("contains", () => {
    const c = parseCIDR("192.0.2.0/25");
    assert.equal(cidrContainsIP(c, 4, parseIP("192.0.2.127").value), true);
    assert.equal(cidrContainsIP(c, 4, parseIP("192.0.2.128").value), false);
    assert.equal(cidrContainsIP(c, 6, parseIP("::c000:201").value), false);
  });
  it("overlap is containment either way", () => {
    assert.equal(cidrsOverlap(parseCIDR("192.0.2.0/24"), parseCIDR("192.0.2.128/25")), true);
    assert.equal(cidrsOverlap(parseCIDR("192.0.2.128/25"), parseCIDR("192.0.2.0/24")), true);
    assert.equal(cidrsOverlap(parseCIDR("192.0.2.0/25"), parseCIDR("192.0.2.128/25")), false);
    assert.equal(cidrsOverlap(parseCIDR("2001:db8::/32"), parseCIDR("192.0.2.0/24")), false);
  });
  it("formats the network", () => {
    assert.equal(formatCIDR(parseCIDR("192.0.2.9/24")), "192.0.2.0/24");
    assert.equal(formatCIDR(parseCIDR("2001:db8:0:0::1/48")), "2001:db8::/48");
  });
});
