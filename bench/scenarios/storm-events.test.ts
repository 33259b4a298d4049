import assert from "node:assert/strict";
import { test } from "node:test";
import { abbaOrder, summarisePairs } from "./storm-events.ts";

test("storm-events: ABBA order alternates which arm runs first", () => {
  assert.deepEqual(abbaOrder(4), [
    ["on", "off"],
    ["off", "on"],
    ["on", "off"],
    ["off", "on"],
  ]);
});

test("storm-events: a drift shared by both runs of a pair cancels out of its ratio", () => {
  // Each pair runs under a different load (factor), Events cost 2 %: the ratios stay at 1.02.
  const pairs = [1, 1.3, 0.8, 1.25, 0.9].map((load) => ({ on: 4 * load * 1.02, off: 4 * load }));
  const s = summarisePairs(pairs);
  assert.equal(s.median, 1.02);
  assert.equal(s.min, 1.02);
  assert.equal(s.max, 1.02);
  assert.equal(s.halfIqr, 0);
});

test("storm-events: median and half-IQR of the ratios", () => {
  const s = summarisePairs([
    { on: 1.1, off: 1 },
    { on: 0.9, off: 1 },
    { on: 1, off: 1 },
    { on: 1.3, off: 1 },
  ]);
  assert.equal(s.median, 1.05);
  assert.equal(s.min, 0.9);
  assert.equal(s.max, 1.3);
  // quartiles 0.975 and 1.15
  assert.equal(s.halfIqr, 0.088);
  assert.throws(() => summarisePairs([]));
});
