import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidAnnotationError } from "./errors.ts";
import {
  parseDefaultRouteNic,
  parseIPPoolAnnotation,
  parseIPPoolsAnnotation,
  parseNamespaceDefaultPools,
  parsePoolIPNumber,
  parsePoolReclaim,
  parseRoutesAnnotation,
  parseSubnetAnnotation,
  parseSubnetsAnnotation,
} from "./pod.ts";

/** Asserts the exact message and the error's fields. */
function rejects(fn: () => unknown, message: string, annotation: string, part?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidAnnotationError, `not an InvalidAnnotationError: ${String(err)}`);
    assert.equal(err.code, "ERR_INVALID_ANNOTATION");
    assert.equal(err.message, message);
    assert.equal(err.annotation, annotation);
    if (part !== undefined) assert.equal(err.part, part);
    return true;
  });
}

const IPPOOL = "ipam.spidernet.io/ippool";
const IPPOOLS = "ipam.spidernet.io/ippools";
const ROUTES = "ipam.spidernet.io/routes";
const P = (a: string): string => `wrong input, invalid format of Pod annotation '${a}': `;

describe("ipam.spidernet.io/ippool", () => {
  it("valid: both families, wildcards", () => {
    assert.deepEqual(parseIPPoolAnnotation('{"ipv4":["p1","p2*"],"ipv6":["p6"]}'), {
      ipv4: ["p1", "p2*"],
      ipv6: ["p6"],
    });
  });
  it("keys match case-insensitively and unknown keys are ignored, as Go encoding/json", () => {
    assert.deepEqual(parseIPPoolAnnotation('{"IPv4":["a"],"extra":1}'), { ipv4: ["a"], ipv6: [] });
    assert.deepEqual(parseIPPoolAnnotation('{"ipv4":["a"],"IPV4":["b"]}'), { ipv4: ["b"], ipv6: [] });
  });
  it("AC-13: only unknown keys gives no pools, not an error", () => {
    assert.deepEqual(parseIPPoolAnnotation('{"v4":["a"]}'), { ipv4: [], ipv6: [] });
  });
  it("invalid JSON", () => {
    rejects(
      () => parseIPPoolAnnotation("{ipv4:"),
      `${P(IPPOOL)}invalid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
      IPPOOL,
      "value",
    );
  });
  it("not an object", () => {
    rejects(() => parseIPPoolAnnotation('["a"]'), `${P(IPPOOL)}expected an object, got a list`, IPPOOL, "value");
  });
  it("wrong field type", () => {
    rejects(
      () => parseIPPoolAnnotation('{"ipv4":"p1"}'),
      `${P(IPPOOL)}ipv4: expected a list of strings, got string "p1"`,
      IPPOOL,
      "ipv4",
    );
    rejects(
      () => parseIPPoolAnnotation('{"ipv4":["a",3]}'),
      `${P(IPPOOL)}ipv4[1]: expected a string, got number 3`,
      IPPOOL,
      "ipv4[1]",
    );
  });
  it("empty name and bad wildcard", () => {
    rejects(() => parseIPPoolAnnotation('{"ipv4":[""]}'), `${P(IPPOOL)}ipv4[0]: a pool name must not be empty`, IPPOOL);
    rejects(
      () => parseIPPoolAnnotation('{"ipv6":["p[a-"]}'),
      `${P(IPPOOL)}ipv6[0]: bad wildcard pattern 'p[a-': unclosed '['`,
      IPPOOL,
      "ipv6[0]",
    );
  });
});

describe("ipam.spidernet.io/ippools", () => {
  it("valid, named", () => {
    const v = parseIPPoolsAnnotation(
      '[{"interface":"eth0","ipv4":["a"],"ipv6":["a6"]},{"interface":"net1","ipv4":["b"],"cleangateway":true}]',
      "net1",
    );
    assert.deepEqual(v, {
      named: true,
      items: [
        { interface: "eth0", ipv4: ["a"], ipv6: ["a6"], cleanGateway: false },
        { interface: "net1", ipv4: ["b"], ipv6: [], cleanGateway: true },
      ],
    });
  });
  it("valid, no-name mode numbers the NICs", () => {
    const v = parseIPPoolsAnnotation('[{"ipv4":["default"]},{"ipv4":["b"],"cleanGateway":true}]', "eth0");
    assert.equal(v.named, false);
    assert.deepEqual(
      v.items.map((i) => [i.interface, i.cleanGateway]),
      [
        ["0", false],
        ["1", true],
      ],
    );
  });
  it("empty list", () => {
    rejects(() => parseIPPoolsAnnotation("[]"), `${P(IPPOOLS)}value requires at least one item`, IPPOOLS);
  });
  it("mixed named and unnamed", () => {
    rejects(
      () => parseIPPoolsAnnotation('[{"interface":"eth0","ipv4":["a"]},{"ipv4":["b"]}]'),
      `${P(IPPOOLS)}NIC should be either all specified or all unspecified`,
      IPPOOLS,
    );
  });
  it("duplicate interface", () => {
    rejects(
      () => parseIPPoolsAnnotation('[{"interface":"eth0","ipv4":["a"]},{"interface":"eth0","ipv4":["b"]}]'),
      `${P(IPPOOLS)}duplicate interface eth0`,
      IPPOOLS,
      "[1].interface",
    );
  });
  it("AC-14: the current NIC must be listed", () => {
    rejects(
      () => parseIPPoolsAnnotation('[{"interface":"net1","ipv4":["a"]}]', "eth0"),
      `${P(IPPOOLS)}interface eth0 must be specified`,
      IPPOOLS,
    );
  });
  it("AC-12: invalid JSON names the annotation", () => {
    assert.throws(
      () => parseIPPoolsAnnotation('[{"interface":"eth0","cleanGateway": IPamErrRouteBool}]'),
      /invalid format of Pod annotation 'ipam.spidernet.io\/ippools'/,
    );
  });
  it("wrong types", () => {
    rejects(
      () => parseIPPoolsAnnotation('{"interface":"eth0"}'),
      `${P(IPPOOLS)}expected a list, got an object`,
      IPPOOLS,
    );
    rejects(
      () => parseIPPoolsAnnotation('[{"interface":"eth0","cleangateway":"yes"}]'),
      `${P(IPPOOLS)}[0].cleangateway: expected true or false, got string "yes"`,
      IPPOOLS,
      "[0].cleangateway",
    );
    rejects(
      () => parseIPPoolsAnnotation('["eth0"]'),
      `${P(IPPOOLS)}[0]: expected an object, got string "eth0"`,
      IPPOOLS,
    );
  });
});

describe("ipam.spidernet.io/routes", () => {
  it("valid, both families", () => {
    assert.deepEqual(
      parseRoutesAnnotation(
        '[{"dst":"198.51.100.0/24","gw":"192.0.2.1"},{"dst":"2001:db8:1::/64","gw":"2001:db8::1"}]',
      ),
      [
        { dst: "198.51.100.0/24", gw: "192.0.2.1" },
        { dst: "2001:db8:1::/64", gw: "2001:db8::1" },
      ],
    );
    assert.deepEqual(parseRoutesAnnotation("[]"), []);
  });
  const R = (dst: string, gw: string, why: string): string =>
    `${P(ROUTES)}invalid route format 'dst: ${dst}, gw: ${gw}': ${why}`;
  it("dst not a CIDR", () => {
    rejects(
      () => parseRoutesAnnotation('[{"dst":"198.51.100.0","gw":"192.0.2.1"}]'),
      R("198.51.100.0", "192.0.2.1", "dst must be a CIDR such as 198.51.100.0/24"),
      ROUTES,
      "[0]",
    );
  });
  it("gw not an IP", () => {
    rejects(
      () => parseRoutesAnnotation('[{"dst":"198.51.100.0/24","gw":"gw"}]'),
      R("198.51.100.0/24", "gw", "gw must be an IP address"),
      ROUTES,
    );
  });
  it("mixed families", () => {
    rejects(
      () => parseRoutesAnnotation('[{"dst":"198.51.100.0/24","gw":"2001:db8::1"}]'),
      R("198.51.100.0/24", "2001:db8::1", "dst and gw must be of the same IP family"),
      ROUTES,
    );
  });
  it("host bits in dst", () => {
    rejects(
      () => parseRoutesAnnotation('[{"dst":"198.51.100.1/24","gw":"192.0.2.1"}]'),
      R("198.51.100.1/24", "192.0.2.1", "dst has host bits set"),
      ROUTES,
    );
  });
  it("missing fields and wrong shapes", () => {
    rejects(
      () => parseRoutesAnnotation('[{"dst":"198.51.100.0/24"}]'),
      R("198.51.100.0/24", "", "gw must be an IP address"),
      ROUTES,
    );
    rejects(() => parseRoutesAnnotation('{"dst":"x"}'), `${P(ROUTES)}expected a list, got an object`, ROUTES);
  });
});

describe("ipam.spidernet.io/subnet and subnets", () => {
  it("valid single; interface defaults to eth0; only the first name counts", () => {
    assert.deepEqual(parseSubnetAnnotation('{"ipv4":["s4","other"],"ipv6":["s6"]}'), {
      interface: "eth0",
      ipv4: "s4",
      ipv6: "s6",
    });
    assert.deepEqual(parseSubnetAnnotation('{"interface":"net1","ipv6":["s6"]}'), { interface: "net1", ipv6: "s6" });
  });
  it("single: empty names and dual empty", () => {
    rejects(
      () => parseSubnetAnnotation('{"ipv4":[""]}'),
      `it's invalid to set an empty IPv4 subnet with single interface: {"ipv4":[""]}`,
      "ipam.spidernet.io/subnet",
    );
    rejects(
      () => parseSubnetAnnotation('{"ipv6":[""]}'),
      `it's invalid to set an empty IPv6 subnet with single interface: {"ipv6":[""]}`,
      "ipam.spidernet.io/subnet",
    );
    rejects(
      () => parseSubnetAnnotation('{"interface":"eth0"}'),
      `it's invalid to set dual empty subnet with single interface: {"interface":"eth0"}`,
      "ipam.spidernet.io/subnet",
    );
  });
  it("valid multiple", () => {
    assert.deepEqual(
      parseSubnetsAnnotation(
        '[{"interface":"eth0","ipv4":["s4a"],"ipv6":["s6a"]},{"interface":"net1","ipv4":["s4b"]}]',
      ),
      [
        { interface: "eth0", ipv4: "s4a", ipv6: "s6a" },
        { interface: "net1", ipv4: "s4b" },
      ],
    );
  });
  it("multiple: upstream's texts", () => {
    const S = "ipam.spidernet.io/subnets";
    rejects(
      () => parseSubnetsAnnotation('[{"interface":"eth0","ipv4":[""]}]'),
      "it's invalid to set an empty IPv4 subnet with mutilple interfaces",
      S,
    );
    rejects(
      () => parseSubnetsAnnotation('[{"interface":"eth0"}]'),
      `it's invalid to set dual empty subnet with multiple interfaces: {"interface":"eth0"}`,
      S,
    );
    rejects(
      () => parseSubnetsAnnotation('[{"interface":"eth0","ipv4":["a"]},{"interface":"net1","ipv4":["a"]}]'),
      `it's invalid to use the same subnet for multiple interfaces: {"interface":"net1","ipv4":"a"}`,
      S,
    );
    rejects(
      () => parseSubnetsAnnotation('[{"interface":"eth0","ipv4":["a"]},{"interface":"eth0","ipv4":["b"]}]'),
      `it's invalid to use the same Interface name for multiple interfaces: {"interface":"eth0","ipv4":"b"}`,
      S,
    );
    rejects(() => parseSubnetsAnnotation("[]"), `${P(S)}value requires at least one item`, S);
    rejects(
      () => parseSubnetsAnnotation('[{"ipv4":["a"]}]'),
      `${P(S)}[0].interface: each item needs an interface name`,
      S,
      "[0].interface",
    );
  });
});

