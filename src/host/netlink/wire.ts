/**
 * Netlink framing: message headers, attributes (TLVs, 4-byte aligned, nested), and the
 * error/ack message. Native byte order is little-endian on every platform the agent ships
 * for (amd64, arm64); network-order fields (addresses) are raw bytes.
 */

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an error message's header: the original request is not echoed, and TLVs follow. */
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

/** An attribute to encode: a type and raw bytes, or nested attributes. */
export interface Attr {
  type: number;
  value: Uint8Array | readonly Attr[];
  nested?: boolean;
}

export function u8(type: number, v: number): Attr {
  return { type, value: Uint8Array.of(v) };
}

export function u16(type: number, v: number): Attr {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return { type, value: b };
}

export function u32(type: number, v: number): Attr {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return { type, value: b };
}

export function str(type: number, s: string): Attr {
  const enc = new TextEncoder().encode(s);
  const b = new Uint8Array(enc.length + 1);
  b.set(enc);
  return { type, value: b };
}

export function bytes(type: number, b: Uint8Array): Attr {
  return { type, value: b };
}

export function nest(type: number, attrs: readonly Attr[]): Attr {
  return { type, value: attrs, nested: true };
}

function attrsLength(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += align4(4 + valueLength(a));
  return n;
}

function valueLength(a: Attr): number {
  return a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value);
}

function writeAttrs(buf: Uint8Array, view: DataView, at: number, attrs: readonly Attr[]): number {
  for (const a of attrs) {
    const len = 4 + valueLength(a);
    view.setUint16(at, len, true);
    view.setUint16(at + 2, a.type | (a.nested ? NLA_F_NESTED : 0), true);
    if (a.value instanceof Uint8Array) buf.set(a.value, at + 4);
    else writeAttrs(buf, view, at + 4, a.value);
    at += align4(len);
  }
  return at;
}

/** Encodes attributes alone (a nested payload that also carries a fixed header, like a veth peer's ifinfomsg). */
export function encodeAttrs(header: Uint8Array, attrs: readonly Attr[]): Uint8Array {
  const buf = new Uint8Array(align4(header.length) + attrsLength(attrs));
  buf.set(header);
  writeAttrs(buf, new DataView(buf.buffer), align4(header.length), attrs);
  return buf;
}

/** One whole request: nlmsghdr, the family header, attributes. */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  header: Uint8Array,
  attrs: readonly Attr[],
): Uint8Array {
  const len = 16 + align4(header.length) + attrsLength(attrs);
  const buf = new Uint8Array(len);
  const view = new DataView(buf.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  view.setUint32(12, 0, true);
  buf.set(header, 16);
  writeAttrs(buf, view, 16 + align4(header.length), attrs);
  return buf;
}

export interface Message {
  type: number;
  flags: number;
  seq: number;
  /** The payload after nlmsghdr (family header + attributes). */
  body: Uint8Array;
}

/** Splits one datagram into its messages. */
export function* splitMessages(buf: Uint8Array): Generator<Message> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + 16 <= buf.length) {
    const len = view.getUint32(at, true);
    if (len < 16 || at + len > buf.length) throw new RangeError(`netlink: bad message length ${len} at ${at}`);
    yield {
      type: view.getUint16(at + 4, true),
      flags: view.getUint16(at + 6, true),
      seq: view.getUint32(at + 8, true),
      body: buf.subarray(at + 16, at + len),
    };
    at += align4(len);
  }
}

/** Attributes by type (the last one wins, as the kernel's nla_parse does); nested flag stripped. */
export function parseAttrs(buf: Uint8Array, offset = 0): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const [type, v] of listAttrs(buf, offset)) out.set(type, v);
  return out;
}

/** Attributes in order, repeats kept (RTA_MULTIPATH's nexthops, bond ARP targets). */
export function listAttrs(buf: Uint8Array, offset = 0): [number, Uint8Array][] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: [number, Uint8Array][] = [];
  let at = align4(offset);
  while (at + 4 <= buf.length) {
    const len = view.getUint16(at, true);
    if (len < 4) break;
    out.push([view.getUint16(at + 2, true) & NLA_TYPE_MASK, buf.subarray(at + 4, Math.min(at + len, buf.length))]);
    at += align4(len);
  }
  return out;
}

export function readU8(b: Uint8Array | undefined): number | undefined {
  return b === undefined || b.length < 1 ? undefined : (b[0] as number);
}

export function readU16(b: Uint8Array | undefined): number | undefined {
  return b === undefined || b.length < 2 ? undefined : new DataView(b.buffer, b.byteOffset, 2).getUint16(0, true);
}

export function readU32(b: Uint8Array | undefined): number | undefined {
  return b === undefined || b.length < 4 ? undefined : new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

export function readStr(b: Uint8Array | undefined): string | undefined {
  if (b === undefined) return undefined;
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

export interface ErrorMessage {
  /** 0 for an ack, else the positive errno. */
  errno: number;
  /** The kernel's extended-ack text, when it gave one. */
  text?: string;
}

export function parseError(m: Message): ErrorMessage {
  const view = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const errno = -view.getInt32(0, true);
  const out: ErrorMessage = { errno };
  if (m.flags & NLM_F_ACK_TLVS) {
    // nlmsgerr: error, then the request's header, then (unless capped) its payload, then TLVs.
    const echoed = m.flags & NLM_F_CAPPED ? 16 : view.getUint32(4, true);
    const tlvs = parseAttrs(m.body, 4 + echoed);
    const text = readStr(tlvs.get(NLMSGERR_ATTR_MSG));
    if (text !== undefined && text !== "") out.text = text;
  }
  return out;
}
