import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cappedInt64, hasLongDigitRun, int64, INT64_MAX, parseJson, sameInt, stringifyJson } from "./int64.ts";

describe("AC-49: exact int64 in JSON", () => {
  it("round-trips 9223372036854775807, -1 and 2^53+1 exactly", () => {
    const text = '{"max":9223372036854775807,"minusOne":-1,"above":9007199254740993,"min":-9223372036854775808}';
    const v = parseJson(text) as Record<string, unknown>;
    assert.equal(v["max"], 9223372036854775807n);
    assert.equal(v["minusOne"], -1);
    assert.equal(v["above"], 9007199254740993n);
    assert.equal(v["min"], -9223372036854775808n);
    assert.equal(stringifyJson(v), text);
  });

  it("leaves ordinary numbers as JSON.parse reads them", () => {
    const text =
      '{"a":0,"b":42,"c":-7,"d":1.5,"e":1e300,"f":9007199254740991,"g":-9007199254740991,"h":1.0,"i":12345678901234567.5,"s":"9223372036854775807"}';
    const v = parseJson(text);
    assert.deepEqual(v, JSON.parse(text));
    for (const x of Object.values(v as object)) assert.notEqual(typeof x, "bigint");
    assert.equal(stringifyJson(v), JSON.stringify(JSON.parse(text)));
  });

  it("finds them in nested objects and arrays", () => {
    const text =
      '{"status":{"totalIPCount":9223372036854775807,"allocatedIPCount":2},"items":[[18446744073709551616,3],{"x":[-9007199254740993]}]}';
    const v = parseJson(text) as {
      status: { totalIPCount: unknown; allocatedIPCount: unknown };
      items: [[unknown, unknown], { x: [unknown] }];
    };
    assert.equal(v.status.totalIPCount, INT64_MAX);
    assert.equal(v.status.allocatedIPCount, 2);
    assert.equal(v.items[0][0], 18446744073709551616n);
    assert.equal(v.items[0][1], 3);
    assert.equal(v.items[1].x[0], -9007199254740993n);
    assert.equal(stringifyJson(v), text);
    assert.equal(
      stringifyJson({ status: v.status }, 2),
      '{\n  "status": {\n    "totalIPCount": 9223372036854775807,\n    "allocatedIPCount": 2\n  }\n}',
    );
  });

  it("survives structuredClone, and compares by value", () => {
    const v = parseJson('{"n":9223372036854775807}') as { n: bigint };
    assert.equal(structuredClone(v).n, v.n);
    assert.ok(structuredClone(v).n === parseJson("9223372036854775807"));
    assert.ok(sameInt(9223372036854775807n, 9223372036854775807n));
    assert.ok(sameInt(2, 2n));
    assert.ok(!sameInt(9223372036854775807n, 9223372036854775807), "the double is 2^63, not 2^63-1");
    assert.ok(!sameInt(1, 2));
    assert.ok(!sameInt(undefined, 0));
    assert.ok(sameInt(undefined, undefined));
    assert.ok(!sameInt(1.5, 1n));
  });

  it("int64 and cappedInt64 give the canonical form: a number while it is a safe integer", () => {
    assert.equal(int64(5n), 5);
    assert.equal(int64(9007199254740991n), 9007199254740991);
    assert.equal(int64(-9007199254740991n), -9007199254740991);
    assert.equal(int64(9007199254740992n), 9007199254740992n);
    assert.equal(int64(7), 7);
    assert.equal(cappedInt64(2n ** 70n), INT64_MAX);
    assert.equal(cappedInt64(INT64_MAX), INT64_MAX);
    assert.equal(cappedInt64(41n), 41);
    assert.equal(stringifyJson({ n: cappedInt64(2n ** 64n) }), '{"n":9223372036854775807}');
  });

  it("stringifies what JSON.stringify does when no bigint is inside, and throws what it throws", () => {
    assert.equal(stringifyJson(undefined), undefined);
    assert.equal(stringifyJson("x"), '"x"');
    assert.equal(stringifyJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
    const circular: Record<string, unknown> = { n: 1n };
    circular["self"] = circular;
    assert.throws(() => stringifyJson(circular), TypeError);
  });

  it("hasLongDigitRun finds every run of 16 digits, wherever it lies", () => {
    assert.ok(!hasLongDigitRun(""));
    assert.ok(!hasLongDigitRun("123456789012345"));
    assert.ok(hasLongDigitRun("1234567890123456"));
    assert.ok(hasLongDigitRun(`${"x".repeat(17)}9007199254740993`));
    assert.ok(!hasLongDigitRun(`${"1".repeat(15)}x${"2".repeat(15)}`));
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let k = 0; k < 3000; k++) {
      let t = "";
      const len = rand(80);
      for (let i = 0; i < len; i++) t += rand(10) < 9 ? String(rand(10)) : ",";
      assert.equal(hasLongDigitRun(t), /[0-9]{16}/.test(t), t);
    }
  });

  it("rejects what JSON.parse rejects", () => {
    assert.throws(() => parseJson("{"), SyntaxError);
    assert.throws(() => parseJson('{"a":9223372036854775807'), SyntaxError);
  });
});
