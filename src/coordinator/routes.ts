/**
 * CIDR and policy-route normalisation shared by the netconf, the agent's config and the
 * planner: bare addresses become host prefixes, and a CIDR is written as its network so the
 * kernel accepts it as a route destination.
 */
import { canonicalIP, formatCIDR, tryParseCIDR, tryParseIP, type Family } from "../ip/index.ts";
import { CoordinatorConfigError, q } from "./errors.ts";

export interface PolicyRoute {
  dst: string;
  gw: string;
}

export interface NormalRoute {
  family: Family;
  dst: string;
  gw: string;
}

/** `ip` or `ip/prefix` → its network CIDR; undefined when it is neither. */
export function normaliseCidr(s: string): { family: Family; cidr: string } | undefined {
  const ip = tryParseIP(s);
  if (ip !== undefined)
    return { family: ip.family, cidr: formatCIDR({ ...ip, network: ip.value, prefix: ip.family === 4 ? 32 : 128 }) };
  const c = tryParseCIDR(s);
  return c === undefined ? undefined : { family: c.family, cidr: formatCIDR(c) };
}

/** The hijack list in upstream's order; an entry that is not a CIDR is refused as Go's ParseCIDR does. */
export function hijackList(lists: readonly (readonly string[])[]): { family: Family; cidr: string }[] {
  return lists.flat().map((s) => {
    const n = normaliseCidr(s);
    if (n === undefined) throw new CoordinatorConfigError(`failed to parse config: invalid CIDR address: ${s}`);
    return n;
  });
}

export function parsePolicyRoutes(routes: readonly PolicyRoute[]): NormalRoute[] {
  return routes.map((r) => {
    const dst = normaliseCidr(r.dst);
    if (dst === undefined)
      throw new CoordinatorConfigError(
        `failed to parse config: invalid route dst ${q(r.dst)}: invalid CIDR address: ${r.dst}`,
      );
    const gw = tryParseIP(r.gw);
    if (gw === undefined) throw new CoordinatorConfigError(`failed to parse config: invalid route gw ${q(r.gw)}`);
    if (gw.family !== dst.family)
      throw new CoordinatorConfigError(
        `failed to parse config: route dst ${q(r.dst)} and gw ${q(r.gw)} must use the same IP family`,
      );
    return { family: dst.family, dst: dst.cidr, gw: canonicalIP(r.gw) };
  });
}
