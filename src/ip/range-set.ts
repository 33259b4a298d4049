import { formatIP, type Family } from "./address.ts";
import type { CIDR } from "./cidr.ts";
import { IPFamilyMismatchError, InvalidIPRangeError } from "./errors.ts";
import { formatIPRange, parseIPRange, type IPRange } from "./range.ts";

interface Run {
  readonly start: bigint;
  readonly end: bigint;
}

function byStart(a: Run, b: Run): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : 0;
}

/** Sorts and coalesces overlapping and adjacent runs. */
function normalize(runs: Run[]): Run[] {
  if (runs.length <= 1) return runs.slice();
  const sorted = runs.slice().sort(byStart);
  const out: Run[] = [];
  let cur = sorted[0] as Run;
  for (let i = 1; i < sorted.length; i++) {
    const r = sorted[i] as Run;
    if (r.start <= cur.end + 1n) {
      if (r.end > cur.end) cur = { start: cur.start, end: r.end };
    } else {
      out.push(cur);
      cur = r;
    }
  }
  out.push(cur);
  return out;
}

/**
 * An immutable set of addresses of one family, held as sorted, disjoint, non-adjacent
 * inclusive runs. Every operation costs in the number of runs (and of used addresses for
 * {@link lowestFree}), never in the number of addresses: an IPv6 /64 pool is one run.
 */
export class IPRangeSet {
  readonly family: Family;
  readonly #runs: readonly Run[];

  private constructor(family: Family, runs: readonly Run[]) {
    this.family = family;
    this.#runs = runs;
  }

  static empty(family: Family): IPRangeSet {
    return new IPRangeSet(family, []);
  }

  /** Builds a set from ranges of `family`; a range of the other family throws. */
  static fromRanges(family: Family, ranges: Iterable<IPRange>): IPRangeSet {
    const runs: Run[] = [];
    for (const r of ranges) {
      if (r.family !== family) throw new IPFamilyMismatchError(formatIPRange(r), family);
      runs.push({ start: r.start, end: r.end });
    }
    return new IPRangeSet(family, normalize(runs));
  }

  static fromCIDR(c: CIDR): IPRangeSet {
    return new IPRangeSet(c.family, [{ start: c.network, end: c.last }]);
  }

  /**
   * Parses IPRange strings (`a`, `a-b`) of `family`. Throws {@link InvalidIPRangeError}
   * naming the entry's index, or {@link IPFamilyMismatchError}.
   */
  static parse(family: Family, entries: readonly string[]): IPRangeSet {
    const runs: Run[] = [];
    entries.forEach((s, i) => {
      let r: IPRange;
      try {
        r = parseIPRange(s);
      } catch (err) {
        if (err instanceof InvalidIPRangeError) {
          throw new InvalidIPRangeError(s, `entry [${i}]: ${err.reason}`);
        }
        throw err;
      }
      if (r.family !== family) throw new IPFamilyMismatchError(s, family, `entry [${i}]`);
      runs.push({ start: r.start, end: r.end });
    });
    return new IPRangeSet(family, normalize(runs));
  }

  get ranges(): readonly IPRange[] {
    return this.#runs.map((r) => ({ family: this.family, start: r.start, end: r.end }));
  }

  get runCount(): number {
    return this.#runs.length;
  }

  get isEmpty(): boolean {
    return this.#runs.length === 0;
  }

