/** rtnetlink neighbours in the model's terms: neighbour ops and the entries that count as neighbours. */
import type { Neighbour } from "../model.ts";
import { afOf, familyOfAf, ipBytes, ipText, macBytes, macText } from "./rtnl.ts";
import { bytes, parseAttrs, type Attr, type Message } from "./wire.ts";

const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_PERMANENT = 0x80;
const NUD_NOARP = 0x40;
const NUD_FAILED = 0x20;
const NUD_INCOMPLETE = 0x01;

/** struct ndmsg: family, ifindex, state, flags, type. */
export function ndmsg(af: number, index = 0, state = 0): Uint8Array {
  const b = new Uint8Array(12);
  b[0] = af;
  const v = new DataView(b.buffer);
  v.setInt32(4, index, true);
  v.setUint16(8, state, true);
  return b;
}

export function neighRequest(
  n: Pick<Neighbour, "family" | "address"> & { mac?: string; permanent?: boolean },
  index: number,
): [Uint8Array, Attr[]] {
  const header = ndmsg(afOf(n.family), index, n.permanent === false ? 0x02 : NUD_PERMANENT);
  const attrs: Attr[] = [bytes(NDA_DST, ipBytes(n.address))];
  if (n.mac !== undefined) attrs.push(bytes(NDA_LLADDR, macBytes(n.mac)));
  return [header, attrs];
}

/** A neighbour as observed; NOARP (multicast, loopback), INCOMPLETE and FAILED entries are not neighbours yet. */
export function decodeNeighbour(m: Message, nameOf: (index: number) => string | undefined): Neighbour | undefined {
  const b = m.body;
  const family = familyOfAf(b[0] as number);
  if (family === undefined) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const index = v.getInt32(4, true);
  const state = v.getUint16(8, true);
  if (state & (NUD_NOARP | NUD_FAILED | NUD_INCOMPLETE)) return undefined;
  const a = parseAttrs(b, 12);
  const dst = a.get(NDA_DST);
  if (dst === undefined) return undefined;
  return {
    family,
    dev: nameOf(index) ?? `if${index}`,
    address: ipText(dst),
    mac: macText(a.get(NDA_LLADDR)),
    permanent: (state & NUD_PERMANENT) !== 0,
  };
}
