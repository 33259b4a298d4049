/**
 * A pool's records on the wire: the text of `status.allocatedIPs` as the bytes between the
 * quotes of the JSON string a status write carries (escaped once more, ASCII only), in
 * pieces sent one after another. The bytes of a block the record set stores unchanged are
 * made once and reused while its text stays the same, so a write of a big pool encodes only
 * what a batch touched.
 */
import type { Draft, Fragment, RecordSet } from "../ipam/record-set.ts";

/**
 * Text as it appears inside a JSON string: escaped, and ASCII only (anything else as a \\u
 * escape of four hex digits), so the bytes are its Latin-1 encoding and need no UTF-8 pass.
 */
function wireBytes(plain: string): Buffer {
  const escaped = JSON.stringify(plain)
    .slice(1, -1)
    .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return Buffer.from(escaped, "latin1");
}

const OPEN = Buffer.from("{");
const CLOSE = Buffer.from("}");
const COMMA = Buffer.from(",");

/** Bytes per stored block, valid while the block's text is the one they were made from. */
const cache = new WeakMap<object, { plain: string; bytes: Buffer }>();

function bytesOf(f: Fragment): Buffer {
  if (f.block === undefined) return wireBytes(f.plain);
  const hit = cache.get(f.block);
  if (hit !== undefined && hit.plain === f.plain) return hit.bytes;
  const bytes = wireBytes(f.plain);
  cache.set(f.block, { plain: f.plain, bytes });
  return bytes;
}

/** `status.allocatedIPs` of `set` changed by `d`, as wire pieces; no records is `undefined`. */
export function recordsWire(set: RecordSet, d?: Draft): Buffer[] | undefined {
  const fragments = set.fragments(d);
  if (fragments.length === 0) return undefined;
  const parts: Buffer[] = [OPEN];
  for (const f of fragments) {
    if (parts.length > 1) parts.push(COMMA);
    parts.push(bytesOf(f));
  }
  parts.push(CLOSE);
  return parts;
}

/** The text wire pieces (as `recordsWire` gives them) stand for. */
export function decodeWire(w: readonly Buffer[]): string {
  return JSON.parse(`"${Buffer.concat(w).toString("latin1")}"`) as string;
}