  /** Number of addresses, as a BigInt (2^64 for a /64). */
  get size(): bigint {
    let n = 0n;
    for (const r of this.#runs) n += r.end - r.start + 1n;
    return n;
  }

  get first(): bigint | undefined {
    return this.#runs[0]?.start;
  }

  get last(): bigint | undefined {
    return this.#runs[this.#runs.length - 1]?.end;
  }

  /** Canonical IPRange strings: sorted, de-duplicated, consecutive runs collapsed. */
  toStrings(): string[] {
    return this.#runs.map((r) => formatIPRange({ family: this.family, start: r.start, end: r.end }));
  }

  /** Index of the run containing `value`, or -1 (binary search). */
  #find(value: bigint): number {
    let lo = 0;
    let hi = this.#runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.#runs[mid] as Run;
      if (value < r.start) hi = mid - 1;
      else if (value > r.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  has(value: bigint): boolean {
    return this.#find(value) >= 0;
  }

  #check(other: IPRangeSet): void {
    if (other.family !== this.family) {
      throw new IPFamilyMismatchError(other.toStrings().join(","), this.family);
    }
  }

  union(other: IPRangeSet): IPRangeSet {
    this.#check(other);
    return new IPRangeSet(this.family, normalize([...this.#runs, ...other.#runs]));
  }

  /** Addresses of this set that are not in `other`. */
  subtract(other: IPRangeSet): IPRangeSet {
    this.#check(other);
    const out: Run[] = [];
    const cut = other.#runs;
    let j = 0;
    for (const r of this.#runs) {
      let start = r.start;
      while (j < cut.length && (cut[j] as Run).end < start) j++;
      let k = j;
      while (k < cut.length && (cut[k] as Run).start <= r.end) {
        const c = cut[k] as Run;
        if (c.start > start) out.push({ start, end: c.start - 1n });
        if (c.end >= r.end) {
          start = r.end + 1n;
          break;
        }
        start = c.end + 1n;
        k++;
      }
      if (start <= r.end) out.push({ start, end: r.end });
    }
    return new IPRangeSet(this.family, out);
  }

  intersect(other: IPRangeSet): IPRangeSet {
    this.#check(other);
    const out: Run[] = [];
    const a = this.#runs;
    const b = other.#runs;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const x = a[i] as Run;
      const y = b[j] as Run;
      const start = x.start > y.start ? x.start : y.start;
      const end = x.end < y.end ? x.end : y.end;
      if (start <= end) out.push({ start, end });
      if (x.end < y.end) i++;
      else j++;
    }
    return new IPRangeSet(this.family, out);
  }

  overlaps(other: IPRangeSet): boolean {
    if (other.family !== this.family) return false;
    return !this.intersect(other).isEmpty;
  }

  /** True when every address of `other` is in this set. */
  containsAll(other: IPRangeSet): boolean {
    if (other.family !== this.family) return other.isEmpty;
    return other.subtract(this).isEmpty;
  }

  equals(other: IPRangeSet): boolean {
    if (other.family !== this.family || other.#runs.length !== this.#runs.length) return false;
    return this.#runs.every((r, i) => {
      const o = other.#runs[i] as Run;
      return o.start === r.start && o.end === r.end;
    });
  }

  /**
   * The lowest address of the set not in `used`. Walks each run from its start while the
   * candidate is used, so it makes at most |used ∩ set| + runs look-ups, whatever the size
   * of the runs (a /64 with 50 000 used addresses costs 50 000 look-ups, not 2^64).
   */
  lowestFree(used: { has(v: bigint): boolean }, from?: bigint): bigint | undefined {
    for (const r of this.#runs) {
      if (from !== undefined && r.end < from) continue;
      let v = from !== undefined && from > r.start ? from : r.start;
      while (v <= r.end && used.has(v)) v++;
      if (v <= r.end) return v;
    }
    return undefined;
  }

  /** The `count` lowest addresses of the set (all of it when it has fewer); costs in runs. */
  lowest(count: bigint): IPRangeSet {
    const out: Run[] = [];
    let left = count;
    for (const r of this.#runs) {
      if (left <= 0n) break;
      const n = r.end - r.start + 1n;
      if (n <= left) {
        out.push(r);
        left -= n;
      } else {
        out.push({ start: r.start, end: r.start + left - 1n });
        left = 0n;
      }
    }
    return new IPRangeSet(this.family, out);
  }

  /** Addresses in ascending order, at most `limit` of them (sets can be astronomically large). */
  *values(limit?: number): Generator<bigint> {
    let n = 0;
    for (const r of this.#runs) {
      for (let v = r.start; v <= r.end; v++) {
        if (limit !== undefined && n >= limit) return;
        n++;
        yield v;
      }
    }
  }

  /** Text of each address, at most `limit` of them. */
  *addresses(limit?: number): Generator<string> {
    for (const v of this.values(limit)) yield formatIP(this.family, v);
  }
}

/**
 * Rewrites a list of IPRange strings into the canonical merged form the webhooks store:
 * sorted, de-duplicated, consecutive runs collapsed, `a` for one address, else `a-b`.
 */
export function mergeIPRanges(family: Family, entries: readonly string[]): string[] {
  return IPRangeSet.parse(family, entries).toStrings();
}
