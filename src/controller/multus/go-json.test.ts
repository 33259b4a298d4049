import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { asGoValue, GoMap, goJson } from "./go-json.ts";

describe("goJson: encoding/json's text", () => {
  const rows: [string, unknown, string][] = [
    ["struct order kept", { type: "x", master: "m", mtu: 0 }, '{"type":"x","master":"m","mtu":0}'],
    ["undefined fields left out", { a: 1, b: undefined }, '{"a":1}'],
    [
      "map keys sorted by bytes, digits as text",
      new GoMap({ b: 1, "10": 2, "9": 3, A: 4 }),
      '{"10":2,"9":3,"A":4,"b":1}',
    ],
    ["HTML characters escaped", "<a&b>", '"\\u003ca\\u0026b\\u003e"'],
    ["line and paragraph separators escaped", "\u2028\u2029", '"\\u2028\\u2029"'],
    [
      "parsed objects become maps, nested",
      asGoValue(JSON.parse('{"z":{"y":1,"x":[{"b":0,"a":0}]}}')),
      '{"z":{"x":[{"a":0,"b":0}],"y":1}}',
    ],
    ["null and booleans", [null, true, false], "[null,true,false]"],
  ];
  for (const [what, v, want] of rows) it(what, () => assert.equal(goJson(v), want));
});
