import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Clock } from "./clock.ts";
import { ApiError, TransportError } from "./errors.ts";
import { ApiRetriesExhaustedError, retryTransient } from "./retry.ts";

const api = (status: number, retryAfter?: string): ApiError => ApiError.from("PUT", "/x", status, {}, retryAfter);

function clock(): Pick<Clock, "sleep"> & { slept: number[] } {
  const slept: number[] = [];
  return { slept, sleep: async (ms) => void slept.push(ms) };
}

describe("retryTransient", () => {
  const budget = { attempts: 4, initialMs: 10, maxMs: 100, random: () => 1 };

  for (const [name, err] of [
    ["500", api(500)],
    ["429", api(429)],
    ["503", api(503)],
    ["504", api(504)],
    ["no answer", new TransportError("GET", "/x", new Error("no answer within 30000 ms"))],
  ] as const) {
    it(`${name} is tried again, and the answer after it is returned`, async () => {
      const c = clock();
      let calls = 0;
      const out = await retryTransient(
        "op",
        async () => {
          if (calls++ === 0) throw err;
          return "ok";
        },
        { ...budget, clock: c },
      );
      assert.equal(out, "ok");
      assert.equal(calls, 2);
      assert.deepEqual(c.slept, [10]);
    });
  }

  for (const [name, err] of [
    ["409", api(409)],
    ["404", api(404)],
    ["422", api(422)],
    [
      "an aborted request",
      new TransportError("GET", "/x", Object.assign(new Error("aborted"), { name: "AbortError" })),
    ],
  ] as const) {
    it(`${name} is thrown at once`, async () => {
      let calls = 0;
      await assert.rejects(
        retryTransient(
          "op",
          async () => {
            calls++;
            throw err;
          },
          { ...budget, clock: clock() },
        ),
        (e: unknown) => e === err,
      );
      assert.equal(calls, 1);
    });
  }

  it("the budget is bounded: attempts, backoff capped, Retry-After honoured up to the cap", async () => {
    const c = clock();
    let calls = 0;
    await assert.rejects(
      retryTransient(
        "PUT pool",
        async () => {
          calls++;
          throw calls === 2 ? api(503, "30") : api(500);
        },
        { ...budget, clock: c },
      ),
      (e: unknown) =>
        e instanceof ApiRetriesExhaustedError && e.attempts === 4 && e.code === "ERR_API_RETRIES_EXHAUSTED",
    );
    assert.equal(calls, 4);
    assert.deepEqual(c.slept, [10, 100, 40]);
  });
});
