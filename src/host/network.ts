/**
 * The one interface through which the agent touches a node's or a pod's network. The netlink
 * implementation and the in-memory fake (test/support/) both implement it; flows (coordinator,
 * ifacer, IPAM detection) take it as a dependency and never reach the kernel another way.
 */
import type { Family, HostOp, NetnsRef, NetnsState, OpFailure, Route } from "./model.ts";

export interface ProbeRequest {
  ns: NetnsRef;
  dev: string;
  family: Family;
  /**
   * "conflict": is anyone else answering for `target` (ARP with sender 0.0.0.0 / NS from the
   * unspecified address)? "gateway": does `target` answer us (sender = `source`)?
   */
  purpose: "conflict" | "gateway";
  target: string;
  /** Our address on `dev` (the sender of a gateway probe). */
  source?: string;
  retries: number;
  /** Per-read deadline. */
  timeoutMs: number;
}

export interface ProbeAnswer {
  answered: boolean;
  /** The MAC that answered. */
  mac?: string;
}

export interface HostNetwork {
  /** Every link, address, route (all tables), rule and neighbour of the namespace, read in one pass. */
  observe(ns: NetnsRef): Promise<NetnsState>;
  /** The route the kernel would pick for `dst` (`ip route get`), e.g. for its preferred source. */
  routeGet(ns: NetnsRef, dst: string): Promise<Route | undefined>;
  /** Applies the ops in order; stops at the first failure and returns it (undefined: all applied). */
  apply(plan: readonly HostOp[]): Promise<OpFailure | undefined>;
  /** Whether `path` names a network namespace (false when it no longer exists; throws when it is not a netns). */
  netnsExists(path: string): Promise<boolean>;
  probe(req: ProbeRequest): Promise<ProbeAnswer>;
}
