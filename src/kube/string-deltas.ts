/**
 * Decoding successive versions of objects whose one big string member changes little from
 * one version to the next, at the cost of what changed.
 *
 * A pool's `status.allocatedIPs` is one JSON string holding every record: a megabyte at
 * 10 000 records. Every agent watches every pool, so every agent decodes every version every
 * agent writes; decoded whole, that cost each agent ~3 ms per megabyte per version, and the
 * storm's cost grew with agents × versions × records (docs/performance.md, scale-out). Yet
 * one version differs from the one before in a few records, at the end when addresses are
 * allocated (a record set appends to its last block): the bytes before the first change
 * are the previous version's, compared with memcmp, and only the rest is decoded.
 *
 * What comes out is exactly what a full parse gives: the bytes reused are the previous
 * version's, which were validated when it was decoded, and the rest is parsed as usual.
 */
import { parseJson } from "../api/int64.ts";
import { memberStart } from "./json-scan.ts";
import { Pieces } from "./pieces.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/** Below this many bytes a string is decoded with its document: keeping it would save nothing. */
export const DELTA_MIN_BYTES = 16 * 1024;

interface Kept {
  /** The string's JSON literal (quotes included) in the last version decoded, in `buf[0, len)`. */
  buf: Buffer;
  len: number;
  /** Its decoded text. */
  text: string;
}

export interface DeltaStats {
  /** Versions decoded from a kept one. */
  reused: number;
  /** Versions decoded whole (no kept version, or small). */
  whole: number;
}

/** Where one version's literal is: `doc[s, end]`, quotes included (a reference, not a copy). */
interface Seen {
  doc: Pieces;
  s: number;
  end: number;
}

export class StringDeltas {
  readonly #path: readonly string[];
  readonly #uidPath: readonly string[];
  readonly #minBytes: number;
  /** Per object, the last version decoded to text. */
  readonly #kept = new Map<string, Kept>();
  /** Per object, the last version seen: where the next one's literal ends is found from it. */
  readonly #seen = new Map<string, Seen>();
  readonly stats: DeltaStats = { reused: 0, whole: 0 };

  /**
   * @param path the member from the document's top down (for watch events, `object` first)
   * @param uidPath where the object's identity is (versions of one object share it)
   */
  constructor(path: readonly string[], uidPath: readonly string[], minBytes = DELTA_MIN_BYTES) {
    if (path.length === 0) throw new Error("StringDeltas: empty path");
    this.#path = path;
    this.#uidPath = uidPath;
    this.#minBytes = minBytes;
  }

  /** How many objects have a kept version. */
  get size(): number {
    return this.#kept.size;
  }

  /** The object is gone: its kept version with it. */
  forget(uid: string): void {
    this.#kept.delete(uid);
    this.#seen.delete(uid);
  }

