/**
 * A SpiderIPPool watch event decoded without its records. Every agent watches every pool,
 * so each status write reaches every agent, and decoding it whole (the records are one
 * escaped JSON string, 115 KB at 1 000 records, half a megabyte at 5 000) cost each of
 * them 0.2 ms at 1 000 records, for versions that are nearly all superseded before anyone
 * plans on them: 8 % of the agents' CPU in the dual-stack storm. Here the event is decoded
 * around the records, 0.012 ms, and `status.allocatedIPs` is decoded when first read, as
 * the pool writer does with the objects it writes (pool-writer.ts).
 *
 * Anything unexpected (the member twice, a value that is not an encoded object, a cut that
 * does not parse) falls back to decoding the event whole.
 */
import { parseJson } from "../api/int64.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { WatchEvent } from "../kube/client.ts";
import { joined } from "../kube/transport.ts";

const MEMBER = Buffer.from('"allocatedIPs":"{');
const STATUS = Buffer.from('"status":{');
/** An encoded object ends with `}`; a quote right after it is the string's own end, never an escaped one. */
const END = Buffer.from('}"');
/** Smaller events are decoded whole: there is nothing to save. */
const MIN_BYTES = 4096;

export function decodePoolEvent(line: readonly Buffer[]): WatchEvent<SpiderIPPool> | undefined {
  let size = 0;
  for (const b of line) size += b.length;
  if (size < MIN_BYTES) return undefined;
  const b = joined(line);
  const at = b.indexOf(MEMBER);
  if (at < 0) return undefined;
  const start = at + MEMBER.length - 2; // the opening quote
  const close = b.indexOf(END, start);
  if (close < 0) return undefined;
  const end = close + END.length;
  // The member once only, inside the last `status` object: neither can come again after the
  // records (an annotation of that name is in metadata, before a status that then follows).
  // Only the short tail is searched; the records' bytes are passed once, by the search for END.
  if (b.lastIndexOf(STATUS, at) < 0 || b.indexOf(STATUS, end) >= 0 || b.indexOf(MEMBER, end) >= 0) return undefined;
  let ev: WatchEvent<SpiderIPPool>;
  try {
    ev = parseJson(`${b.toString("utf8", 0, start)}""${b.toString("utf8", end)}`) as WatchEvent<SpiderIPPool>;
  } catch {
    return undefined;
  }
  const status = (ev?.object as SpiderIPPool | undefined)?.status as Record<string, unknown> | undefined;
  // The one member replaced must be the pool's own, and the rest must have parsed as an event.
  if (typeof ev?.type !== "string" || status === undefined || status["allocatedIPs"] !== "") return undefined;
  // A view, not a copy: it keeps the event's bytes, which the next version of the pool lets go.
  lazyAllocatedIPs(status, b.subarray(start, end));
  return ev;
}

/** `status.allocatedIPs` as the JSON string literal `literal`, decoded on first read; writable like a plain member. */
function lazyAllocatedIPs(status: Record<string, unknown>, literal: Buffer): void {
  const set = (value: unknown): void => {
    Object.defineProperty(status, "allocatedIPs", { value, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(status, "allocatedIPs", {
    enumerable: true,
    configurable: true,
    get: () => {
      const value = JSON.parse(literal.toString("utf8")) as unknown;
      set(value);
      return value;
    },
    set,
  });
}
