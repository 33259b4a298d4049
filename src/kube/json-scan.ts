/**
 * Finding one member of a JSON document without decoding the rest. A pool's status holds
 * its records as one string of up to half a megabyte; an answer to our own status write, or
 * the watch event that echoes it, is read only for its metadata, which the API server writes
 * before the status. Skipping a value costs a pass over its bytes and allocates nothing, so
 * a document whose members come in another order is still read correctly, only slower.
 */
import { parseJson } from "../api/int64.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

class Scan {
  readonly b: Buffer;
  i = 0;
  constructor(b: Buffer) {
    this.b = b;
  }

  fail(what: string): never {
    throw new SyntaxError(`JSON: ${what} at byte ${this.i}`);
  }

  ws(): void {
    while (isSpace(this.b[this.i])) this.i++;
  }

  expect(c: number): void {
    this.ws();
    if (this.b[this.i] !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.i++;
  }

  /** Past the string starting at i (its opening quote). */
  string(): void {
    const b = this.b;
    let j = this.i + 1;
    for (;;) {
      const q = b.indexOf(QUOTE, j);
      if (q < 0) this.fail("unterminated string");
      let k = q;
      while (b[k - 1] === BACKSLASH) k--;
      j = q + 1;
      // An even run of backslashes escapes itself, not the quote.
      if ((q - k) % 2 === 0) break;
    }
    this.i = j;
  }

  /** Past the value starting at i. */
  value(): void {
    const b = this.b;
    this.ws();
    const c = b[this.i];
    if (c === QUOTE) return this.string();
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      for (;;) {
        const x = b[this.i];
        if (x === undefined) this.fail("unterminated value");
        if (x === QUOTE) {
          this.string();
          continue;
        }
        if (x === 0x7b || x === 0x5b) depth++;
        else if (x === 0x7d || x === 0x5d) depth--;
        this.i++;
        if (depth === 0) return;
      }
    }
    // A number, true, false or null: up to the next delimiter.
    const start = this.i;
    while (this.i < b.length) {
      const x = b[this.i];
      if (x === 0x2c || x === 0x7d || x === 0x5d || isSpace(x)) break;
      this.i++;
    }
    if (this.i === start) this.fail("expected a value");
  }

  /** The next member's name, or undefined at the end of the object. */
  key(first: boolean): string | undefined {
    this.ws();
    if (this.b[this.i] === 0x7d) {
      this.i++;
      return undefined;
    }
    if (!first) {
      this.expect(0x2c);
      this.ws();
    }
    if (this.b[this.i] !== QUOTE) this.fail("expected a member name");
    const start = this.i;
    this.string();
    const raw = this.b.toString("utf8", start, this.i);
    this.expect(0x3a);
    return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }
}

/**
 * The bytes of the value at `path` (member names from the top-level object down), or
 * undefined when a member on the path is missing. Throws SyntaxError on text that is not
 * JSON as far as it was read.
 */
export function memberBytes(b: Buffer, path: readonly string[]): Buffer | undefined {
  const s = seek(b, path);
  if (s === undefined) return undefined;
  const start = s.i;
  s.value();
  return b.subarray(start, s.i);
}

/**
 * Where the value at `path` starts (its first byte), without reading the value: the cost
 * is that of the members before it. Undefined when a member on the path is missing.
 */
export function memberStart(b: Buffer, path: readonly string[]): number | undefined {
  return seek(b, path)?.i;
}

function seek(b: Buffer, path: readonly string[]): Scan | undefined {
  const s = new Scan(b);
  for (let depth = 0; depth < path.length; depth++) {
    s.expect(0x7b);
    for (let first = true; ; first = false) {
      const k = s.key(first);
      if (k === undefined) return undefined;
      if (k === path[depth]) break;
      s.value();
    }
  }
  s.ws();
  return s;
}

/** The value at `path`, decoded; undefined when it is missing. */
export function memberJson(b: Buffer, path: readonly string[]): unknown {
  const m = memberBytes(b, path);
  return m === undefined ? undefined : parseJson(m.toString("utf8"));
}

/**
 * `memberJson` of a document that arrived in pieces, reading the first piece alone when
 * the member lies in it (metadata comes first, so it nearly always does) and joining the
 * pieces only when it does not.
 */
export function memberJsonIn(parts: readonly Buffer[], path: readonly string[]): unknown {
  const first = parts[0];
  if (first === undefined) throw new SyntaxError("JSON: empty document");
  if (parts.length > 1) {
    try {
      return memberJson(first, path);
    } catch (err) {
      // Cut short by the end of the piece; the whole document decides.
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  return memberJson(parts.length === 1 ? first : Buffer.concat(parts), path);
}
