import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renamedErrorClasses } from "./bundle-names.ts";

describe("renamedErrorClasses", () => {
  it("finds an error class bundled under another name, and passes the ones that keep theirs", () => {
    const bundle =
      "var SpiderpoolError=class extends Error{};var ApiError=class _ApiError extends SpiderpoolError{static from(){return new _ApiError}};" +
      "var Pair=class _Pair{};class NotFoundError2 extends Error{};var KubeConfigError=class extends SpiderpoolError{};" +
      "var DecodeError3=class extends Error{};class HttpError extends Error{}";
    assert.deepEqual(renamedErrorClasses(bundle), ["ApiError (as _ApiError)", "NotFoundError2", "DecodeError3"]);
    assert.deepEqual(renamedErrorClasses("var ApiError=class extends SpiderpoolError{};var Pair=class _Pair{}"), []);
  });
});
