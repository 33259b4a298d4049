/**
 * SpiderCoordinator admission (spec §2.5): defaults, hijack CIDRs and policy-route
 * destinations in prefix form, then the eight validation rules with their field paths.
 * `validateCoordinatorSpec` is shared with SpiderMultusConfig's `spec.coordinator`, where
 * `podCIDRType` and `podRPFilter` are optional (`require=false`).
 */
import { SPIDER_FINALIZER } from "../../api/group.ts";
import { POD_CIDR_TYPES, type CoordinatorSpec, type SpiderCoordinator } from "../../api/coordinator.ts";
import { formatIP, tryParseCIDR, tryParseIP } from "../../ip/index.ts";
import { invalid, notSupported, type Verdict } from "./verdict.ts";

/** `a` → `a/32` (`/128`); a CIDR as is; anything else → undefined. */
function asPrefix(s: string): string | undefined {
  if (s.includes("/")) return tryParseCIDR(s) === undefined ? undefined : s;
  const ip = tryParseIP(s);
  return ip === undefined ? undefined : `${formatIP(ip.family, ip.value)}/${ip.family === 4 ? 32 : 128}`;
}

export function mutateCoordinator(input: SpiderCoordinator): SpiderCoordinator {
  const c = structuredClone(input);
  c.spec = {
    ...c.spec,
    mode: c.spec.mode ?? "auto",
    tunePodRoutes: c.spec.tunePodRoutes ?? true,
    hostRuleTable: c.spec.hostRuleTable ?? 500,
    podRPFilter: c.spec.podRPFilter ?? 0,
    txQueueLen: c.spec.txQueueLen ?? 0,
    vethLinkAddress: c.spec.vethLinkAddress ?? "",
    vethMTU: c.spec.vethMTU ?? 1500,
  };
  if (c.metadata.deletionTimestamp !== undefined || c.spec.podCIDRType === undefined) return c;
  const hijack: string[] = [];
  for (const h of c.spec.hijackCIDR ?? []) {
    const p = asPrefix(h);
    if (p === undefined) return c; // validation names the entry
    hijack.push(p);
  }
  if (c.spec.hijackCIDR !== undefined) c.spec.hijackCIDR = hijack;
  if (c.spec.policyRoutes !== undefined) {
    const routes = [];
    for (const r of c.spec.policyRoutes) {
      const p = asPrefix(r.dst);
      if (p === undefined) return c;
      routes.push({ ...r, dst: p });
    }
    c.spec.policyRoutes = routes;
  }
  const fins = c.metadata.finalizers ?? [];
  if (!fins.includes(SPIDER_FINALIZER)) c.metadata.finalizers = [...fins, SPIDER_FINALIZER];
  return c;
}

export function validateCoordinatorSpec(spec: CoordinatorSpec, require: boolean, path = "spec"): Verdict | undefined {
  const t = spec.podCIDRType;
  if ((require && t === undefined) || (t !== undefined && !(POD_CIDR_TYPES as readonly string[]).includes(t)))
    return notSupported(`${path}.podCIDRType`, t ?? null, POD_CIDR_TYPES);
  for (const [i, h] of (spec.hijackCIDR ?? []).entries()) {
    // Upstream reports the field under its former name.
    if (asPrefix(h) === undefined) return invalid(`${path}.extraCIDR[${i}]`, h, "invalid IP or CIDR");
  }
  for (const [i, r] of (spec.policyRoutes ?? []).entries()) {
    const dst = asPrefix(r.dst);
    if (dst === undefined) return invalid(`${path}.policyRoutes[${i}].dst`, r.dst, "invalid IP or CIDR");
    const gw = tryParseIP(r.gw);
    if (gw === undefined) return invalid(`${path}.policyRoutes[${i}].gw`, r.gw, "invalid IP address");
    if (tryParseCIDR(dst)?.family !== gw.family)
      return invalid(`${path}.policyRoutes[${i}]`, r, "dst and gw must be of the same IP family");
  }
  const mac = spec.podMACPrefix;
  if (mac !== undefined && mac !== "") {
    if (!/^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/.test(mac))
      return invalid(`${path}.podMACPrefix`, mac, "must be two hexadecimal bytes, e.g. 0a:1b");
    if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0)
      return invalid(`${path}.podMACPrefix`, mac, "the lowest bit of the first byte must be 0 (unicast)");
  }
  if (spec.txQueueLen !== undefined && spec.txQueueLen < 0)
    return invalid(`${path}.txQueueLen`, spec.txQueueLen, "must not be negative");
  const rp = spec.podRPFilter;
  if (require && rp === undefined) return notSupported(`${path}.podRPFilter`, null, [0, 1, 2]);
  if (rp !== undefined && rp >= 0 && rp > 2) return notSupported(`${path}.podRPFilter`, rp, [0, 1, 2]);
  const link = spec.vethLinkAddress;
  if (link !== undefined && link !== "" && tryParseIP(link) === undefined)
    return invalid(`${path}.vethLinkAddress`, link, "invalid IP address");
  if (spec.vethMTU !== undefined && spec.vethMTU <= 0)
    return invalid(`${path}.vethMTU`, spec.vethMTU, "must be positive");
  return undefined;
}
