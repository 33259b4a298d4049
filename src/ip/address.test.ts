import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalIP, formatIP, isIPv4, isIPv6, parseIP, tryParseIP } from "./address.ts";
import { InvalidIPError } from "./errors.ts";

describe("parseIP: accepted forms", () => {
  const cases: Array<[string, 4 | 6, bigint, string]> = [
    ["0.0.0.0", 4, 0n, "0.0.0.0"],
    ["255.255.255.255", 4, 0xffffffffn, "255.255.255.255"],
    ["192.0.2.1", 4, 0xc0000201n, "192.0.2.1"],
    ["10.0.0.0", 4, 0x0a000000n, "10.0.0.0"],
    ["::", 6, 0n, "::"],
    ["::1", 6, 1n, "::1"],
    ["1::", 6, 1n << 112n, "1::"],
    ["2001:db8::1", 6, 0x20010db8000000000000000000000001n, "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", 6, 0x20010db8000000000000000000000001n, "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", 6, 0x20010db8000000000000000000000001n, "2001:db8::1"],
    // RFC 5952 4.2.2: a single zero group is not shortened.
    ["2001:db8:0:1:1:1:1:1", 6, 0x20010db8000000010001000100010001n, "2001:db8:0:1:1:1:1:1"],
    // RFC 5952 4.2.3: the first of two equally long runs is shortened.
    ["2001:db8:0:0:1:0:0:1", 6, 0x20010db8000000000001000000000001n, "2001:db8::1:0:0:1"],
    // RFC 5952 4.2.3: the longest run wins.
    ["1:0:0:2:0:0:0:3", 6, 0x00010000000000020000000000000003n, "1:0:0:2::3"],
    ["1:2:3:4:5:6:7::", 6, 0x00010002000300040005000600070000n, "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", 6, 0x00000002000300040005000600070008n, "0:2:3:4:5:6:7:8"],
    // IPv4-mapped: IPv6 family, written with a dotted tail (RFC 5952 section 5).
    ["::ffff:1.2.3.4", 6, 0xffff01020304n, "::ffff:1.2.3.4"],
    ["::FFFF:192.0.2.128", 6, 0xffffc0000280n, "::ffff:192.0.2.128"],
    ["0:0:0:0:0:ffff:c000:0201", 6, 0xffffc0000201n, "::ffff:192.0.2.1"],
    // IPv4-compatible (deprecated) stays hex: only ::ffff:0:0/96 gets the dotted tail.
    ["::1.2.3.4", 6, 0x01020304n, "::102:304"],
    ["64:ff9b::192.0.2.33", 6, 0x0064ff9b0000000000000000c0000221n, "64:ff9b::c000:221"],
    ["fd00::", 6, 0xfd00n << 112n, "fd00::"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6, (1n << 128n) - 1n, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ];
  for (const [input, family, value, text] of cases) {
    it(`${input} -> IPv${family} ${text}`, () => {
      const ip = parseIP(input);
      assert.equal(ip.family, family);
      assert.equal(ip.value, value);
      assert.equal(formatIP(ip.family, ip.value), text);
      assert.equal(canonicalIP(input), text);
    });
  }
});

describe("parseIP: rejected forms", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /empty string/],
    ["1.2.3.256", /greater than 255/],
    ["01.2.3.4", /leading zero/],
    ["1.2.3.04", /leading zero/],
    ["1.2.3", /4 parts/],
    ["1.2.3.4.5", /more than 4/],
    ["1.2.3.", /empty/],
    [".1.2.3", /empty/],
    ["1..2.3", /empty/],
    ["1.2.3.1000", /more than 3 digits/],
    [" 1.2.3.4", /unexpected character ' '/],
    ["1.2.3.4 ", /unexpected character ' '/],
    ["1.2.3.4/24", /unexpected character '\/'/],
    ["0x7f.0.0.1", /unexpected character 'x'/],
    ["1::2::3", /'::' appears more than once/],
    [":::", /unexpected character ':'/],
    ["1:2:3:4:5:6:7:8:9", /more than 8 groups/],
    ["1:2:3:4:5:6:7", /7 groups where 8 are needed/],
    ["1:2:3:4:5:6:7:8::", /more than 8 groups|at least one group/],
    ["1:2:3:4::5:6:7:8", /at least one group/],
    ["12345::1", /more than 4 hex digits/],
    [":1::", /leading ':'/],
    ["1:", /trailing ':'|too short/],
    ["1:2:3:4:5:6:7:", /trailing ':'/],
    ["g::1", /unexpected character 'g'/],
    ["::ffff:1.2.3", /embedded IPv4/],
    ["::ffff:01.2.3.4", /leading zero/],
    ["1:2:3:4:5:6:7:1.2.3.4", /does not fit/],
    ["1.2.3.4::", /unexpected character ':'/],
    ["fe80::1%eth0", /zone ids are not allowed/],
    [" ::1", /unexpected character ' '/],
    ["::1 ", /unexpected character ' '/],
  ];
  for (const [input, reason] of cases) {
    it(JSON.stringify(input), () => {
      assert.throws(
        () => parseIP(input),
        (err: unknown) => {
          assert.ok(err instanceof InvalidIPError);
          assert.equal(err.code, "ERR_INVALID_IP");
          assert.equal(err.input, input);
          assert.match(err.message, reason);
          return true;
        },
      );
      assert.equal(tryParseIP(input), undefined);
    });
  }
});

describe("zone ids", () => {
  it("are accepted for IPv6 only when allowed", () => {
    const ip = parseIP("fe80::1%eth0", { allowZone: true });
    assert.equal(ip.family, 6);
    assert.equal(ip.value, (0xfe80n << 112n) | 1n);
    assert.equal(ip.zone, "eth0");
  });
  it("are rejected on IPv4 and when empty", () => {
    assert.throws(() => parseIP("1.2.3.4%eth0", { allowZone: true }), /only to IPv6/);
    assert.throws(() => parseIP("fe80::1%", { allowZone: true }), /empty zone/);
  });
});

describe("family helpers", () => {
  it("classify", () => {
    assert.equal(isIPv4("192.0.2.1"), true);
    assert.equal(isIPv6("192.0.2.1"), false);
    assert.equal(isIPv6("::ffff:192.0.2.1"), true);
    assert.equal(isIPv4("::ffff:192.0.2.1"), false);
    assert.equal(isIPv4("nope"), false);
  });
  it("formatIP refuses out-of-range values", () => {
    assert.throws(() => formatIP(4, 1n << 32n), RangeError);
    assert.throws(() => formatIP(6, -1n), RangeError);
  });
});
