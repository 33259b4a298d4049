/**
 * SpiderIPPool rules upstream lacks (issue 16): pools that can never work, or would hand out
 * addresses no pod can use, are refused at admission instead of failing pods later. Upstream
 * accepts each of these; docs/compatibility.md lists them.
 */
import type { IPPoolSpec } from "../../api/ippool.ts";
import type { LabelSelector } from "../../api/meta.ts";
import { requirementsOf } from "../../api/selector.ts";
import { formatIP, IPRangeSet, tryParseIP, type CIDR } from "../../ip/index.ts";
import { invalid, type Verdict } from "./verdict.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const isLabel = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
const isSubdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
/** A Multus network: `name` or `namespace/name`, as Multus's annotations name them. */
const isMultusName = (s: string): boolean => {
  const parts = s.split("/");
  if (parts.length === 1) return isSubdomain(s);
  return parts.length === 2 && isLabel(parts[0] ?? "") && isSubdomain(parts[1] ?? "");
};

function checkNames(
  field: string,
  list: readonly string[] | undefined,
  ok: (s: string) => boolean,
  what: string,
): Verdict | undefined {
  for (const [i, s] of (list ?? []).entries()) {
    if (typeof s !== "string" || !ok(s)) return invalid(`${field}[${i}]`, s, `not a valid ${what}`);
  }
  return undefined;
}

function checkSelector(field: string, sel: LabelSelector | undefined): Verdict | undefined {
  if (sel === undefined) return undefined;
  try {
    requirementsOf(sel);
    return undefined;
  } catch (err) {
    return invalid(field, sel, (err as Error).message);
  }
}

/** ::ffff:0:0/96, the IPv4-mapped addresses: never a pod's on an IPv6 network. */
const MAPPED = { start: 0xffffn << 32n, end: (0xffffn << 32n) | 0xffff_ffffn };

export function checkPoolSanity(spec: IPPoolSpec, cidr: CIDR): Verdict | undefined {
  const names =
    checkNames("spec.namespaceName", spec.namespaceName, isLabel, "namespace name (DNS-1123 label)") ??
    checkNames("spec.nodeName", spec.nodeName, isSubdomain, "node name (DNS-1123 subdomain)") ??
    checkNames("spec.multusName", spec.multusName, isMultusName, "Multus network name ([namespace/]name)");
  if (names !== undefined) return names;
  const sel =
    checkSelector("spec.nodeAffinity", spec.nodeAffinity) ??
    checkSelector("spec.namespaceAffinity", spec.namespaceAffinity);
  if (sel !== undefined) return sel;
  if (cidr.family === 6 && cidr.network <= MAPPED.end && cidr.last >= MAPPED.start)
    return invalid("spec.subnet", spec.subnet, "IPv4-mapped IPv6 addresses (::ffff:0:0/96) are not a pod network");
  if (spec.gateway !== undefined && cidr.prefix < (cidr.family === 4 ? 31 : 127)) {
    if (tryParseIP(spec.gateway)?.value === cidr.network)
      return invalid("spec.gateway", spec.gateway, `is the network address of ${spec.subnet}`);
  }
  if (cidr.family === 4 && cidr.prefix <= 30) {
    const eff = IPRangeSet.parse(4, spec.ips ?? []).subtract(IPRangeSet.parse(4, spec.excludeIPs ?? []));
    for (const [addr, what] of [
      [cidr.network, "network"],
      [cidr.last, "broadcast"],
    ] as const) {
      if (eff.has(addr)) {
        const text = formatIP(4, addr);
        return invalid(
          "spec.ips",
          spec.ips,
          `holds ${text}, the ${what} address of ${spec.subnet}; add it to 'spec.excludeIPs' or remove it from 'spec.ips'`,
        );
      }
    }
  }
  return undefined;
}