  /**
   * `doc` decoded, or undefined when the member is missing, not a string or small, and when
   * the document is not JSON or not of the path's shape: the caller then decodes it as
   * usual and reports what is wrong with it.
   *
   * The member itself is decoded when first read, not here: most versions a watcher sees
   * are replaced by the next before anything reads their records (an agent reads a pool's
   * records when it writes to it, not at every other agent's write), and until then the
   * version costs a comparison of its bytes with the last one seen, not a string of a
   * megabyte made and collected. The literal's bytes are still checked here (see
   * closingQuote), so a version whose records are not a JSON string is refused at once.
   */
  decode(doc: Buffer | readonly Buffer[]): unknown {
    try {
      return this.#decode(new Pieces(Buffer.isBuffer(doc) ? [doc] : doc));
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  #decode(doc: Pieces): unknown {
    const head = headOf(doc, this.#path, this.#uidPath);
    if (head === undefined) return undefined;
    const { s, uid } = head;
    const prev = uid !== undefined ? this.#seen.get(uid) : undefined;
    let end: number;
    const prevLen = prev !== undefined ? prev.end - prev.s + 1 : 0;
    const same = prev !== undefined ? doc.commonPrefixWith(s, prev.doc, prev.s, prevLen) : 0;
    if (prev !== undefined && same === prevLen) {
      // The whole literal, closing quote included, is the last one's.
      end = s + prevLen - 1;
    } else {
      end = closingQuote(doc, s + (prev !== undefined ? resumeAt(prev.doc, prev.s, same) : 1));
    }
    if (end - s + 1 < this.#minBytes) {
      if (uid !== undefined) this.forget(uid);
      return undefined;
    }
    const rest = parseJson(`${doc.toString(0, s)}null${doc.toString(end + 1, doc.length)}`);
    let parent: unknown = rest;
    for (const k of this.#path.slice(0, -1)) parent = (parent as Record<string, unknown> | null)?.[k];
    if (typeof parent !== "object" || parent === null || Array.isArray(parent)) return undefined;
    const member = this.#path.at(-1) as string;
    const holder = parent as Record<string, unknown>;
    const settle = (value: unknown): void => {
      Object.defineProperty(holder, member, { value, writable: true, enumerable: true, configurable: true });
    };
    Object.defineProperty(holder, member, {
      enumerable: true,
      configurable: true,
      get: () => {
        const text = this.#text(uid, doc, s, end);
        settle(text);
        return text;
      },
      set: settle,
    });
    if (uid !== undefined) this.#seen.set(uid, { doc, s, end });
    return rest;
  }

  /** The text of the literal at `doc[s, end]`, decoded from the object's kept version when it has one. */
  #text(uid: string | undefined, doc: Pieces, s: number, end: number): string {
    const prev = uid !== undefined ? this.#kept.get(uid) : undefined;
    const len = end - s + 1;
    let text: string;
    let same = 0;
    if (prev === undefined) {
      text = JSON.parse(doc.toString(s, end + 1)) as string;
    } else {
      same = doc.commonPrefix(s, prev.buf, prev.len);
      if (same === prev.len && len === prev.len) {
        text = prev.text;
      } else {
        const cut = resumeAt(new Pieces([prev.buf]), 0, same);
        const tail = JSON.parse(`"${doc.toString(s + cut, end)}"`) as string;
        text = tail;
        if (cut > 1) {
          const prevTail = JSON.parse(`"${prev.buf.toString("utf8", cut, prev.len - 1)}"`) as string;
          text = prev.text.slice(0, prev.text.length - prevTail.length) + tail;
        }
      }
    }
    if (uid === undefined) return text;
    let buf = prev?.buf;
    if (buf === undefined || buf.length < len) {
      // Room to grow, so a pool that fills up is not copied anew at every version.
      const grown = Buffer.allocUnsafeSlow(Math.ceil(len * 1.25));
      if (buf !== undefined) buf.copy(grown, 0, 0, same);
      buf = grown;
    }
    // The first `same` bytes are the kept version's, already there.
    doc.copy(buf, same, s + same, end + 1);
    this.#kept.set(uid, { buf, len, text });
    if (prev !== undefined) this.stats.reused++;
    else this.stats.whole++;
    return text;
  }
}

/**
 * Where, from the literal's start (`lit[at]`, its opening quote), reading resumes when its
 * first `same` bytes are known: after the last comma among them, or after the quote. A
 * comma byte inside a JSON string is always the character itself (never inside an escape,
 * nor a byte of a multi-byte UTF-8 character), so what follows it starts a character.
 */
function resumeAt(lit: Pieces, at: number, same: number): number {
  const comma = same > 0 ? lit.lastIndexOf(COMMA, at, at + same - 1) - at : -1;
  return comma >= 1 ? comma + 1 : 1;
}

/**
 * Where the member's literal starts (`s`, its opening quote) and the object's uid, read from
 * the document's first piece, which nearly always holds them (metadata and spec come before
 * the status); from the joined document when it does not. Undefined when the member is
 * missing or not a string.
 */
function headOf(
  doc: Pieces,
  path: readonly string[],
  uidPath: readonly string[],
): { s: number; uid: string | undefined } | undefined {
  const first = doc.parts[0];
  if (first === undefined) return undefined;
  let head = first;
  let s: number | undefined;
  let uid: string | undefined;
  try {
    s = memberStart(head, path);
    uid = uidOf(head, uidPath);
  } catch (err) {
    // Cut short by the end of the piece (or not JSON: the joined document decides).
    if (!(err instanceof SyntaxError) || doc.parts.length === 1) throw err;
    head = doc.slice(0, doc.length);
    s = memberStart(head, path);
    uid = uidOf(head, uidPath);
  }
  if (s !== undefined && head === first && s >= first.length && doc.parts.length > 1) {
    // The piece ended between the member's colon and its value (whitespace in the next
    // piece): where the value starts, only the joined document says.
    head = doc.slice(0, doc.length);
    s = memberStart(head, path);
  }
  if (s === undefined || doc.byte(s) !== QUOTE) return undefined;
  return { s, uid };
}

function uidOf(doc: Buffer, path: readonly string[]): string | undefined {
  const at = memberStart(doc, path);
  // Cut between the colon and the value: the caller reads the joined document.
  if (at !== undefined && at >= doc.length) throw new SyntaxError("JSON: unexpected end");
  if (at === undefined || doc[at] !== QUOTE) return undefined;
  const q = doc.indexOf(QUOTE, at + 1);
  // A uid cut by the end of the piece: the caller reads the joined document.
  if (q < 0) throw new SyntaxError("JSON: unterminated string");
  const uid = doc.toString("latin1", at + 1, q);
  // UIDs hold no escapes; one that seems to is not kept.
  return uid === "" || uid.includes("\\") ? undefined : uid;
}

/** Bytes that may follow a backslash in a JSON string (besides `u`). */
const ESCAPED = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
}

/**
 * The index of the quote that ends the JSON string whose text resumes at `i` (not inside
 * an escape), checking on the way what JSON.parse would refuse: control characters and
 * escapes that are not JSON's. So every literal seen is valid before its text is decoded:
 * the first whole, each later one up to a prefix already checked.
 */
function closingQuote(doc: Pieces, i: number): number {
  for (;;) {
    const c = doc.byte(i);
    if (c === undefined) throw new SyntaxError("JSON: unterminated string");
    if (c === QUOTE) return i;
    if (c < 0x20) throw new SyntaxError("JSON: control character in string");
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    const e = doc.byte(i + 1);
    if (e === 0x75 /* u */) {
      if (!(isHex(doc.byte(i + 2)) && isHex(doc.byte(i + 3)) && isHex(doc.byte(i + 4)) && isHex(doc.byte(i + 5))))
        throw new SyntaxError("JSON: bad \\u escape in string");
      i += 6;
    } else if (e !== undefined && ESCAPED.has(e)) {
      i += 2;
    } else throw new SyntaxError("JSON: bad escape in string");
  }
}
