/**
 * A pool's records with the indexes allocation needs (addresses in use as numbers, each
 * pod's address), built once per pool version and then changed in place, and a Draft: the
 * changes one batch plans on top of it, applied only once the write that carries them has
 * succeeded. Planning a batch therefore costs in the batch, not in the pool: a pool with
 * 5 000 records is neither parsed, copied nor re-indexed for every allocation.
 *
 * Records are kept in blocks of rendered JSON text (`fragments`), so rendering the status of
 * a big pool renders only the blocks a batch touched and repeats the rest: a pool with 5 000
 * records costs tens of microseconds, not the milliseconds of encoding half a megabyte. How
 * the text goes on the wire (escaped, in byte pieces) is src/poolstore/record-wire.ts's.
 */
import { parseKey, parseRawAllocatedIPs, type PoolRecord, type RawAllocatedIPs } from "./pool-state.ts";

/** Records per block: small enough that re-encoding one is cheap, big enough that a join of blocks is. */
const BLOCK_RECORDS = 64;

/** A record as a member of the JSON object `status.allocatedIPs` holds, as every writer of ours renders it. */
function plainFragment(ip: string, r: PoolRecord): string {
  return `${JSON.stringify(ip)}:${JSON.stringify({ pod: r.pod, podUid: r.podUid })}`;
}

/** Records' members joined by commas: the text they make inside `status.allocatedIPs`. */
function plainRecords(records: Iterable<[string, PoolRecord]>): string {
  let text = "";
  for (const [ip, r] of records) text += text === "" ? plainFragment(ip, r) : `,${plainFragment(ip, r)}`;
  return text;
}

interface Block {
  ips: Set<string>;
  /**
   * The block's members as text (plainRecords): what another version repeats of it, and what
   * what a writer encodes for the wire. Undefined once a record of it changed or left; an appended
   * record extends it.
   */
  plain: string | undefined;
}

/**
 * One piece of `status.allocatedIPs`'s members: a block's text, with the block itself when
 * the text is the block's as stored (so a caller may cache what it derives from it, keyed
 * by the block and checked against the text), or no block for text made for one draft.
 */
export interface Fragment {
  block: object | undefined;
  plain: string;
}

export class RecordSet {
  readonly family: 4 | 6;
  readonly #records = new Map<string, PoolRecord>();
  readonly #used = new Set<bigint>();
  /** podUid → its addresses in this pool (a pod may hold several after a retarget). */
  readonly #byUid = new Map<string, Set<string>>();
  /** Blocks in the order records were first put, and each record's block. */
  readonly #blocks: Block[] = [];
  readonly #blockOf = new Map<string, Block>();
  readonly #blockRecords: number;
  /** For one available set: every address of it below `below` is recorded here. */
  #hint: { set: object; below: bigint } | undefined;

  constructor(family: 4 | 6, blockRecords = BLOCK_RECORDS) {
    this.family = family;
    this.#blockRecords = blockRecords;
  }

  /** Reads `status.allocatedIPs` (as parseAllocatedIPs does). */
  static parse(family: 4 | 6, text: string | undefined, blockRecords?: number): RecordSet {
    const s = new RecordSet(family, blockRecords);
    s.sync(text);
    return s;
  }

  /**
   * Makes this set another version's `status.allocatedIPs`, in place. A pool many agents
   * write is read at nearly every version; records that did not change keep their indexes
   * and rendered text, so following it costs in what changed, and the search hint survives
   * (a freed address lowers it, as #remove does).
   *
   * Writers of ours render the records block by block in the order they were first put, and
   * so does every agent that follows the pool, so another agent's version mostly repeats this
   * set's text and adds to its end. The blocks it repeats from the start are taken as they
   * are (a comparison of memory, not a parse) and only the rest of the text is parsed. Returns
   * how many records were read from the text that way (all of them when nothing is shared).
   */
  sync(text: string | undefined): number {
    if (text !== undefined && this.#records.size > 0) {
      const read = this.#syncAfterShared(text);
      if (read !== undefined) return read;
    }
    const raw = parseRawAllocatedIPs(text);
    return this.#syncRecords(raw, 0);
  }

