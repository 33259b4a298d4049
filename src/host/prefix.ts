/**
 * The text conventions ops and observed state share: prefixes as network/len CIDR, a bare
 * address standing for its host prefix (as `ip route add 192.0.2.1` means /32), and which
 * kernel answers an op's `ignore` turns into success. One place, so the netlink executor and
 * the fake read an op the same way.
 */
import { formatIP, parseCIDR, parseIP, type Family } from "../ip/index.ts";
import type { HostOp } from "./model.ts";

export interface Prefix {
  family: Family;
  network: bigint;
  prefix: number;
  /** Canonical `network/prefix` text. */
  text: string;
}

/** A CIDR, or a bare address as its /32 or /128. Host bits are cleared, as the kernel does. */
export function parsePrefix(s: string): Prefix {
  if (!s.includes("/")) {
    const ip = parseIP(s);
    const prefix = ip.family === 4 ? 32 : 128;
    return { family: ip.family, network: ip.value, prefix, text: `${formatIP(ip.family, ip.value)}/${prefix}` };
  }
  const c = parseCIDR(s);
  return {
    family: c.family,
    network: c.network,
    prefix: c.prefix,
    text: `${formatIP(c.family, c.network)}/${c.prefix}`,
  };
}

/** Address and length of an interface address (`192.0.2.1/24` keeps its host bits). */
export function parseInterfaceAddress(s: string): {
  family: Family;
  address: string;
  value: bigint;
  prefixLength: number;
} {
  const c = s.includes("/") ? parseCIDR(s) : undefined;
  if (c !== undefined)
    return { family: c.family, address: formatIP(c.family, c.ip), value: c.ip, prefixLength: c.prefix };
  const ip = parseIP(s);
  return {
    family: ip.family,
    address: formatIP(ip.family, ip.value),
    value: ip.value,
    prefixLength: ip.family === 4 ? 32 : 128,
  };
}

/** The default route's prefix of a family. */
export function defaultPrefix(family: Family): string {
  return family === 4 ? "0.0.0.0/0" : "::/0";
}

/**
 * The errnos an op's `ignore` accepts. "missing" covers each way the kernel says "not there":
 * ENOENT (rules, neighbours), ESRCH (routes), EADDRNOTAVAIL (addresses), ENODEV (links).
 */
export function isIgnored(op: HostOp, errno: string | undefined): boolean {
  if (errno === undefined) return false;
  if (op.ignore === "exists") return errno === "EEXIST";
  if (op.ignore === "missing")
    return errno === "ENOENT" || errno === "ESRCH" || errno === "EADDRNOTAVAIL" || errno === "ENODEV";
  return false;
}

/**
 * `/proc/sys` path of a sysctl key. A key with a `/` is a path already (`net/ipv6/conf/eth0.100/accept_ra`:
 * the only way to name a device whose name has a dot); otherwise dots separate components.
 */
export function sysctlPath(key: string): string {
  const rel = key.includes("/") ? key.replace(/^\/+/, "") : key.replaceAll(".", "/");
  if (rel.split("/").some((p) => p === ".." || p === "." || p === "")) throw new RangeError(`bad sysctl key '${key}'`);
  return `/proc/sys/${rel}`;
}

/** An op's failure text: the spec's context wrapping the kernel's words, as Go's `%w` reads. */
export function failureMessage(op: HostOp, kernel: string): string {
  if (op.context === undefined) return kernel;
  return op.context.includes("%w") ? op.context.replace("%w", kernel) : `${op.context}: ${kernel}`;
}
