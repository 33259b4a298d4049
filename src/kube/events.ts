/**
 * core/v1 Events about our objects, as client-go's recorder writes them: a repeat of the
 * same reason and message on the same object raises the first Event's `count` instead of
 * adding one per retry (a NAD that cannot be written is retried up to 500 times).
 * Recording never fails the caller: an Event that cannot be written is logged and dropped.
 */
import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "./client.ts";
import { Resources } from "./resources.ts";

export type EventType = "Normal" | "Warning";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #log: Logger;
  readonly #seen = new Map<string, Recorded>();

  constructor(client: KubeClient, component: string, log: Logger) {
    this.#client = client;
    this.#component = component;
    this.#log = log;
  }

  async record(obj: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    // Events about cluster-scoped objects live in "default", as kube's recorder puts them.
    const namespace = m.namespace !== undefined && m.namespace !== "" ? m.namespace : "default";
    const key = `${m.uid ?? `${namespace}/${m.name ?? ""}`}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date().toISOString();
    try {
      const seen = this.#seen.get(key);
      if (seen !== undefined) {
        seen.count++;
        await this.#client.patchMerge(
          Resources.events,
          seen.name,
          { count: seen.count, lastTimestamp: now },
          { namespace: seen.namespace },
        );
        return;
      }
      const name = `${m.name ?? "object"}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      await this.#client.create<KubeObject>(Resources.events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: m.name,
          ...(m.namespace !== undefined && m.namespace !== "" ? { namespace: m.namespace } : {}),
          ...(m.uid !== undefined ? { uid: m.uid } : {}),
          ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.#component },
        reportingComponent: this.#component,
      } as KubeObject);
      this.#seen.set(key, { name, namespace, count: 1 });
    } catch (err) {
      this.#seen.delete(key);
      this.#log.warn({ err, reason, object: `${namespace}/${m.name ?? ""}` }, "cannot record an Event");
    }
  }
}

/**
 * Events within a budget (a token bucket): for Events that would otherwise cost one write
 * per pod in a storm. What finds no token is dropped, never queued; the caller counts both.
 */
export class BudgetedRecorder {
  readonly #recorder: EventRecorder;
  readonly #take: () => boolean;
  readonly #counted: (reason: string, written: boolean) => void;

  constructor(recorder: EventRecorder, take: () => boolean, counted: (reason: string, written: boolean) => void) {
    this.#recorder = recorder;
    this.#take = take;
    this.#counted = counted;
  }

  /** Starts the write when the budget allows (never awaited by the caller's path); false when dropped. */
  record(obj: EventTarget, type: EventType, reason: string, message: string): boolean {
    const ok = this.#take();
    this.#counted(reason, ok);
    if (ok) void this.#recorder.record(obj, type, reason, message);
    return ok;
  }
}