  /**
   * The blocks `text` repeats from its start, in order, are this set's as they are; the
   * records of the rest are synced from the rest of the text. Undefined when `text` does not
   * start with this set's first block (another order, another format): parsing all of it then
   * costs no more.
   */
  #syncAfterShared(text: string): number | undefined {
    if (text.charCodeAt(0) !== 0x7b /* { */) return undefined;
    const blocks = this.#blocks;
    let at = 1;
    let shared = 0;
    let afterComma = false;
    for (; shared < blocks.length; shared++) {
      const b = blocks[shared]!;
      const p = this.#plainOf(b);
      // A slice and ===, not startsWith: V8 compares these as memory, 30× faster on a block.
      if (text.slice(at, at + p.length) !== p) break;
      // A block's text is whole members, so what follows it in valid JSON is "," or the end.
      const next = at + p.length;
      const c = text.charCodeAt(next);
      if (c === 0x2c /* , */) {
        at = next + 1;
        afterComma = true;
      } else if (c === 0x7d /* } */ && next === text.length - 1) {
        at = next;
        afterComma = false;
        shared++;
        break;
      } else break;
    }
    if (shared === 0) return undefined;
    // "{A,}" (or "{A, }") is not JSON: leave it to the whole parse to refuse.
    if (afterComma && text.slice(at).trimStart().startsWith("}")) return undefined;
    return this.#syncRecords(parseRawAllocatedIPs(`{${text.slice(at)}`), shared);
  }

  /**
   * Makes the records outside the first `shared` blocks those of `raw`: puts what is new or
   * changed, removes what `raw` does not hold. Returns how many records `raw` has.
   */
  #syncRecords(raw: RawAllocatedIPs, shared: number): number {
    let canonical = true;
    let read = 0;
    for (const ipText in raw) {
      read++;
      const k = parseKey(ipText);
      const ip = k?.key ?? ipText;
      if (ip !== ipText) canonical = false;
      const r = raw[ipText];
      const pod = r?.pod ?? "";
      const podUid = r?.podUid ?? "";
      const old = this.#records.get(ip);
      if (old !== undefined && old.pod === pod && old.podUid === podUid) continue;
      this.#put(ip, { pod, podUid });
    }
    if (this.#records.size === 0) return read;
    // Keys written in another form (upper-case IPv6, leading zeros) are looked up canonically.
    const keep = canonical ? undefined : new Set(Object.keys(raw).map((t) => parseKey(t)?.key ?? t));
    const gone: string[] = [];
    // A shared block's records are in the text as they are; a put above may have appended to
    // the last block, but only records `raw` holds.
    for (let i = shared; i < this.#blocks.length; i++) {
      for (const ip of this.#blocks[i]!.ips)
        if (keep !== undefined ? !keep.has(ip) : !Object.hasOwn(raw, ip)) gone.push(ip);
    }
    for (const ip of gone) this.#remove(ip);
    return read;
  }

  get size(): number {
    return this.#records.size;
  }

  get(ip: string): PoolRecord | undefined {
    return this.#records.get(ip);
  }

  entries(): IterableIterator<[string, PoolRecord]> {
    return this.#records.entries();
  }

  isUsed(value: bigint): boolean {
    return this.#used.has(value);
  }

  /** Where a search for a free address of `set` may start; see #hint. */
  hintFor(set: object): bigint | undefined {
    return this.#hint?.set === set ? this.#hint.below : undefined;
  }

  setHint(set: object, below: bigint): void {
    this.#hint = { set, below };
  }

  addressesOf(podUid: string): ReadonlySet<string> | undefined {
    return this.#byUid.get(podUid);
  }

  #put(ipText: string, rec: PoolRecord): void {
    const k = parseKey(ipText);
    const ip = k?.key ?? ipText;
    const old = this.#records.get(ip);
    if (old !== undefined) this.#unindex(ip, old);
    this.#records.set(ip, rec);
    let b = this.#blockOf.get(ip);
    if (b === undefined) {
      b = this.#blocks.at(-1);
      if (b === undefined || b.ips.size >= this.#blockRecords)
        this.#blocks.push((b = { ips: new Set(), plain: undefined }));
      b.ips.add(ip);
      this.#blockOf.set(ip, b);
      // An appended record (every allocation) extends the block's text by its member rather
      // than having every record of the block rendered again.
      if (b.plain !== undefined) b.plain += `,${plainFragment(ip, rec)}`;
    } else {
      b.plain = undefined;
    }
    if (k !== undefined && k.family === this.family) this.#used.add(k.value);
    let s = this.#byUid.get(rec.podUid);
    if (s === undefined) this.#byUid.set(rec.podUid, (s = new Set()));
    s.add(ip);
  }

  #unindex(ip: string, rec: PoolRecord): void {
    const s = this.#byUid.get(rec.podUid);
    s?.delete(ip);
    if (s?.size === 0) this.#byUid.delete(rec.podUid);
  }

  #remove(ip: string): void {
    const old = this.#records.get(ip);
    if (old === undefined) return;
    this.#unindex(ip, old);
    this.#records.delete(ip);
    const b = this.#blockOf.get(ip);
    if (b !== undefined) {
      this.#blockOf.delete(ip);
      b.ips.delete(ip);
      b.plain = undefined;
      if (b.ips.size === 0) this.#blocks.splice(this.#blocks.indexOf(b), 1);
    }
    const k = parseKey(ip);
    if (k !== undefined && k.family === this.family) {
      this.#used.delete(k.value);
      // A freed address below the hint is where the next search must start.
      if (this.#hint !== undefined && k.value < this.#hint.below) this.#hint.below = k.value;
    }
  }

  /** Applies a draft planned on this set (after its write succeeded). */
  apply(d: Draft): void {
    for (const ip of d.removed) this.#remove(ip);
    for (const [ip, r] of d.added) this.#put(ip, r);
  }

  #plainOf(b: Block): string {
    return (b.plain ??= plainRecords(this.#recordsOf(b.ips)));
  }

  /** A block's records, without those `skip` removes or replaces. */
  *#recordsOf(ips: Iterable<string>, skip?: Draft): Generator<[string, PoolRecord]> {
    for (const ip of ips) {
      if (skip !== undefined && (skip.removed.has(ip) || skip.added.has(ip))) continue;
      const r = this.#records.get(ip);
      if (r !== undefined) yield [ip, r];
    }
  }

  /**
   * The members of `status.allocatedIPs` for these records changed by `d`, in order, as
   * pieces of JSON text to be joined by commas: untouched blocks as they are stored, blocks
   * the draft changes rendered for it alone (it may yet be discarded), its additions last.
   * Empty pieces are left out.
   */
  fragments(d?: Draft): Fragment[] {
    let touched: Set<Block> | undefined;
    if (d !== undefined) {
      for (const ip of [...d.removed, ...d.added.keys()]) {
        const b = this.#blockOf.get(ip);
        if (b !== undefined) (touched ??= new Set()).add(b);
      }
    }
    const out: Fragment[] = [];
    for (const b of this.#blocks) {
      const plain = touched?.has(b) === true ? plainRecords(this.#recordsOf(b.ips, d)) : this.#plainOf(b);
      if (plain !== "") out.push({ block: touched?.has(b) === true ? undefined : b, plain });
    }
    if (d !== undefined && d.added.size > 0) out.push({ block: undefined, plain: plainRecords(d.added) });
    return out;
  }

  /** The JSON text of `status.allocatedIPs` for these records changed by `d`; no records is `undefined`. */
  render(d?: Draft): string | undefined {
    const parts = this.fragments(d);
    return parts.length === 0 ? undefined : `{${parts.map((f) => f.plain).join(",")}}`;
  }

  /** A plain copy of the records, for callers that want a Map. */
  toMap(): Map<string, PoolRecord> {
    return new Map(this.#records);
  }
}

/** The changes of one batch over a RecordSet, readable as the set they would make. */
export class Draft {
  readonly base: RecordSet;
  readonly added = new Map<string, PoolRecord>();
  readonly removed = new Set<string>();
  readonly #usedAdded = new Set<bigint>();
  readonly #usedRemoved = new Set<bigint>();

  constructor(base: RecordSet) {
    this.base = base;
  }

  get hasRemovals(): boolean {
    return this.removed.size > 0;
  }

  get changed(): boolean {
    return this.added.size > 0 || this.removed.size > 0;
  }

  get size(): number {
    let n = this.base.size;
    for (const ip of this.removed) if (this.base.get(ip) !== undefined) n--;
    for (const ip of this.added.keys()) if (this.base.get(ip) === undefined || this.removed.has(ip)) n++;
    return n;
  }

  get(ip: string): PoolRecord | undefined {
    const a = this.added.get(ip);
    if (a !== undefined) return a;
    return this.removed.has(ip) ? undefined : this.base.get(ip);
  }

  /** Records `ip` (canonical text) for a pod. */
  set(ip: string, r: PoolRecord): void {
    this.added.set(ip, r);
    const k = parseKey(ip);
    if (k !== undefined && k.family === this.base.family) {
      this.#usedAdded.add(k.value);
      this.#usedRemoved.delete(k.value);
    }
  }

  delete(ip: string): void {
    this.added.delete(ip);
    const k = parseKey(ip);
    if (k !== undefined && k.family === this.base.family) this.#usedAdded.delete(k.value);
    if (this.base.get(ip) !== undefined) {
      this.removed.add(ip);
      if (k !== undefined && k.family === this.base.family) this.#usedRemoved.add(k.value);
    }
  }

  /** Whether an address (a number of the set's family) is recorded in the draft. */
  isUsed(value: bigint): boolean {
    if (this.#usedAdded.has(value)) return true;
    return this.base.isUsed(value) && !this.#usedRemoved.has(value);
  }

  /** An address the pod holds in the draft, if any. */
  addressOf(podUid: string): string | undefined {
    for (const [ip, r] of this.added) if (r.podUid === podUid) return ip;
    for (const ip of this.base.addressesOf(podUid) ?? []) if (!this.removed.has(ip) && !this.added.has(ip)) return ip;
    return undefined;
  }

  /** Every address `podUid` holds in the draft, lowest first. */
  addressesOf(podUid: string): string[] {
    const out: string[] = [];
    for (const [ip, r] of this.added) if (r.podUid === podUid) out.push(ip);
    for (const ip of this.base.addressesOf(podUid) ?? [])
      if (!this.removed.has(ip) && !this.added.has(ip)) out.push(ip);
    if (out.length < 2) return out;
    const value = (ip: string): bigint => parseKey(ip)?.value ?? 0n;
    return out.sort((a, b) => (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : 0));
  }
}