describe("ipam.spidernet.io/ippool-ip-number", () => {
  it("fixed and flexible", () => {
    assert.deepEqual(parsePoolIPNumber("3"), { flexible: false, n: 3 });
    assert.deepEqual(parsePoolIPNumber("+2"), { flexible: true, n: 2 });
    assert.deepEqual(parsePoolIPNumber("+0"), { flexible: true, n: 0 });
    assert.deepEqual(parsePoolIPNumber("0"), { flexible: false, n: 0 });
  });
  it("negative", () => {
    for (const v of ["-1", "+-3"]) {
      rejects(
        () => parsePoolIPNumber(v),
        "subnet 'ipam.spidernet.io/ippool-ip-number' value must equal or greater than 0",
        "ipam.spidernet.io/ippool-ip-number",
      );
    }
  });
  it("not a number, more than one '+', spaces", () => {
    for (const v of ["abc", "++3", "3+", "+", "", " 3", "1.5", "99999999999999999999"]) {
      rejects(
        () => parsePoolIPNumber(v),
        `invalid input '${v}' of annotation 'ipam.spidernet.io/ippool-ip-number': expected a non-negative integer 'N' or '+N'`,
        "ipam.spidernet.io/ippool-ip-number",
      );
    }
  });
});

describe("ipam.spidernet.io/ippool-reclaim", () => {
  it("Go ParseBool values; absent means true", () => {
    assert.equal(parsePoolReclaim(undefined), true);
    for (const v of ["1", "t", "T", "true", "TRUE", "True"]) assert.equal(parsePoolReclaim(v), true);
    for (const v of ["0", "f", "F", "false", "FALSE", "False"]) assert.equal(parsePoolReclaim(v), false);
  });
  it("anything else", () => {
    for (const v of ["yes", "", "tRuE"]) {
      rejects(
        () => parsePoolReclaim(v),
        `invalid value '${v}' of annotation 'ipam.spidernet.io/ippool-reclaim': expected true or false`,
        "ipam.spidernet.io/ippool-reclaim",
      );
    }
  });
});

