/**
 * Rules shared by the SpiderIPPool and SpiderSubnet webhooks (spec §2.1, §2.2): family,
 * canonical CIDR, gateway and routes, with upstream's messages.
 */
import { formatCIDR, IPRangeSet, tryParseCIDR, tryParseIP, tryParseIPRange, type CIDR } from "../../ip/index.ts";
import { forbidden, invalid, notSupported, type Verdict } from "./verdict.ts";

export interface FamilyConfig {
  enableIPv4: boolean;
  enableIPv6: boolean;
}

/** The fields both kinds share. */
export interface RangeSpec {
  ipVersion?: number | undefined;
  subnet: string;
  ips?: string[] | undefined;
  excludeIPs?: string[] | undefined;
  gateway?: string | undefined;
  routes?: { dst: string; gw: string }[] | undefined;
}

export function familyOfSubnet(subnet: string): 4 | 6 | undefined {
  return tryParseCIDR(subnet)?.family;
}

export function mergeList(family: 4 | 6, list: string[] | undefined): string[] | undefined {
  if (list === undefined || list.length <= 1) return list;
  try {
    return IPRangeSet.parse(family, list).toStrings();
  } catch {
    return list;
  }
}

export function effective(family: 4 | 6, spec: RangeSpec): IPRangeSet | undefined {
  try {
    return IPRangeSet.parse(family, spec.ips ?? []).subtract(IPRangeSet.parse(family, spec.excludeIPs ?? []));
  } catch {
    return undefined;
  }
}

export function checkVersion(spec: RangeSpec, cfg: FamilyConfig): Verdict | undefined {
  const v = spec.ipVersion;
  if (v === undefined)
    return invalid("spec.ipVersion", null, "is not generated correctly, 'spec.subnet' may be invalid");
  if (v !== 4 && v !== 6) return notSupported("spec.ipVersion", v, [4, 6]);
  if (v === 4 && !cfg.enableIPv4) return forbidden("spec.ipVersion", "IPv4 is disabled");
  if (v === 6 && !cfg.enableIPv6) return forbidden("spec.ipVersion", "IPv6 is disabled");
  return undefined;
}

export function checkSubnet(spec: RangeSpec): CIDR | Verdict {
  const s = spec.subnet;
  const c = tryParseCIDR(s);
  if (c === undefined || c.family !== spec.ipVersion)
    return invalid("spec.subnet", s, `invalid IPv${spec.ipVersion} CIDR`);
  const canonical = formatCIDR(c);
  if (canonical !== s) return invalid("spec.subnet", s, `unformatted subnet ${s}, please change it to ${canonical}`);
  return c;
}

/** `gateway` inside the subnet and, unless excluded, not an address handed out (§2.1 4c). */
export function checkGateway(spec: RangeSpec, cidr: CIDR): Verdict | undefined {
  const family = cidr.family;
  const gw = spec.gateway;
  if (gw !== undefined) {
    const ip = tryParseIP(gw);
    if (ip === undefined || ip.family !== family || ip.value < cidr.network || ip.value > cidr.last) {
      return invalid("spec.gateway", gw, `not pertains to the 'spec.subnet' ${spec.subnet}`);
    }
    const excluded = IPRangeSet.parse(family, spec.excludeIPs ?? []).has(ip.value);
    if (!excluded) {
      const idx = (spec.ips ?? []).findIndex((s) => IPRangeSet.parse(family, [s]).has(ip.value));
      if (idx >= 0) {
        return invalid(
          `spec.ips[${idx}]`,
          spec.ips?.[idx],
          `conflicts with 'spec.gateway' ${gw}, add the gateway IP address to 'spec.excludeIPs' or remove it from 'spec.ips'`,
        );
      }
    }
  }
  return undefined;
}

/** `routes`: no default route, unique destinations of the family, gateways inside the subnet (§2.1 4d). */
export function checkRoutes(spec: RangeSpec, cidr: CIDR): Verdict | undefined {
  const family = cidr.family;
  const seen = new Set<string>();
  for (const [i, r] of (spec.routes ?? []).entries()) {
    const dst = tryParseCIDR(r.dst);
    if (r.dst === (family === 4 ? "0.0.0.0/0" : "::/0"))
      return invalid(`spec.routes[${i}].dst`, r.dst, "please specify 'spec.gateway' to configure the default route");
    if (seen.has(r.dst)) return invalid(`spec.routes[${i}].dst`, r.dst, "duplicate route with the same dst");
    seen.add(r.dst);
    if (dst === undefined || dst.family !== family)
      return invalid(`spec.routes[${i}].dst`, r.dst, `invalid IPv${family} CIDR`);
    const g = tryParseIP(r.gw);
    if (g === undefined || g.family !== family || g.value < cidr.network || g.value > cidr.last) {
      return invalid(`spec.routes[${i}].gw`, r.gw, `not pertains to the 'spec.subnet' ${spec.subnet}`);
    }
  }
  return undefined;
}

/**
 * UPDATE rules both kinds share, before anything else: a terminating object may only lose
 * its finalizers (`terminating` is the kind's own text, upstream's typo included), and the
 * family and subnet never change.
 */
export function checkUpdate(
  obj: { metadata: { deletionTimestamp?: string | undefined; finalizers?: string[] | undefined }; spec: RangeSpec },
  old: { spec: RangeSpec } | undefined,
  terminating: string,
): Verdict | undefined {
  if (obj.metadata.deletionTimestamp !== undefined)
    return (obj.metadata.finalizers ?? []).length === 0
      ? undefined
      : forbidden("metadata.deletionTimestamp", terminating);
  if (old === undefined) return undefined;
  if (old.spec.ipVersion !== undefined && obj.spec.ipVersion !== undefined && old.spec.ipVersion !== obj.spec.ipVersion)
    return forbidden("spec.ipVersion", "is not changeable");
  if (old.spec.subnet !== obj.spec.subnet) return forbidden("spec.subnet", "is not changeable");
  return undefined;
}

/** Each entry a range of the family inside the CIDR; `owner` ends the message as upstream's kind does. */
export function checkRangesWithin(
  field: string,
  list: string[] | undefined,
  cidr: CIDR,
  subnet: string,
  owner = "",
): Verdict | undefined {
  for (const [i, s] of (list ?? []).entries()) {
    const r = tryParseIPRange(s);
    if (r === undefined || r.family !== cidr.family)
      return invalid(`${field}[${i}]`, s, `invalid IP range of IPv${cidr.family}`);
    if (r.start < cidr.network || r.end > cidr.last)
      return invalid(`${field}[${i}]`, s, `IP range '${s}' not pertains to the 'spec.subnet' ${subnet}${owner}`);
  }
  return undefined;
}
