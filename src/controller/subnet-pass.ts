/**
 * The leader's subnet accounting: one pass over every subnet, rebuilt from all pools, for the
 * pool, subnet and application events that can change it (the controller schedules; decisions
 * are subnet-status.ts's).
 */
import type { Logger } from "pino";
import type { SpiderIPPool } from "../api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../api/subnet.ts";
import type { KubeClient } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import type { Informer } from "../kube/informer.ts";
import { SUBNETS } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { poolNameFitsUid } from "../ipam/index.ts";
import type { AutoPoolController } from "./auto-pool.ts";
import { reconcileSubnet } from "./subnet-status.ts";

export interface SubnetPassOptions {
  client: KubeClient;
  pools: Informer<SpiderIPPool>;
  subnets: Informer<SpiderSubnet>;
  /** Present when auto-pools are enabled: confirms the applications of pool-less entries. */
  autoPools: AutoPoolController | undefined;
  /** Leader and not stopping: only then does a pass run. */
  active: () => boolean;
  log: Logger;
}

export class SubnetPass {
  readonly #o: SubnetPassOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: SubnetPassOptions) {
    this.#o = o;
  }

  /** Subnet accounting is rebuilt from all pools; events arriving together share one pass. */
  schedule(): void {
    if (!this.#o.active() || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#reconcile();
    }, 20);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async #reconcile(): Promise<void> {
    const pools = this.#o.pools.list();
    const poolNames = new Set(pools.map((p) => p.metadata.name ?? ""));
    const subnets = this.#o.subnets.list();
    // Entries whose pool the cache does not show: the pool may be newer than the cache
    // (read it fresh), or its application's pool in the making (entry written first).
    const orphans = new Map<string, string>();
    for (const sub of subnets) {
      try {
        for (const [pool, e] of parseControlledPools(sub.status?.controlledIPPools))
          if (e.application !== undefined && e.application !== "" && !poolNames.has(pool))
            orphans.set(pool, e.application);
      } catch {
        // reconcileSubnet drops what does not parse.
      }
    }
    let live = new Map<string, string>();
    if (orphans.size > 0) {
      try {
        for (const pool of orphans.keys()) {
          try {
            pools.push(await this.#o.client.get<SpiderIPPool>(POOLS, pool));
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        if (this.#o.autoPools !== undefined) live = await this.#o.autoPools.liveApplications(new Set(orphans.values()));
      } catch (err) {
        this.#o.log.warn({ err }, "cannot confirm subnet entries without pools; the next pass retries");
        return;
      }
    }
    // A pool-less entry is kept only under the name its live application would use now:
    // an entry of a deleted application of the same name is not kept by the new one.
    const keep = (pool: string, app: string): boolean => {
      const uid = live.get(app);
      return uid !== undefined && (uid === "*" || poolNameFitsUid(pool, uid));
    };
    for (const sub of subnets) {
      const a = reconcileSubnet(sub, pools, keep);
      if (a.kind === "none") continue;
      try {
        if (a.kind === "status") await this.#o.client.updateStatus(SUBNETS, a.next);
        else if (a.kind === "unfinalize") await this.#o.client.update(SUBNETS, a.next);
        else if (a.kind === "adopt") await this.#o.client.update(POOLS, a.pool);
        else for (const name of a.pools) await this.#o.client.delete(POOLS, name);
        this.#o.log.info({ subnet: sub.metadata.name, action: a.kind }, "subnet reconciled");
      } catch (err) {
        // A conflict means a newer version exists; its own event schedules another pass.
        if (!isConflict(err) && !isNotFound(err))
          this.#o.log.warn({ err, subnet: sub.metadata.name }, "subnet status write failed");
      }
    }
  }
}

/** What of a pool its subnet pass depends on (agents rewrite its status on every allocation). */
export function subnetRelevant(p: SpiderIPPool): string {
  const m = p.metadata;
  return JSON.stringify([p.spec, m.labels, m.ownerReferences, m.deletionTimestamp]);
}
