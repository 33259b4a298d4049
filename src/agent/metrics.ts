/**
 * The agent's Prometheus metrics, under the documented snake_case names dashboards query
 * (spec §7), plus queue depth and conflict retries.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RequestRecord } from "../kube/client.ts";

const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.3, 0.5, 1, 3, 5, 7, 10, 15];

export class AgentMetrics {
  readonly registry = new Registry();
  readonly allocations: Counter;
  readonly allocationFailures: Counter<"reason">;
  readonly allocationConflicts: Counter;
  readonly allocationDuration: Histogram;
  readonly releases: Counter;
  readonly releaseFailures: Counter<"reason">;
  readonly releaseConflicts: Counter;
  readonly releaseDuration: Histogram;
  readonly writeRetries: Counter;
  readonly queueDepth: Gauge<"pool">;
  readonly oldestBatchAge: Gauge;
  #oldest: () => number = () => 0;
  readonly batchSize: Histogram;
  readonly detectionProbes: Counter<"family" | "purpose" | "outcome">;
  readonly detectionDuration: Histogram<"family" | "purpose">;
  readonly apiRequests: Counter<"verb" | "resource" | "code">;
  readonly apiRequestDuration: Histogram<"verb" | "resource">;

  constructor(agent: string) {
    this.registry.setDefaultLabels({ otel_scope_name: "spiderpool-agent", agent });
    const r = [this.registry];
    this.allocations = new Counter({
      name: "spiderpool_ipam_allocation_counts_total",
      help: "IPAM allocation requests",
      registers: r,
    });
    this.allocationFailures = new Counter({
      name: "spiderpool_ipam_allocation_failure_counts_total",
      help: "failed allocations, by reason",
      labelNames: ["reason"],
      registers: r,
    });
    this.allocationConflicts = new Counter({
      name: "spiderpool_ipam_allocation_update_ippool_conflict_counts_total",
      help: "409 conflicts writing pool status while allocating",
      registers: r,
    });
    this.allocationDuration = new Histogram({
      name: "spiderpool_ipam_allocation_duration_seconds",
      help: "allocation time",
      buckets: BUCKETS,
      registers: r,
    });
    this.releases = new Counter({
      name: "spiderpool_ipam_release_counts_total",
      help: "IPAM release requests",
      registers: r,
    });
    this.releaseFailures = new Counter({
      name: "spiderpool_ipam_release_failure_counts_total",
      help: "failed releases, by reason",
      labelNames: ["reason"],
      registers: r,
    });
    this.releaseConflicts = new Counter({
      name: "spiderpool_ipam_release_update_ippool_conflict_counts_total",
      help: "409 conflicts writing pool status while releasing",
      registers: r,
    });
    this.releaseDuration = new Histogram({
      name: "spiderpool_ipam_release_duration_seconds",
      help: "release time",
      buckets: BUCKETS,
      registers: r,
    });
    this.writeRetries = new Counter({
      name: "spiderpool_ts_pool_write_retries_total",
      help: "pool status writes retried after a conflict",
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: "spiderpool_ts_pool_queue_depth",
      help: "operations waiting per pool",
      labelNames: ["pool"],
      registers: r,
    });
    this.oldestBatchAge = new Gauge({
      name: "spiderpool_ts_pool_oldest_batch_age_seconds",
      help: "how long the oldest pool operation still waiting has waited (queued or being written)",
      registers: r,
      collect: () => this.oldestBatchAge.set(this.#oldest() / 1000),
    });
    this.batchSize = new Histogram({
      name: "spiderpool_ts_pool_write_batch_size",
      help: "operations per pool status write (group commit)",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: r,
    });
    this.detectionProbes = new Counter({
      name: "spiderpool_ts_ip_detection_probes_total",
      help: "ARP/NDP probes of IPAM ADDs (spec 1.12), by family, purpose (conflict, gateway) and outcome (clear, conflict, reachable, unreachable, error)",
      labelNames: ["family", "purpose", "outcome"],
      registers: r,
    });
    this.detectionDuration = new Histogram({
      name: "spiderpool_ts_ip_detection_probe_duration_seconds",
      help: "time of one ARP/NDP probe of an IPAM ADD, by family and purpose",
      labelNames: ["family", "purpose"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
      registers: r,
    });
    this.apiRequests = new Counter({
      name: "spiderpool_ts_api_requests_total",
      help: "requests to the API server (watches not included), by verb, resource and HTTP status; code 0: no answer (refused, reset, timed out)",
      labelNames: ["verb", "resource", "code"],
      registers: r,
    });
    this.apiRequestDuration = new Histogram({
      name: "spiderpool_ts_api_request_duration_seconds",
      help: "time of one request to the API server, connection wait included, by verb and resource",
      labelNames: ["verb", "resource"],
      buckets: BUCKETS,
      registers: r,
    });
  }

  /** One request to the API server (KubeClient's onRequest). */
  apiRequest(r: RequestRecord): void {
    const resource = resourceOfPath(r.path);
    this.apiRequests.inc({ verb: r.method, resource, code: String(r.status) });
    this.apiRequestDuration.observe({ verb: r.method, resource }, r.durationMs / 1000);
  }

  /** One probe of an IPAM ADD's detection (DetectionMetrics). */
  probe(family: 4 | 6, purpose: "conflict" | "gateway", outcome: string, seconds: number): void {
    this.detectionProbes.inc({ family: `ipv${family}`, purpose, outcome });
    this.detectionDuration.observe({ family: `ipv${family}`, purpose }, seconds);
  }

  /** Where the oldest batch's age (ms) is read at each scrape. */
  oldestBatchFrom(ms: () => number): void {
    this.#oldest = ms;
  }
}

/**
 * The resource (its plural, and subresource) a request path names: `/api/v1/namespaces/ns/pods/p`
 * is `pods`, `/apis/g/v/spiderippools/p/status` is `spiderippools/status`. Names never become
 * labels, so the series stay few.
 */
export function resourceOfPath(path: string): string {
  const parts = (path.split("?")[0] ?? "").split("/").filter((p) => p !== "");
  let i = parts[0] === "api" ? 2 : parts[0] === "apis" ? 3 : 0;
  if (parts[i] === "namespaces" && parts.length > i + 2) i += 2;
  const plural = parts[i] ?? "";
  const sub = parts[i + 2];
  return sub === undefined ? plural : `${plural}/${sub}`;
}
