import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseJson } from "../api/int64.ts";
import { memberBytes, memberJson, memberJsonIn } from "./json-scan.ts";
import { joined, lines } from "./transport.ts";

const buf = (v: unknown, space?: number): Buffer => Buffer.from(JSON.stringify(v, undefined, space));

describe("memberBytes", () => {
  it("finds a member at any depth, in any order, with any spacing, as JSON.parse would read it", () => {
    const key = fc.string({ maxLength: 6 });
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })),
        fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })),
        key,
        key,
        fc.constantFrom(undefined, 0, 2),
        (outer, inner, k1, k2, space) => {
          const doc = { ...outer, [k1]: { ...inner } };
          const b = buf(doc, space);
          const whole = parseJson(b.toString()) as Record<string, unknown>;
          assert.deepEqual(memberJson(b, [k1]), whole[k1]);
          const nested = (whole[k1] as Record<string, unknown>)[k2];
          assert.deepEqual(memberJson(b, [k1, k2]), nested);
          for (const k of Object.keys(whole)) assert.deepEqual(memberJson(b, [k]), whole[k]);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("skips strings full of escaped quotes and backslashes", () => {
    const records = JSON.stringify({ "2001:db8::2": { pod: 'ns/a"b', podUid: "u\\" } });
    const b = buf({ status: { allocatedIPs: `${records}\\"\\\\`, n: 1 }, metadata: { resourceVersion: "7" } });
    assert.deepEqual(memberJson(b, ["metadata"]), { resourceVersion: "7" });
    assert.equal(memberJson(b, ["status", "n"]), 1);
    assert.equal(memberBytes(b, ["status", "missing"]), undefined);
    assert.equal(memberBytes(b, ["absent", "x"]), undefined);
  });

  it("reads member names with escapes and non-ASCII text", () => {
    const b = buf({ 'a"b': 1, "é\n": { x: [1, "}"] } });
    assert.equal(memberJson(b, ['a"b']), 1);
    assert.deepEqual(memberJson(b, ["é\n", "x"]), [1, "}"]);
  });

  it("refuses what is not an object on the path, or is cut short", () => {
    assert.throws(() => memberBytes(Buffer.from("[1]"), ["a"]), SyntaxError);
    assert.throws(() => memberBytes(Buffer.from('{"a":"unterminated'), ["b"]), SyntaxError);
    assert.throws(() => memberBytes(Buffer.from('{"a":{"b":1'), ["c"]), SyntaxError);
    assert.throws(() => memberBytes(Buffer.from('{"a" 1}'), ["a"]), SyntaxError);
  });
});

describe("memberJsonIn", () => {
  it("reads a member from the pieces a document arrived in, wherever they are cut", () => {
    const doc = {
      type: "MODIFIED",
      object: { metadata: { name: "p", resourceVersion: "9" }, status: { s: "x".repeat(50) } },
    };
    const all = buf(doc);
    for (let cut = 1; cut < all.length; cut++) {
      const parts = [all.subarray(0, cut), all.subarray(cut)];
      assert.equal(memberJsonIn(parts, ["type"]), "MODIFIED");
      assert.deepEqual(memberJsonIn(parts, ["object", "metadata"]), doc.object.metadata);
      assert.equal(memberJsonIn(parts, ["object", "missing"]), undefined);
    }
    assert.throws(() => memberJsonIn([], ["a"]), SyntaxError);
    assert.throws(() => memberJsonIn([Buffer.from('{"a":'), Buffer.from("[1,")], ["a"]), SyntaxError);
  });
});

describe("lines", () => {
  it("gives every newline-terminated record whole, however the bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 8 }),
        fc.array(fc.nat({ max: 50 }), { maxLength: 10 }),
        async (records, cuts) => {
          const text = records.map((r) => `${JSON.stringify(r)}\n`).join("");
          const all = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
          async function* chunks(): AsyncGenerator<Buffer> {
            let at = 0;
            for (const p of [...points, all.length]) {
              if (p > at) yield all.subarray(at, p);
              at = p;
            }
          }
          const got: string[] = [];
          for await (const l of lines(chunks())) got.push(JSON.parse(joined(l).toString("utf8")) as string);
          assert.deepEqual(got, records);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives a last record that has no newline", async () => {
    async function* chunks(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"a":1}\n{"b"');
      yield Buffer.from(":2}");
    }
    const got: string[] = [];
    for await (const l of lines(chunks())) got.push(joined(l).toString());
    assert.deepEqual(got, ['{"a":1}', '{"b":2}']);
  });
});
