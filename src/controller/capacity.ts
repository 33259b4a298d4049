/**
 * Capacity gauges (issue 22): per pool and per subnet the total, allocated, free, reserved
 * and excluded addresses, and per pool the net allocation rate and the hours until it runs
 * out (src/ipam/capacity.ts: least squares over the free count of the last `windowSeconds`).
 * Counts are computed on each scrape from the informers; the free count is also sampled
 * every `sampleSeconds` for the forecast, so it does not depend on who scrapes how often.
 */
import { Gauge, type Registry } from "prom-client";
import type { SpiderIPPool } from "../api/ippool.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import { FreeHistory, poolCapacity, subnetCapacity, type Capacity } from "../ipam/capacity.ts";
import { reservedAddresses } from "../ipam/pool-state.ts";
import type { Clock, Timer } from "../kube/clock.ts";
import type { KubeClient } from "../kube/client.ts";
import { Informer } from "../kube/informer.ts";
import { resourceTypeOf } from "../kube/resources.ts";

const STATES = ["total", "allocated", "free", "reserved", "excluded"] as const;

export interface CapacityOptions {
  client: KubeClient;
  pools: Informer<SpiderIPPool>;
  subnets: Informer<SpiderSubnet>;
  registry: Registry;
  clock: Clock;
  sampleSeconds?: number;
  windowSeconds?: number;
  onError?: (err: unknown) => void;
}

export class CapacityGauges {
  readonly reserved: Informer<SpiderReservedIP>;
  readonly history: FreeHistory;
  readonly #o: CapacityOptions;
  readonly #pool: Record<(typeof STATES)[number], Gauge<"pool">>;
  readonly #subnet: Record<(typeof STATES)[number], Gauge<"subnet">>;
  readonly #hours: Gauge<"pool">;
  readonly #rate: Gauge<"pool">;
  #timer: Timer | undefined;

  constructor(o: CapacityOptions) {
    this.#o = o;
    const registers = [o.registry];
    this.reserved = new Informer<SpiderReservedIP>(o.client, resourceTypeOf(SpiderReservedIPKind), {
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
    });
    const window = o.windowSeconds ?? 24 * 3600;
    // One sample per interval over the window, and the sample at its start.
    this.history = new FreeHistory(window, Math.ceil(window / (o.sampleSeconds ?? 120)) + 1);
    const gauges = <L extends string>(kind: string, label: L) =>
      Object.fromEntries(
        STATES.map((s) => [
          s,
          new Gauge<L>({
            name: `spiderpool_ts_${kind}_${s}_ips`,
            help: `${s} addresses of the ${kind === "ippool" ? "SpiderIPPool" : "SpiderSubnet"} (docs/operations.md)`,
            labelNames: [label],
            registers,
          }),
        ]),
      ) as Record<(typeof STATES)[number], Gauge<L>>;
    this.#pool = gauges("ippool", "pool");
    this.#subnet = gauges("subnet", "subnet");
    this.#hours = new Gauge({
      name: "spiderpool_ts_ippool_exhaustion_forecast_hours",
      help: "hours until the pool's free addresses reach zero at the recent net allocation rate (+Inf: not falling)",
      labelNames: ["pool"],
      registers,
    });
    this.#rate = new Gauge({
      name: "spiderpool_ts_ippool_net_allocation_rate_per_hour",
      help: "addresses taken minus released per hour, least squares over the forecast window",
      labelNames: ["pool"],
      registers,
    });
  }

  start(): void {
    this.reserved.start();
    this.#timer = this.#o.clock.every((this.#o.sampleSeconds ?? 120) * 1000, () => this.sample());
  }

  async stop(): Promise<void> {
    this.#timer?.cancel();
    await this.reserved.stop();
  }

  #reservedSets(): { 4: IPRangeSet; 6: IPRangeSet } {
    const items = this.reserved.list();
    return { 4: reservedAddresses(4, items), 6: reservedAddresses(6, items) };
  }

  #poolCounts(): Array<[string, Capacity]> {
    const reserved = this.#reservedSets();
    const out: Array<[string, Capacity]> = [];
    for (const p of this.#o.pools.list()) {
      try {
        const family = p.spec.subnet.includes(":") ? 6 : 4;
        out.push([p.metadata.name ?? "", poolCapacity(p, reserved[family])]);
      } catch {
        // A pool whose spec cannot be read has no counts; the webhook refuses those.
      }
    }
    return out;
  }

  /** Records every pool's free count now, for the forecast. */
  sample(): void {
    const t = this.#o.clock.now() / 1000;
    const counts = this.#poolCounts();
    for (const [name, c] of counts) this.history.record(name, t, c.free);
    this.history.keepOnly(new Set(counts.map(([n]) => n)));
  }

  /** Sets every gauge from the informers (on each scrape); deleted pools and subnets disappear. */
  collect(): void {
    for (const g of [...Object.values(this.#pool), ...Object.values(this.#subnet), this.#hours, this.#rate]) g.reset();
    for (const [pool, c] of this.#poolCounts()) {
      for (const s of STATES) this.#pool[s].set({ pool }, c[s]);
      const f = this.history.forecast(pool);
      this.#hours.set({ pool }, f.hoursToExhaustion);
      this.#rate.set({ pool }, f.ratePerHour);
    }
    const reserved = this.#reservedSets();
    const pools = this.#o.pools.list();
    for (const s of this.#o.subnets.list()) {
      try {
        const family = s.spec.subnet.includes(":") ? 6 : 4;
        const c = subnetCapacity(s, pools, reserved[family]);
        for (const st of STATES) this.#subnet[st].set({ subnet: s.metadata.name ?? "" }, c[st]);
      } catch {
        // As for pools.
      }
    }
  }
}