describe("ipam.spidernet.io/default-route-nic", () => {
  it("valid", () => assert.equal(parseDefaultRouteNic("net1"), "net1"));
  const A = "ipam.spidernet.io/default-route-nic";
  const cases: Array<[string, string]> = [
    ["", "an interface name must not be empty"],
    ["a-very-long-nic-name", "an interface name has at most 15 bytes"],
    ["eth/0", "an interface name has no '/', ':' or whitespace"],
    ["eth 0", "an interface name has no '/', ':' or whitespace"],
    ["..", "'.' and '..' are not interface names"],
  ];
  for (const [v, why] of cases) {
    it(`rejects ${JSON.stringify(v)}`, () => rejects(() => parseDefaultRouteNic(v), `${P(A)}'${v}': ${why}`, A));
  }
});

describe("namespace default pools", () => {
  const A4 = "ipam.spidernet.io/default-ipv4-ippool";
  const NS = `wrong input, invalid format of Namespace annotation '${A4}': `;
  it("valid", () => {
    assert.deepEqual(parseNamespaceDefaultPools(A4, '["ns-v4-a","ns-v4-*"]'), ["ns-v4-a", "ns-v4-*"]);
    assert.deepEqual(parseNamespaceDefaultPools("ipam.spidernet.io/default-ipv6-ippool", "[]"), []);
  });
  it("invalid JSON, not a list, not strings, empty names", () => {
    rejects(
      () => parseNamespaceDefaultPools(A4, "ns-v4-a"),
      `${NS}invalid JSON: Unexpected token 's', "ns-v4-a" is not valid JSON`,
      A4,
    );
    rejects(() => parseNamespaceDefaultPools(A4, '"a"'), `${NS}expected a list, got string "a"`, A4);
    rejects(() => parseNamespaceDefaultPools(A4, "[1]"), `${NS}[0]: expected a pool name, got number 1`, A4, "[0]");
    rejects(() => parseNamespaceDefaultPools(A4, '["a",""]'), `${NS}[1]: a pool name must not be empty`, A4, "[1]");
  });
});

