/** MAC addresses the coordinator writes: random veth ends, and the §1.7 prefix + address bytes. */
import { parseIP } from "../ip/index.ts";

const hex = (b: number): string => b.toString(16).padStart(2, "0");

/** A locally administered unicast MAC from 6 random bytes (defeats systemd's MAC policy, §1.5). */
export function randomLocalMac(bytes: Uint8Array): string {
  if (bytes.length < 6) throw new RangeError("a MAC needs 6 random bytes");
  const b = Array.from(bytes.subarray(0, 6));
  b[0] = ((b[0] as number) & 0xfe) | 0x02;
  return b.map(hex).join(":");
}

/**
 * `<prefix>:<b1>:<b2>:<b3>:<b4>` from an IPv4 address or the last 4 bytes of an IPv6 one.
 * Always 4 fixed-width bytes: upstream went through big.Int and shifted addresses whose
 * leading byte is 0 (docs/compatibility.md).
 */
export function prefixedMac(prefix: string, address: string): string {
  const ip = parseIP(address);
  const low = Number(ip.value & 0xffff_ffffn);
  return [prefix, hex(low >>> 24), hex((low >>> 16) & 0xff), hex((low >>> 8) & 0xff), hex(low & 0xff)].join(":");
}
