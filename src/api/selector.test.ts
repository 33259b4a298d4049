import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatSelector,
  InvalidSelectorError,
  matchesLabelSelector,
  matchesRequirements,
  parseSelector,
  requirementsOf,
} from "./selector.ts";

const L = { app: "web", tier: "front", "ipam.spidernet.io/app-name": "web", n: "5" };

describe("string selectors", () => {
  const cases: Array<[string, boolean]> = [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app=db", false],
    ["missing!=x", true],
    ["app in (web,db)", true],
    ["app in (db)", false],
    ["app notin (db, cache)", true],
    ["missing notin (x)", true],
    ["tier", true],
    ["!tier", false],
    ["!missing", true],
    ["app=web,tier=front", true],
    ["app=web, tier=back", false],
    ["ipam.spidernet.io/app-name=web", true],
    ["n>3", true],
    ["n<3", false],
    ["missing=", false],
  ];
  for (const [sel, want] of cases) {
    it(`${JSON.stringify(sel)} -> ${want}`, () => assert.equal(matchesRequirements(parseSelector(sel), L), want));
  }
  for (const [sel, reason] of [
    ["app=web,", "trailing ','"],
    ["app in web", "expected '(' after 'in'"],
    ["app in (web", "unclosed '(' in 'in'"],
    ["app in ()", "'in' needs at least one value"],
    ["-bad=x", "key '-bad'"],
    ["a=b c", "expected ',' but found 'c'"],
    ["app=" + "x".repeat(64), "must be at most 63 characters"],
    ["n>x", "'>' needs an integer value"],
  ] as const) {
    it(`rejects ${JSON.stringify(sel)}`, () => {
      assert.throws(
        () => parseSelector(sel),
        (e: unknown) => e instanceof InvalidSelectorError && e.message.includes(reason),
      );
    });
  }
});

describe("LabelSelector objects", () => {
  it("matchLabels and matchExpressions are ANDed; empty matches everything", () => {
    assert.equal(matchesLabelSelector({}, L), true);
    assert.equal(
      matchesLabelSelector(
        { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["front"] }] },
        L,
      ),
      true,
    );
    assert.equal(matchesLabelSelector({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, L), false);
  });
  it("rejects bad operators and values", () => {
    assert.throws(
      () => requirementsOf({ matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] }),
      /operator 'Gt'/,
    );
    assert.throws(() => requirementsOf({ matchExpressions: [{ key: "a", operator: "In" }] }), /In needs values/);
    assert.throws(
      () => requirementsOf({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }),
      /takes no values/,
    );
    assert.throws(() => requirementsOf({ matchLabels: { a: "bad value" } }), /matchLabels\['a'\]/);
  });
  it("formats to a string that parses to the same requirements", () => {
    const sel = {
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "NotIn", values: ["db", "cache"] },
        { key: "x", operator: "Exists" },
      ],
    };
    const s = formatSelector(sel);
    assert.equal(s, "app=web,tier notin (db,cache),x");
    assert.deepEqual(parseSelector(s), requirementsOf(sel));
  });
});
