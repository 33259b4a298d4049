import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Turns, type TurnDecision, type TurnsOptions } from "./turns.ts";

const OPTS: TurnsOptions = {
  seniority: 0.7,
  weight: 0.5,
  idleGaps: 4,
  idleFloorMs: 5,
  idleCeilingMs: 250,
};

interface Case {
  name: string;
  /** Versions seen: [resourceVersion, at ms]. */
  versions: Array<[number, number]>;
  /** Ages of our batches at their wins, in order. */
  wins: number[];
  age: number;
  now: number;
  want: TurnDecision;
}

const cases: Case[] = [
  { name: "no win learned yet: race", versions: [[1, 0]], wins: [], age: 0, now: 1, want: { race: true } },
  {
    name: "as old as the share of the learned age at a win: race",
    versions: [
      [1, 0],
      [2, 10],
    ],
    wins: [1000],
    age: 700,
    now: 11,
    want: { race: true },
  },
  {
    name: "younger, versions coming: wait until four average gaps after the last",
    versions: [
      [1, 0],
      [2, 10],
    ],
    wins: [1000],
    age: 699,
    now: 11,
    want: { race: false, waitMs: 39 },
  },
  {
    name: "younger, but the pool has been quiet for four gaps: race",
    versions: [
      [1, 0],
      [2, 10],
    ],
    wins: [1000],
    age: 10,
    now: 50,
    want: { race: true },
  },
  {
    name: "gaps of 1 ms: the idle bound is the floor",
    versions: [
      [1, 0],
      [2, 1],
    ],
    wins: [1000],
    age: 10,
    now: 2,
    want: { race: false, waitMs: 4 },
  },
  {
    name: "gaps of a second: the idle bound is the ceiling",
    versions: [
      [1, 0],
      [2, 1000],
    ],
    wins: [5000],
    age: 10,
    now: 1000,
    want: { race: false, waitMs: 250 },
  },
  {
    name: "an older version seen late does not count as a gap",
    versions: [
      [1, 0],
      [5, 10],
      [3, 200],
    ],
    wins: [1000],
    age: 10,
    now: 11,
    want: { race: false, waitMs: 39 },
  },
  {
    name: "the learned age follows the wins (1000, then 100: 550 with weight 0.5)",
    versions: [
      [1, 0],
      [2, 10],
    ],
    wins: [1000, 100],
    age: 386,
    now: 11,
    want: { race: true },
  },
  {
    name: "no version seen at all: the floor from the start",
    versions: [],
    wins: [1000],
    age: 0,
    now: 0,
    want: { race: true },
  },
];

describe("Turns: whose turn a busy pool's next version is", () => {
  for (const c of cases) {
    it(c.name, () => {
      const t = new Turns(OPTS);
      for (const [rv, at] of c.versions) t.version(rv, at);
      for (const a of c.wins) t.won(a);
      assert.deepEqual(t.decide(c.age, c.now), c.want);
    });
  }

  it("a young batch never waits longer than the idle bound after the last version (property)", () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      const t = new Turns(OPTS);
      let now = 0;
      for (let v = 1; v < 2 + Math.floor(rnd() * 10); v++) t.version(v, (now += rnd() * 300));
      t.won(rnd() * 10_000);
      const age = rnd() * 10_000;
      const d = t.decide(age, now + rnd() * 300);
      if (!d.race) {
        assert.ok(d.waitMs > 0 && d.waitMs <= t.idleMs, `wait ${d.waitMs} within ${t.idleMs}`);
        assert.ok(t.idleMs >= OPTS.idleFloorMs && t.idleMs <= OPTS.idleCeilingMs);
      }
    }
  });
});
