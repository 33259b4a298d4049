/** spiderpool-controller's Prometheus metrics under the documented names (spec §7), plus ours. */
import { Counter, Gauge, Registry } from "prom-client";
import type { GcReason } from "./gc/decide.ts";

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly gcCounts: Counter;
  readonly gcFailures: Counter;
  readonly gcByReason: Counter<"reason">;
  readonly releaseConflicts: Counter;
  readonly totalPools: Gauge;
  readonly leader: Gauge;
  readonly webhookDecisions: Gauge<"webhook" | "result">;
  readonly autoPoolReconciles: Counter<"result">;
  readonly autoPoolsDeleted: Counter;
  readonly multusReconciles: Counter<"result">;
  readonly multusQueueDepth: Gauge;
  readonly nadsWritten: Counter<"op">;
  readonly coordinatorReconciles: Counter<"result">;

  constructor(identity: string) {
    this.registry.setDefaultLabels({ otel_scope_name: "spiderpool-controller", controller: identity });
    const registers = [this.registry];
    this.gcCounts = new Counter({ name: "spiderpool_ip_gc_counts_total", help: "IPs released by GC", registers });
    this.gcFailures = new Counter({
      name: "spiderpool_ip_gc_failure_counts_total",
      help: "failed GC releases",
      registers,
    });
    this.gcByReason = new Counter({
      name: "spiderpool_ts_ip_gc_reclaimed_total",
      help: "IPs released by GC, by the reason they were reclaimed",
      labelNames: ["reason"],
      registers,
    });
    this.releaseConflicts = new Counter({
      name: "spiderpool_ipam_release_update_ippool_conflict_counts_total",
      help: "status-update conflicts on GC release",
      registers,
    });
    this.totalPools = new Gauge({ name: "spiderpool_total_ippool_counts", help: "number of SpiderIPPools", registers });
    this.leader = new Gauge({
      name: "spiderpool_ts_controller_leader",
      help: "1 while this replica holds the leader Lease",
      registers,
    });
    this.webhookDecisions = new Gauge({
      name: "spiderpool_ts_webhook_decisions",
      help: "admission decisions since start, by webhook and result",
      labelNames: ["webhook", "result"],
      registers,
    });
    this.autoPoolReconciles = new Counter({
      name: "spiderpool_ts_auto_pool_reconciles_total",
      help: "auto-created IPPool reconciles of an application, by result (ok, retry, dropped)",
      labelNames: ["result"],
      registers,
    });
    this.autoPoolsDeleted = new Counter({
      name: "spiderpool_ts_auto_pool_deleted_total",
      help: "auto-created IPPools deleted because their application is gone",
      registers,
    });
    this.multusReconciles = new Counter({
      name: "spiderpool_ts_multus_config_reconciles_total",
      help: "SpiderMultusConfig reconciles, by result (ok, retry, dropped)",
      labelNames: ["result"],
      registers,
    });
    this.multusQueueDepth = new Gauge({
      name: "spiderpool_ts_multus_config_queue_depth",
      help: "SpiderMultusConfigs waiting in the reconcile queue",
      registers,
    });
    this.nadsWritten = new Counter({
      name: "spiderpool_ts_nad_writes_total",
      help: "NetworkAttachmentDefinitions written, by operation (create, update)",
      labelNames: ["op"],
      registers,
    });
    this.coordinatorReconciles = new Counter({
      name: "spiderpool_ts_coordinator_reconciles_total",
      help: "SpiderCoordinator status reconciles, by result (Synced, NotReady, error)",
      labelNames: ["result"],
      registers,
    });
  }

  reclaimed(reason: GcReason, n: number): void {
    this.gcCounts.inc(n);
    this.gcByReason.inc({ reason }, n);
  }
}
