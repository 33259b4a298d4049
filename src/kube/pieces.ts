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
    // Empty parts share their start with the next one: the part that holds i is the last of them.
    k = lo;
    while (k > 0 && (this.parts[k] as Buffer).length === 0) k--;
    return (this.#at = k);
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
    const k = this.#part(start);
    const off = start - (this.#starts[k] as number);
    const part = this.parts[k] as Buffer;
    if (off + (end - start) <= part.length) return part.subarray(off, off + (end - start));
    const out = Buffer.allocUnsafe(end - start);
    this.copy(out, 0, start, end);
    return out;
  }

  toString(start: number, end: number): string {
    return this.slice(start, end).toString("utf8");
  }

  /** Copies bytes [start, end) into `target` at `targetStart`. */
  copy(target: Buffer, targetStart: number, start: number, end: number): void {
    let i = start;
    let t = targetStart;
    while (i < end) {
      const k = this.#part(i);
      const part = this.parts[k] as Buffer;
      const off = i - (this.#starts[k] as number);
      const n = Math.min(part.length - off, end - i);
      part.copy(target, t, off, off + n);
      i += n;
      t += n;
    }
  }

  /** How many bytes from `this[at]` on equal `other[0, len)`. */
  commonPrefix(at: number, other: Buffer, len: number): number {
    const n = Math.min(len, this.length - at);
    let i = 0;
    while (i < n) {
      const k = this.#part(at + i);
      const part = this.parts[k] as Buffer;
      const off = at + i - (this.#starts[k] as number);
      const span = Math.min(part.length - off, n - i);
      let j = 0;
      while (j + CHUNK <= span && part.compare(other, i + j, i + j + CHUNK, off + j, off + j + CHUNK) === 0) j += CHUNK;
      while (j < span && part[off + j] === other[i + j]) j++;
      i += j;
      if (j < span) return i;
    }
    return i;
  }

  /** How many bytes from `this[at]` on equal `other[otherAt, otherAt + len)`. */
  commonPrefixWith(at: number, other: Pieces, otherAt: number, len: number): number {
    let same = 0;
    while (same < len) {
      const k = other.#part(otherAt + same);
      const part = other.parts[k] as Buffer;
      const off = otherAt + same - (other.#starts[k] as number);
      const span = Math.min(part.length - off, len - same);
      const n = this.commonPrefix(at + same, part.subarray(off, off + span), span);
      same += n;
      if (n < span) break;
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
      const found = part.length === 0 ? -1 : part.lastIndexOf(byte, i - start);
      if (found >= 0) return start + found >= from ? start + found : -1;
      if (start <= from) return -1;
      i = start - 1;
    }
    return -1;
  }
}
