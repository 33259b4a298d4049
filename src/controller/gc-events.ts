/**
 * IPReclaimed Events on the pod whose addresses the GC reclaimed (issue 22), naming pool,
 * addresses and the rule that fired, within a budget (burst 10, 10 a minute) so that the
 * reclaim of a whole deleted node's pods costs a few writes; the rest are counted.
 */
import { Counter, type Registry } from "prom-client";
import { REASON_RECLAIMED, reclaimedMessage } from "../ipam/history.ts";
import type { Clock } from "../kube/clock.ts";
import { BudgetedRecorder, type EventRecorder } from "../kube/events.ts";
import { TokenBucket } from "../kube/token-bucket.ts";

export class GcEvents {
  readonly #events: BudgetedRecorder;

  constructor(recorder: EventRecorder, clock: Clock, registry: Registry, burst = 10, perMinute = 10) {
    const counter = new Counter({
      name: "spiderpool_ts_gc_events_total",
      help: "IPReclaimed Events on pods, written or dropped over the controller's Event budget",
      labelNames: ["result"],
      registers: [registry],
    });
    const bucket = new TokenBucket(clock, burst, perMinute / 60);
    this.#events = new BudgetedRecorder(
      recorder,
      () => bucket.take(),
      (_reason, ok) => counter.inc({ result: ok ? "written" : "dropped" }),
    );
  }

  reclaimed(podRef: string, podUid: string, pool: string, ips: readonly string[], rule: string): void {
    const [namespace, name] = podRef.split("/", 2);
    this.#events.record(
      { apiVersion: "v1", kind: "Pod", metadata: { namespace: namespace ?? "", name: name ?? "", uid: podUid } },
      "Normal",
      REASON_RECLAIMED,
      reclaimedMessage(pool, ips, rule),
    );
  }
}
