/**
 * The CNI result of an IPAM ADD, rendered for the netconf's version. Like upstream: only
 * the addresses and routes of the NIC of this call, no interfaces, DNS always empty.
 */
import { hasIpVersionField, type CniVersion } from "./version.ts";

export interface ResultIP {
  /** `ip/prefix`, the prefix being the pool subnet's. */
  address: string;
  gateway?: string;
  nic: string;
  family: 4 | 6;
}

export interface ResultRoute {
  dst: string;
  gw: string;
  nic: string;
}

export function renderResult(
  version: CniVersion,
  ifName: string,
  ips: readonly ResultIP[],
  routes: readonly ResultRoute[],
): Record<string, unknown> {
  const legacy = hasIpVersionField(version);
  return {
    cniVersion: version,
    ips: ips
      .filter((ip) => ip.nic === ifName)
      .map((ip) => {
        const out: Record<string, unknown> = legacy
          ? { version: String(ip.family), address: ip.address }
          : { address: ip.address };
        if (ip.gateway !== undefined && ip.gateway !== "") out["gateway"] = ip.gateway;
        return out;
      }),
    routes: routes.filter((r) => r.nic === ifName).map((r) => ({ dst: r.dst, gw: r.gw })),
    dns: {},
  };
}
