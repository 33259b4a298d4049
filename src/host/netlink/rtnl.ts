/**
 * rtnetlink's vocabulary shared by its codecs: message types, address families, scopes, and
 * addresses and MACs as bytes. The objects themselves, in the model's terms, are encoded into
 * requests and decoded from what the kernel sends back by one module each: rtnl-link.ts,
 * rtnl-address.ts, rtnl-route.ts, rtnl-rule.ts and rtnl-neighbour.ts. Names are resolved to
 * indexes by the caller (a link index map per namespace); these modules only translate.
 */
import { formatIP, parseIP, type Family } from "../../ip/index.ts";
import type { Scope } from "../model.ts";

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
  NEWRULE: 32,
  DELRULE: 33,
  GETRULE: 34,
} as const;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const afOf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);
export const familyOfAf = (af: number): Family | undefined => (af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined);

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`bad MAC '${mac}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function macText(b: Uint8Array | undefined): string {
  if (b === undefined) return "";
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

const SCOPES: Record<number, Scope> = { 0: "universe", 200: "site", 253: "link", 254: "host", 255: "nowhere" };
export const SCOPE_NUMBER: Record<Scope, number> = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
export const scopeOf = (n: number): Scope => SCOPES[n] ?? "universe";

export function ipBytes(s: string): Uint8Array {
  const ip = parseIP(s);
  const n = ip.family === 4 ? 4 : 16;
  const b = new Uint8Array(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ipText(b: Uint8Array): string {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return formatIP(b.length === 4 ? 4 : 6, v);
}
