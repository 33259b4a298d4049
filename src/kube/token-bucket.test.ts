import assert from "node:assert/strict";
import { it } from "node:test";
import { TokenBucket } from "./token-bucket.ts";

it("a burst, then one token per refill period; never more than the burst saved up", () => {
  const clock = { t: 0, now: () => clock.t };
  const b = new TokenBucket(clock, 3, 1 / 20);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  clock.t += 19_000;
  assert.equal(b.take(), false);
  clock.t += 1_000;
  assert.deepEqual([b.take(), b.take()], [true, false]);
  clock.t += 3_600_000;
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
});
