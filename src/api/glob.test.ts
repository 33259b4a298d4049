import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BadGlobPatternError, compileGlob, expandNames, isGlob } from "./glob.ts";

describe("Go filepath.Match wildcards", () => {
  const cases: Array<[string, string, boolean]> = [
    ["pool-*", "pool-a", true],
    ["pool-*", "pool-", true],
    ["pool-*", "xpool-a", false],
    ["p?", "p1", true],
    ["p?", "p12", false],
    ["v4-[a-c]", "v4-b", true],
    ["v4-[a-c]", "v4-d", false],
    ["v4-[^a-c]", "v4-d", true],
    ["v4-[^a-c]", "v4-a", false],
    ["a\\*", "a*", true],
    ["a\\*", "ab", false],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["[z-a]x", "bx", false],
  ];
  for (const [p, name, want] of cases) {
    it(`${p} ${want ? "matches" : "does not match"} ${name}`, () => assert.equal(compileGlob(p).matches(name), want));
  }
  for (const [p, reason] of [
    ["p[", "unclosed '['"],
    ["p[a-", "unclosed '['"],
    ["p[]a]", "']' must be escaped inside [...]"],
    ["p[-a]", "'-' must be escaped inside [...]"],
    ["p\\", "trailing '\\'"],
  ] as const) {
    it(`rejects ${p}`, () => {
      assert.throws(
        () => compileGlob(p),
        (e: unknown) => e instanceof BadGlobPatternError && e.message === `bad wildcard pattern '${p}': ${reason}`,
      );
    });
  }
  it("expands in list order, plain names kept", () => {
    assert.equal(isGlob("plain"), false);
    assert.deepEqual(expandNames(["b", "a*", "zz"], ["a2", "b", "a1"]), ["b", "a2", "a1", "zz"]);
  });
});