describe("every rejection path, with its exact text", () => {
  const SUB = "ipam.spidernet.io/subnet";
  const SUBS = "ipam.spidernet.io/subnets";
  const rows: Array<[string, () => unknown, string, string]> = [
    [
      IPPOOLS,
      () => parseIPPoolsAnnotation('[{"ipv4":[""]}]'),
      `${P(IPPOOLS)}[0].ipv4[0]: a pool name must not be empty`,
      "[0].ipv4[0]",
    ],
    [
      IPPOOLS,
      () => parseIPPoolsAnnotation('[{"ipv6":["x["]}]'),
      `${P(IPPOOLS)}[0].ipv6[0]: bad wildcard pattern 'x[': unclosed '['`,
      "[0].ipv6[0]",
    ],
    [
      IPPOOLS,
      () => parseIPPoolsAnnotation('[{"interface":3}]'),
      `${P(IPPOOLS)}[0].interface: expected a string, got number 3`,
      "[0].interface",
    ],
    [IPPOOLS, () => parseIPPoolsAnnotation("null"), `${P(IPPOOLS)}value requires at least one item`, "value"],
    [
      ROUTES,
      () => parseRoutesAnnotation("[{"),
      `${P(ROUTES)}invalid JSON: Expected property name or '}' in JSON at position 2 (line 1 column 3)`,
      "value",
    ],
    [ROUTES, () => parseRoutesAnnotation('["x"]'), `${P(ROUTES)}[0]: expected an object, got string "x"`, "[0]"],
    [
      ROUTES,
      () => parseRoutesAnnotation('[{"dst":1,"gw":"192.0.2.1"}]'),
      `${P(ROUTES)}[0].dst: expected a string, got number 1`,
      "[0].dst",
    ],
    [
      SUB,
      () => parseSubnetAnnotation("{"),
      `${P(SUB)}invalid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
      "value",
    ],
    [SUB, () => parseSubnetAnnotation('["s4"]'), `${P(SUB)}expected an object, got a list`, "value"],
    [
      SUB,
      () => parseSubnetAnnotation('{"ipv4":"s4"}'),
      `${P(SUB)}ipv4: expected a list of strings, got string "s4"`,
      "ipv4",
    ],
    [SUBS, () => parseSubnetsAnnotation('{"interface":"eth0"}'), `${P(SUBS)}expected a list, got an object`, "value"],
    [
      SUBS,
      () => parseSubnetsAnnotation('[{"interface":"eth0","ipv6":[""]}]'),
      "it's invalid to set an empty IPv6 subnet with mutilple interfaces",
      "[0].ipv6",
    ],
  ];
  for (const [annotation, fn, message, part] of rows) {
    it(message, () => rejects(fn, message, annotation, part));
  }
});

describe("Go encoding/json null semantics", () => {
  it("a null object is the zero value; a null list resets the field; [null] items are empty items", () => {
    assert.deepEqual(parseIPPoolAnnotation("null"), { ipv4: [], ipv6: [] });
    assert.deepEqual(parseIPPoolAnnotation('{"ipv4":["a"],"IPV4":null}'), { ipv4: [], ipv6: [] });
    assert.deepEqual(parseIPPoolsAnnotation("[null]").items, [
      { interface: "0", ipv4: [], ipv6: [], cleanGateway: false },
    ]);
    assert.deepEqual(parseRoutesAnnotation("null"), []);
  });
  it("-0 is zero", () => assert.deepEqual(parsePoolIPNumber("-0"), { flexible: false, n: 0 }));
});
