/**
 * Events on the pod for each allocation and release (issue 22: address history), within a
 * budget: a token bucket per agent (`burst`, `perSecond`), so a storm of pods costs a few
 * Event writes rather than one per pod; what finds no token is dropped and counted
 * (`spiderpool_ts_ip_events_dropped_total`), and `spiderpoolctl history` still shows who
 * holds an address from the pools' records. Writes never delay or fail the CNI call.
 */
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { allocatedMessage, REASON_ALLOCATED, REASON_RELEASED, releasedMessage } from "../ipam/history.ts";
import type { IpConfig } from "../ipam/result.ts";
import type { Clock } from "../kube/clock.ts";
import type { KubeClient } from "../kube/client.ts";
import { BudgetedRecorder, EventRecorder, type EventTarget } from "../kube/events.ts";
import { TokenBucket } from "../kube/token-bucket.ts";

export interface IpEventsOptions {
  client: KubeClient;
  component: string;
  log: Logger;
  clock: Clock;
  registry: Registry;
  burst: number;
  perSecond: number;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export class IpEvents {
  readonly #events: BudgetedRecorder;

  constructor(o: IpEventsOptions) {
    const written = new Counter({
      name: "spiderpool_ts_ip_events_total",
      help: "IPAllocated/IPReleased Events written on pods",
      labelNames: ["reason"],
      registers: [o.registry],
    });
    const dropped = new Counter({
      name: "spiderpool_ts_ip_events_dropped_total",
      help: "IPAllocated/IPReleased Events not written: over the agent's Event budget",
      labelNames: ["reason"],
      registers: [o.registry],
    });
    const bucket = new TokenBucket(o.clock, o.burst, o.perSecond);
    this.#events = new BudgetedRecorder(
      new EventRecorder(o.client, o.component, o.log),
      () => bucket.take(),
      (reason, ok) => (ok ? written : dropped).inc({ reason }),
    );
  }

  allocated(pod: PodRef, ips: readonly IpConfig[]): void {
    if (ips.length > 0) this.#events.record(podTarget(pod), "Normal", REASON_ALLOCATED, allocatedMessage(ips));
  }

  released(pod: PodRef, containerID: string): void {
    this.#events.record(podTarget(pod), "Normal", REASON_RELEASED, releasedMessage(containerID));
  }
}

function podTarget(pod: PodRef): EventTarget {
  return { apiVersion: "v1", kind: "Pod", metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid } };
}
