// Capacity counts and the exhaustion forecast. The forecast's error is measured on replayed
// synthetic traces (seeded, so the figures in docs/operations.md reproduce).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import { forecast, FreeHistory, poolCapacity, subnetCapacity, type Sample } from "./capacity.ts";

const pool = (name: string, spec: Partial<SpiderIPPool["spec"]>, records: string[] = []): SpiderIPPool => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: { name },
  spec: { subnet: "192.0.2.0/24", ...spec },
  status: {
    allocatedIPs: JSON.stringify(
      Object.fromEntries(records.map((ip, i) => [ip, { pod: `ns/p${i}`, podUid: `u${i}` }])),
    ),
  },
});

describe("capacity counts", () => {
  it("a pool: total listed, excluded, reserved among the rest, allocated records, free the remainder", () => {
    const p = pool("p", { ips: ["192.0.2.10-192.0.2.29"], excludeIPs: ["192.0.2.10-192.0.2.11"] }, [
      "192.0.2.12",
      "192.0.2.13",
      "192.0.2.14",
    ]);
    const reserved = IPRangeSet.parse(4, ["192.0.2.20-192.0.2.23", "192.0.2.200"]);
    assert.deepEqual(poolCapacity(p, reserved), { total: 20, excluded: 2, reserved: 4, allocated: 3, free: 11 });
  });
  it("a record on an address excluded since counts as allocated but takes nothing more from free", () => {
    const p = pool("p", { ips: ["192.0.2.10-192.0.2.13"], excludeIPs: ["192.0.2.10"] }, ["192.0.2.10"]);
    assert.deepEqual(poolCapacity(p, IPRangeSet.empty(4)), {
      total: 4,
      excluded: 1,
      reserved: 0,
      allocated: 1,
      free: 3,
    });
  });
  it("a subnet: allocated is what its live pools hold", () => {
    const s: SpiderSubnet = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.1-192.0.2.100"], excludeIPs: ["192.0.2.1"] },
    };
    const pools = [
      pool("a", { ips: ["192.0.2.10-192.0.2.19"] }),
      pool("b", { ips: ["192.0.2.50-192.0.2.54"] }),
      pool("other", { subnet: "198.51.100.0/24", ips: ["198.51.100.1-198.51.100.9"] }),
    ];
    assert.deepEqual(subnetCapacity(s, pools, IPRangeSet.parse(4, ["192.0.2.99-192.0.2.100"])), {
      total: 100,
      excluded: 1,
      reserved: 2,
      allocated: 15,
      free: 82,
    });
  });
});

/** A seeded PRNG (mulberry32), so a trace replays the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A pool of `size` addresses sampled once a minute: each minute Poisson(alloc(t)/60)
 * allocations and Poisson(release/60) releases (by thinning per second). Returns the samples
 * up to exhaustion and the exhaustion time.
 */
function trace(size: number, alloc: (hour: number) => number, releasePerHour: number, seed: number) {
  const r = rng(seed);
  const samples: Sample[] = [];
  let free = size;
  for (let t = 0; t < 14 * 24 * 3600; t += 60) {
    samples.push({ t, free });
    let d = 0;
    for (let s = 0; s < 60; s++) {
      if (r() < alloc((t + s) / 3600) / 3600) d++;
      if (r() < releasePerHour / 3600) d--;
    }
    free = Math.min(size, free - d);
    if (free <= 0) return { samples, exhausted: t + 60 };
  }
  throw new Error("the trace never runs out");
}

/**
 * Relative error of the predicted time to exhaustion, forecast each hour once the window is
 * full, over the hours where the answer matters: 2 to 72 hours before the pool runs out.
 */
function errors(tr: { samples: Sample[]; exhausted: number }, windowSeconds: number): number[] {
  const out: number[] = [];
  const h = new FreeHistory(windowSeconds, 100_000);
  for (const s of tr.samples) {
    h.record("p", s.t, s.free);
    if (s.t < windowSeconds || s.t % 3600 !== 0) continue;
    const f = h.forecast("p");
    const remaining = (tr.exhausted - s.t) / 3600;
    if (remaining < 2 || remaining > 72) continue;
    out.push(Math.abs(f.hoursToExhaustion - remaining) / remaining);
  }
  return out;
}

const summary = (xs: number[]): { mean: number; p90: number } => {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    p90: sorted[Math.floor(0.9 * (sorted.length - 1))] as number,
  };
};

describe("exhaustion forecast (least squares over a window)", () => {
  it("a straight line is forecast exactly; a flat or draining pool never runs out; too little history forecasts nothing", () => {
    const line = Array.from({ length: 10 }, (_, i) => ({ t: i * 600, free: 100 - i * 5 }));
    const f = forecast(line, 7200);
    assert.ok(Math.abs(f.ratePerHour - 30) < 1e-9);
    assert.ok(Math.abs(f.hoursToExhaustion - 55 / 30) < 1e-9);
    assert.equal(
      forecast(
        [
          { t: 0, free: 5 },
          { t: 600, free: 5 },
          { t: 1200, free: 5 },
        ],
        7200,
      ).hoursToExhaustion,
      Infinity,
    );
    assert.equal(
      forecast(
        [
          { t: 0, free: 5 },
          { t: 600, free: 6 },
          { t: 1200, free: 7 },
        ],
        7200,
      ).hoursToExhaustion,
      Infinity,
    );
    assert.equal(
      forecast(
        [
          { t: 0, free: 5 },
          { t: 30, free: 1 },
        ],
        7200,
      ).hoursToExhaustion,
      Infinity,
    );
  });

  it("steady churn (20 allocations/h, 5 releases/h, 1000 addresses): the default 24 h window, mean error under 10 %", (t) => {
    const tr = trace(1000, () => 20, 5, 22);
    const e = summary(errors(tr, 24 * 3600));
    t.diagnostic(
      `steady: exhausted after ${(tr.exhausted / 3600).toFixed(1)} h; 24 h window: error mean ${(e.mean * 100).toFixed(1)} %, p90 ${(e.p90 * 100).toFixed(1)} %`,
    );
    assert.ok(e.mean < 0.1, `mean error ${e.mean}`);
  });

  it("a daily cycle (5..35 allocations/h): a 48 h window, mean error under 15 %; a 6 h window chases the swing", (t) => {
    const tr = trace(2000, (h) => 20 + 15 * Math.sin((2 * Math.PI * h) / 24), 5, 7);
    const figures = [6, 24, 48].map((w) => ({ w, ...summary(errors(tr, w * 3600)) }));
    t.diagnostic(
      `daily cycle: exhausted after ${(tr.exhausted / 3600).toFixed(1)} h; ${figures.map((f) => `${f.w} h window: mean ${(f.mean * 100).toFixed(1)} %, p90 ${(f.p90 * 100).toFixed(1)} %`).join("; ")}`,
    );
    const [six, day, two] = figures.map((f) => f.mean) as [number, number, number];
    assert.ok(two < 0.15, `mean error ${two}`);
    assert.ok(six > day && day > two);
  });

  it("history is bounded and forgets deleted pools", () => {
    const h = new FreeHistory(3600, 5);
    for (let i = 0; i < 20; i++) h.record("p", i * 60, 100 - i);
    assert.equal(h.forecast("p").samples, 5);
    h.keepOnly(new Set());
    assert.equal(h.forecast("p").samples, 0);
  });
});
