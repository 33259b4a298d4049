/**
 * From picked addresses to what the pod gets (spec §1.11, §7): IP configs with the pool's
 * prefix and gateway, a default route per IP with a gateway unless the NIC's cleanGateway
 * is set, the pools' routes, the pod's `routes` annotation attached to the NIC whose pool
 * subnet contains the route's gateway, and the SpiderEndpoint items (one per NIC).
 */
import type { IPAllocationDetail } from "../api/endpoint.ts";
import type { Route } from "../api/meta.ts";
import { cidrContainsIP, tryParseIP, type CIDR } from "../ip/index.ts";

export interface Allocated {
  nic: string;
  family: 4 | 6;
  /** Bare address. */
  ip: string;
  pool: string;
  subnet: CIDR;
  gateway?: string;
  poolRoutes: readonly Route[];
  cleanGateway: boolean;
}

export interface IpConfig {
  nic: string;
  family: 4 | 6;
  address: string;
  gateway?: string;
  pool: string;
}

export interface NicRoute extends Route {
  nic: string;
}

export interface Assembled {
  ips: IpConfig[];
  routes: NicRoute[];
  /** Pod routes whose gateway is in no allocated subnet: dropped, as upstream, and reported. */
  dropped: Route[];
  details: IPAllocationDetail[];
}

export function assemble(allocs: readonly Allocated[], podRoutes: readonly Route[]): Assembled {
  const ips: IpConfig[] = [];
  const routes: NicRoute[] = [];
  const extra = new Map<string, Route[]>();
  for (const a of allocs) {
    const ipc: IpConfig = { nic: a.nic, family: a.family, address: `${a.ip}/${a.subnet.prefix}`, pool: a.pool };
    if (a.gateway !== undefined) ipc.gateway = a.gateway;
    ips.push(ipc);
    if (a.gateway !== undefined && !a.cleanGateway) {
      routes.push({ dst: a.family === 4 ? "0.0.0.0/0" : "::/0", gw: a.gateway, nic: a.nic });
    }
    for (const r of a.poolRoutes) routes.push({ dst: r.dst, gw: r.gw, nic: a.nic });
  }
  const dropped: Route[] = [];
  for (const r of podRoutes) {
    const gw = tryParseIP(r.gw);
    const target = gw === undefined ? undefined : allocs.find((a) => cidrContainsIP(a.subnet, gw.family, gw.value));
    if (target === undefined) {
      dropped.push(r);
      continue;
    }
    routes.push({ dst: r.dst, gw: r.gw, nic: target.nic });
    const list = extra.get(target.nic) ?? [];
    list.push({ dst: r.dst, gw: r.gw });
    extra.set(target.nic, list);
  }
  const byNic = new Map<string, IPAllocationDetail>();
  for (const a of allocs) {
    let d = byNic.get(a.nic);
    if (d === undefined) {
      d = { interface: a.nic, vlan: 0 };
      byNic.set(a.nic, d);
    }
    if (a.family === 4) {
      d.ipv4 = `${a.ip}/${a.subnet.prefix}`;
      d.ipv4Pool = a.pool;
      if (a.gateway !== undefined) d.ipv4Gateway = a.gateway;
    } else {
      d.ipv6 = `${a.ip}/${a.subnet.prefix}`;
      d.ipv6Pool = a.pool;
      if (a.gateway !== undefined) d.ipv6Gateway = a.gateway;
    }
    // Upstream sets cleanGateway only when there is a gateway to clean.
    if (a.gateway !== undefined) d.cleanGateway = a.cleanGateway;
    const rs = [...(d.routes ?? []), ...a.poolRoutes.map((r) => ({ dst: r.dst, gw: r.gw }))];
    if (rs.length > 0) d.routes = rs;
  }
  for (const [nic, rs] of extra) {
    const d = byNic.get(nic);
    if (d !== undefined) d.routes = [...(d.routes ?? []), ...rs];
  }
  return { ips, routes, dropped, details: [...byNic.values()] };
}
