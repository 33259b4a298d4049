// JSON patch `test` as kube-apiserver's json-patch library answers it (issue 20).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonPatch, PatchError } from "./patch.ts";

const DOC = { metadata: { name: "p", labels: { a: "1" } }, spec: { list: ["x"], nothing: null } };

describe("JSON patch test operation", () => {
  const cases: Array<{ name: string; op: Record<string, unknown>; ok: boolean }> = [
    { name: "equal value", op: { op: "test", path: "/metadata/name", value: "p" }, ok: true },
    { name: "different value", op: { op: "test", path: "/metadata/name", value: "q" }, ok: false },
    { name: "null against a missing member", op: { op: "test", path: "/metadata/annotations", value: null }, ok: true },
    { name: "no value against a missing member", op: { op: "test", path: "/metadata/annotations" }, ok: true },
    { name: "null against a null member", op: { op: "test", path: "/spec/nothing", value: null }, ok: true },
    { name: "null against a present member", op: { op: "test", path: "/metadata/name", value: null }, ok: false },
    {
      name: "a value against a missing member",
      op: { op: "test", path: "/metadata/annotations", value: {} },
      ok: false,
    },
    { name: "null under a missing parent", op: { op: "test", path: "/status/phase", value: null }, ok: false },
    { name: "null beyond an array", op: { op: "test", path: "/spec/list/3", value: null }, ok: false },
    { name: "an array element", op: { op: "test", path: "/spec/list/0", value: "x" }, ok: true },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ok ? "passes" : "fails"}`, () => {
      if (c.ok) assert.deepEqual(jsonPatch(DOC, [c.op]), DOC);
      else assert.throws(() => jsonPatch(DOC, [c.op]), PatchError);
    });
  }

  it("a test for null then an add, as client-go callers send it", () => {
    const out = jsonPatch(DOC, [
      { op: "test", path: "/metadata/annotations", value: null },
      { op: "add", path: "/metadata/annotations", value: { k: "v" } },
    ]) as typeof DOC & { metadata: { annotations?: unknown } };
    assert.deepEqual(out.metadata.annotations, { k: "v" });
  });
});
