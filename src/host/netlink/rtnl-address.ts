/** rtnetlink addresses in the model's terms: the request's header and attributes, and addresses as observed. */
import type { Address } from "../model.ts";
import { familyOfAf, ipBytes, ipText, scopeOf } from "./rtnl.ts";
import { bytes, parseAttrs, readU32, type Attr, type Message } from "./wire.ts";

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_TENTATIVE = 0x40;

/** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
export function ifaddrmsg(af: number, prefixLength = 0, scope = 0, index = 0): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = af;
  b[1] = prefixLength;
  b[3] = scope;
  new DataView(b.buffer).setUint32(4, index, true);
  return b;
}

export function addrAttrs(address: string): Attr[] {
  const b = ipBytes(address);
  // IPv4 takes the local address in IFA_LOCAL (IFA_ADDRESS is the peer on point-to-point links).
  return b.length === 4 ? [bytes(IFA_LOCAL, b), bytes(IFA_ADDRESS, b)] : [bytes(IFA_ADDRESS, b)];
}

export function decodeAddress(m: Message): Address | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const a = parseAttrs(b, 8);
  const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
  if (raw === undefined) return undefined;
  const flags = readU32(a.get(IFA_FLAGS)) ?? (b[2] as number);
  const out: Address = {
    linkIndex: new DataView(b.buffer, b.byteOffset).getUint32(4, true),
    family,
    address: ipText(raw),
    prefixLength: b[1] as number,
    scope: scopeOf(b[3] as number),
  };
  if (flags & IFA_F_TENTATIVE) out.tentative = true;
  return out;
}
