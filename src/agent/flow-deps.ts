/**
 * What the ADD and DEL flows read and write, as narrow seams: the node's view of pods and
 * pools (the informer cache in the agent, maps in tests), the SpiderEndpoint store, the
 * pool writers, the owner resolver and the clock. test/support/agent-fakes.ts backs each
 * with memory, so the flows are tested without an API server.
 */
import type { Logger } from "pino";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { IPRangeSet } from "../ip/index.ts";
import type { Clock } from "../kube/clock.ts";
import type { KubeClient } from "../kube/client.ts";
import type { EndpointStore } from "../poolstore/endpoint-store.ts";
import type { OwnerResolver } from "../poolstore/owner-resolver.ts";
import type { PoolWriterRegistry } from "../poolstore/pool-writers.ts";
import type { Namespace, Pod } from "./cache.ts";
import type { AgentConfig } from "./config.ts";
import type { MasterLookup } from "./master-interface.ts";

/** The agent's cache, as the flows use it. */
export interface NodeView {
  getPod(ns: string, name: string): Promise<Pod | undefined>;
  /** A fresh read, for decisions that must not act on a stale copy (release on DEL). */
  getPodFresh(ns: string, name: string): Promise<Pod | undefined>;
  getPool(name: string): Promise<SpiderIPPool | undefined>;
  getNamespace(name: string): Promise<Namespace | undefined>;
  nodeLabels(nodeName: string): Record<string, string>;
  readonly pools: { list(): SpiderIPPool[]; getByName(name: string): SpiderIPPool | undefined };
  reservedSet(family: 4 | 6): IPRangeSet;
}

export type FlowConfig = Pick<
  AgentConfig,
  | "nodeName"
  | "podNamespace"
  | "multusClusterNetwork"
  | "enableIPv4"
  | "enableIPv6"
  | "enableSpiderSubnet"
  | "enableAutoPoolForApplication"
  | "waitSubnetPoolMs"
  | "waitSubnetPoolMaxRetries"
  | "defaultFlexibleIPNumber"
>;

export interface FlowDeps {
  view: NodeView;
  endpoints: EndpointStore;
  writers: PoolWriterRegistry;
  owners: OwnerResolver;
  clock: Clock;
  config: FlowConfig;
  /** Only for what has no seam of its own: third-party auto-pools and applications' sizes. */
  client: KubeClient;
  log: Logger;
  /** The master behind a pod's NIC, for `match_master_subnet`; absent without a view of the node's network. */
  masterOf?: MasterLookup;
}

/** Pods the agent has seen ADDs for, and ADDs running now; shared by the ADD and DEL flows. */
export class PodMemo {
  /** Pod UIDs remembered as having had an ADD here; forgetting one costs a read, never an error. */
  static readonly CAP = 10_000;
  readonly #added = new Set<string>();
  readonly #adding = new Map<string, number>();

  /** Pods that may already have an ADD behind them (they were on the node when the agent started). */
  known(uids: readonly string[]): void {
    for (const uid of uids) if (uid !== "" && this.#added.size < PodMemo.CAP) this.#added.add(uid);
  }

  /**
   * True the first time this process sees an ADD for the pod UID. A second ADD of a UID is a
   * kubelet retry, a re-created sandbox or the pod's next NIC, and must start from its endpoint.
   */
  firstAdd(uid: string): boolean {
    if (uid === "" || this.#added.has(uid)) return false;
    if (this.#added.size >= PodMemo.CAP) this.#added.clear();
    this.#added.add(uid);
    return true;
  }

  forget(uid: string): void {
    this.#added.delete(uid);
  }

  enter(key: string): void {
    this.#adding.set(key, (this.#adding.get(key) ?? 0) + 1);
  }

  leave(key: string): void {
    const n = (this.#adding.get(key) ?? 1) - 1;
    if (n <= 0) this.#adding.delete(key);
    else this.#adding.set(key, n);
  }

  running(key: string): number {
    return this.#adding.get(key) ?? 0;
  }
}

/** Releases `uid`'s records of these addresses, pool by pool. */
export async function releaseRecords(
  d: Pick<FlowDeps, "writers">,
  byPool: ReadonlyMap<string, readonly string[]>,
  uid: string,
): Promise<void> {
  await Promise.all(
    [...byPool].map(async ([pool, ips]) => {
      try {
        await d.writers.submit(pool, { kind: "release", podUid: uid, ips: [...ips] });
      } catch (err) {
        // A pool deleted meanwhile holds nothing to release.
        if ((err as { code?: string }).code !== "ERR_POOL_NOT_FOUND") throw err;
      }
    }),
  );
}
