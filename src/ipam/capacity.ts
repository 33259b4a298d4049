/**
 * How full a pool or subnet is, and when a pool runs out (issue 22). Counts are of addresses:
 *
 * - total: the addresses `ips` lists;
 * - excluded: those of them `excludeIPs` removes;
 * - reserved: those of the rest a SpiderReservedIP keeps from allocation;
 * - allocated: a pool's records; a subnet's addresses handed to its pools;
 * - free: total − excluded − reserved − allocated (allocated counted where it may be, so a
 *   record on an address excluded later is not counted twice), never below zero.
 *
 * The forecast is a least-squares line through the free count over a recent window: its
 * slope is the net allocation rate, and where it crosses zero is the predicted exhaustion.
 */
import type { SpiderIPPool } from "../api/ippool.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet, parseCIDR } from "../ip/index.ts";
import { parseKey, parseRawAllocatedIPs } from "./pool-state.ts";

export interface Capacity {
  total: number;
  allocated: number;
  free: number;
  reserved: number;
  excluded: number;
}

function counts(
  family: 4 | 6,
  ips: readonly string[],
  exclude: readonly string[],
  reserved: IPRangeSet,
  taken: (available: IPRangeSet) => number,
): Capacity {
  const listed = IPRangeSet.parse(family, ips);
  const excludedSet = listed.intersect(IPRangeSet.parse(family, exclude));
  const rest = listed.subtract(excludedSet);
  const reservedSet = reserved.family === family ? rest.intersect(reserved) : IPRangeSet.empty(family);
  const available = rest.subtract(reservedSet);
  const allocated = taken(available);
  const free = Number(available.size) - allocated;
  return {
    total: Number(listed.size),
    excluded: Number(excludedSet.size),
    reserved: Number(reservedSet.size),
    allocated,
    free: free < 0 ? 0 : free,
  };
}

/** A pool's counts; `allocated` is its records, `free` what its next allocations can take. */
export function poolCapacity(pool: SpiderIPPool, reserved: IPRangeSet): Capacity {
  const family = parseCIDR(pool.spec.subnet).family;
  let records: string[] = [];
  try {
    records = Object.keys(parseRawAllocatedIPs(pool.status?.allocatedIPs));
  } catch {
    // Unreadable records count as none; `spiderpoolctl check` reports them.
  }
  const c = counts(family, pool.spec.ips ?? [], pool.spec.excludeIPs ?? [], reserved, (available) => {
    let n = 0;
    for (const ip of records) {
      const k = parseKey(ip);
      if (k !== undefined && k.family === family && available.has(k.value)) n++;
    }
    return n;
  });
  // Records on addresses no longer available (excluded or reserved since) still exist.
  return { ...c, allocated: records.length };
}

/** A subnet's counts; `allocated` is the addresses its pools hold, `free` what new pools can get. */
export function subnetCapacity(subnet: SpiderSubnet, pools: readonly SpiderIPPool[], reserved: IPRangeSet): Capacity {
  const family = parseCIDR(subnet.spec.subnet).family;
  return counts(family, subnet.spec.ips ?? [], subnet.spec.excludeIPs ?? [], reserved, (available) => {
    let held = IPRangeSet.empty(family);
    for (const p of pools) {
      if (p.spec.subnet !== subnet.spec.subnet || p.metadata.deletionTimestamp !== undefined) continue;
      try {
        held = held.union(IPRangeSet.parse(family, p.spec.ips ?? []));
      } catch {
        // A malformed pool holds nothing here; the webhook refuses those.
      }
    }
    return Number(held.intersect(available).size);
  });
}

export interface Sample {
  /** Seconds. */
  t: number;
  free: number;
}

export interface Forecast {
  /** Net addresses taken per hour (negative when the pool is draining back). */
  ratePerHour: number;
  /** Hours from the last sample until the fitted line reaches zero; Infinity when it does not fall. */
  hoursToExhaustion: number;
  samples: number;
}

/**
 * Least squares over the samples of the last `windowSeconds`: free(t) ≈ a + b·t. With b < 0
 * the pool runs out at t = −a/b. Fewer than three samples, or under a minute of history,
 * forecast nothing (Infinity): a single burst is not a trend.
 */
export function forecast(samples: readonly Sample[], windowSeconds: number): Forecast {
  const last = samples[samples.length - 1];
  if (last === undefined) return { ratePerHour: 0, hoursToExhaustion: Infinity, samples: 0 };
  const w = samples.filter((s) => s.t >= last.t - windowSeconds);
  const first = w[0] as Sample;
  if (w.length < 3 || last.t - first.t < 60) return { ratePerHour: 0, hoursToExhaustion: Infinity, samples: w.length };
  // Centred on the mean time, so large epoch seconds do not cost precision.
  const n = w.length;
  const mt = w.reduce((s, x) => s + x.t, 0) / n;
  const mf = w.reduce((s, x) => s + x.free, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const x of w) {
    sxy += (x.t - mt) * (x.free - mf);
    sxx += (x.t - mt) ** 2;
  }
  const b = sxy / sxx;
  const ratePerHour = -b * 3600;
  if (!(b < 0)) return { ratePerHour, hoursToExhaustion: Infinity, samples: n };
  const freeAtLast = mf + b * (last.t - mt);
  const hours = Math.max(0, -freeAtLast / b / 3600);
  return { ratePerHour, hoursToExhaustion: hours, samples: n };
}

/** Per-pool free-count history, bounded in time and count, for the forecast. */
export class FreeHistory {
  readonly #samples = new Map<string, Sample[]>();
  readonly #keepSeconds: number;
  readonly #maxSamples: number;

  constructor(keepSeconds: number, maxSamples = 720) {
    this.#keepSeconds = keepSeconds;
    this.#maxSamples = maxSamples;
  }

  record(pool: string, t: number, free: number): void {
    const list = this.#samples.get(pool) ?? [];
    list.push({ t, free });
    while (list.length > this.#maxSamples || (list[0] as Sample).t < t - this.#keepSeconds) list.shift();
    this.#samples.set(pool, list);
  }

  /** Forgets the pools not in `live` (deleted ones). */
  keepOnly(live: ReadonlySet<string>): void {
    for (const k of this.#samples.keys()) if (!live.has(k)) this.#samples.delete(k);
  }

  forecast(pool: string, windowSeconds = this.#keepSeconds): Forecast {
    return forecast(this.#samples.get(pool) ?? [], windowSeconds);
  }
}
