/**
 * The protobuf wire format (https://protobuf.dev/programming-guides/encoding/): tags,
 * varints, length-delimited fields, fixed 32- and 64-bit fields. Only what Kubernetes'
 * messages use; groups (wire types 3 and 4) are refused.
 */

import { SpiderpoolError } from "../../errors/base.ts";

/** Bytes that are not a protobuf message. */
export class WireError extends SpiderpoolError {
  readonly code = "PROTOBUF_MALFORMED";
}

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

export interface WireField {
  readonly number: number;
  readonly wireType: number;
  /** VARINT and FIXED*: the value as an unsigned bigint; BYTES: the payload. */
  readonly value: bigint | Uint8Array;
}

/** Splits one message into its fields, in wire order. */
export function readFields(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new WireError("truncated varint");
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new WireError("varint longer than 10 bytes");
    }
  };
  const fixed = (n: number): bigint => {
    if (pos + n > buf.length) throw new WireError("truncated fixed-width field");
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i] as number);
    pos += n;
    return v;
  };
  while (pos < buf.length) {
    const tag = varint();
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number === 0) throw new WireError("field number 0");
    switch (wireType) {
      case VARINT:
        out.push({ number, wireType, value: varint() });
        break;
      case FIXED64:
        out.push({ number, wireType, value: fixed(8) });
        break;
      case FIXED32:
        out.push({ number, wireType, value: fixed(4) });
        break;
      case BYTES: {
        const len = Number(varint());
        if (pos + len > buf.length) throw new WireError("truncated length-delimited field");
        out.push({ number, wireType, value: buf.subarray(pos, pos + len) });
        pos += len;
        break;
      }
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
  }
  return out;
}

/** Builds a message field by field. */
export class WireWriter {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;

  #push(b: Uint8Array): void {
    this.#chunks.push(b);
    this.#size += b.length;
  }

  #varint(v: bigint): void {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      bytes.push(b);
    } while (x !== 0n);
    this.#push(Uint8Array.from(bytes));
  }

  /** An int32/int64/bool/enum field; negative numbers take ten bytes, as in two's complement. */
  varint(number: number, v: bigint | number | boolean): this {
    this.#varint(BigInt((number << 3) | VARINT));
    this.#varint(typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v));
    return this;
  }

  bytes(number: number, payload: Uint8Array): this {
    this.#varint(BigInt((number << 3) | BYTES));
    this.#varint(BigInt(payload.length));
    this.#push(payload);
    return this;
  }

  string(number: number, s: string): this {
    return this.bytes(number, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
