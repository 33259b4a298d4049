/**
 * A document read where it arrived: in the pieces of the socket reads that carried it.
 *
 * A watch event of a 10 000-record pool is more than a megabyte, and every agent receives
 * every version. Joined into one buffer, each event cost every agent a megabyte allocated and
 * copied; those buffers live outside V8's heap, and their volume drove V8 into a full
 * collection every few tens of megabytes: half the CPU an agent spent on an event
 * (`npm run bench:watch`, docs/performance.md). Read in place, an event costs the reads that
 * brought it, and only the few bytes a reader turns into text are copied.
 */

/** Bytes compared per memcmp before the first difference is looked for byte by byte. */
const CHUNK = 4096;

export class Pieces {
  readonly parts: readonly Buffer[];
  readonly length: number;
  /** Where each part starts in the document. */
  readonly #starts: number[];
  /** The part the last byte read was in: reads mostly move forward from it. */
  #at = 0;

  constructor(parts: readonly Buffer[]) {
    this.parts = parts;
    this.#starts = [];
    let n = 0;
    for (const p of parts) {
      this.#starts.push(n);
      n += p.length;
    }
    this.length = n;
  }

  /** The index of the part that holds byte `i` (0 <= i < length). */
  #part(i: number): number {
    const starts = this.#starts;
    let k = this.#at;
    const inPart = (j: number): boolean =>
      i >= (starts[j] as number) && i < (starts[j] as number) + (this.parts[j] as Buffer).length;
    if (inPart(k)) return k;
    if (k + 1 < starts.length && inPart(k + 1)) return (this.#at = k + 1);
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= i) lo = mid;
      else hi = mid - 1;
    }
    // An empty part shares its start with the next one, so the last part starting at or
    // before i is never an empty one while i is inside the document.
    return (this.#at = lo);
  }

  /** The bytes from `i` up to `end` or the end of the part that holds `i`, whichever comes first: a view. */
  #segment(i: number, end: number): Buffer {
    const k = this.#part(i);
    const part = this.parts[k] as Buffer;
    const off = i - (this.#starts[k] as number);
    return part.subarray(off, off + Math.min(part.length - off, end - i));
  }

  /** Byte `i`, or undefined past the end. */
  byte(i: number): number | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const k = this.#part(i);
    return (this.parts[k] as Buffer)[i - (this.#starts[k] as number)];
  }

  /** Bytes [start, end) as one buffer: a view when they lie in one part, else a copy of them alone. */
  slice(start: number, end: number): Buffer {
    start = Math.max(0, start);
    end = Math.min(this.length, end);
    if (end <= start) return Buffer.alloc(0);
    const first = this.#segment(start, end);
    if (first.length === end - start) return first;
    const out = Buffer.allocUnsafe(end - start);
    this.copy(out, 0, start, end);
    return out;
  }

  toString(start: number, end: number): string {
    return this.slice(start, end).toString("utf8");
  }

  /** Copies bytes [start, end) into `target` at `targetStart`. */
  copy(target: Buffer, targetStart: number, start: number, end: number): void {
    for (let i = start, t = targetStart; i < end;) {
      const seg = this.#segment(i, end);
      seg.copy(target, t);
      i += seg.length;
      t += seg.length;
    }
  }

  /** How many bytes from `this[at]` on equal `other[0, len)`. */
  commonPrefix(at: number, other: Buffer, len: number): number {
    const n = Math.min(len, this.length - at);
    let i = 0;
    while (i < n) {
      const seg = this.#segment(at + i, at + n);
      const same = prefixOf(seg, other.subarray(i, i + seg.length));
      i += same;
      if (same < seg.length) break;
    }
    return i;
  }

  /** How many bytes from `this[at]` on equal `other[otherAt, otherAt + len)`. */
  commonPrefixWith(at: number, other: Pieces, otherAt: number, len: number): number {
    let same = 0;
    while (same < len) {
      const seg = other.#segment(otherAt + same, otherAt + len);
      const n = this.commonPrefix(at + same, seg, seg.length);
      same += n;
      if (n < seg.length) break;
    }
    return same;
  }

  /** The last index of `byte` in [from, to], or -1. */
  lastIndexOf(byte: number, from: number, to: number): number {
    let i = Math.min(to, this.length - 1);
    while (i >= from) {
      const k = this.#part(i);
      const part = this.parts[k] as Buffer;
      const start = this.#starts[k] as number;
      const found = part.lastIndexOf(byte, i - start);
      if (found >= 0) return start + found >= from ? start + found : -1;
      if (start <= from) return -1;
      i = start - 1;
    }
    return -1;
  }
}

/** How many leading bytes `a` and `b` (of `a`'s length or less) share: memcmp by chunks, then byte by byte. */
function prefixOf(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let j = 0;
  while (j + CHUNK <= n && a.compare(b, j, j + CHUNK, j, j + CHUNK) === 0) j += CHUNK;
  while (j < n && a[j] === b[j]) j++;
  return j;
}
