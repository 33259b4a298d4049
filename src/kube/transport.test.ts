import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headerValues } from "./transport.ts";

describe("headerValues", () => {
  it("returns every value of a header in order, whatever the case of its name, commas kept", () => {
    const raw = [
      "Content-Type",
      "application/json",
      "Warning",
      '299 - "spec.foo: unknown field, ignored"',
      "warning",
      '299 - "second"',
      "Retry-After",
      "3",
    ];
    assert.deepEqual(headerValues(raw, "warning"), ['299 - "spec.foo: unknown field, ignored"', '299 - "second"']);
    assert.deepEqual(headerValues(raw, "retry-after"), ["3"]);
    assert.deepEqual(headerValues(raw, "x-missing"), []);
    // A name that only shares a prefix is another header.
    assert.deepEqual(headerValues(["Warnings", "x"], "warning"), []);
  });
});
