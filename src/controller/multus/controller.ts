/**
 * SpiderMultusConfig → NetworkAttachmentDefinition (node-networking §3.4), on the leader,
 * one worker. Events: SMC add and update, and a periodic resync of every SMC that brings
 * back a NAD deleted by hand. Each NAD is read fresh and written preconditioned on what
 * was read (create fails if it appeared meanwhile; update carries its resourceVersion), so
 * a write is whole or refused: a replica that lost leadership mid-reconcile cannot leave a
 * half-written NAD, and a newer NAD is never overwritten blind. Conflicts come back soon
 * with a growing delay; other failures after the retry delay, up to the retry bound.
 */
import type { Logger } from "pino";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import { NetworkAttachmentDefinitionKind, type NetworkAttachmentDefinition } from "../../api/nad.ts";
import { SpiderpoolError } from "../../errors/base.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import type { Informer } from "../../kube/informer.ts";
import { resourceTypeOf } from "../../kube/resources.ts";
import type { EventRecorder } from "../events.ts";
import { WorkQueue } from "../workqueue.ts";
import { nadName } from "./nad-config.ts";
import { planNad } from "./plan.ts";
import { NotLeaderError } from "../leader.ts";

export const NADS = resourceTypeOf(NetworkAttachmentDefinitionKind);

/** The NAD is terminating; retried until it is gone. */
export class NadTerminatingError extends SpiderpoolError {
  readonly code = "ERR_NAD_TERMINATING";
}

export interface MultusConfigControllerOptions {
  client: KubeClient;
  smcs: Informer<SpiderMultusConfig>;
  isLeader: () => boolean;
  events: EventRecorder;
  resyncMs: number;
  retryMs: number;
  maxRetries: number;
  metrics: {
    reconciled: (result: "ok" | "retry" | "dropped") => void;
    written: (op: "create" | "update") => void;
    depth: (n: number) => void;
  };
  log: Logger;
}

export class MultusConfigController {
  readonly #o: MultusConfigControllerOptions;
  readonly #queue: WorkQueue;
  #resync: NodeJS.Timeout | undefined;

  constructor(o: MultusConfigControllerOptions) {
    this.#o = o;
    this.#queue = new WorkQueue({
      work: (key) => this.#reconcile(key),
      retryDelay: (err, n) => this.#retryDelay(err, n),
      isLeader: o.isLeader,
      onDepth: o.metrics.depth,
    });
    // No delete handler, as upstream: the NAD goes with its SMC through its owner reference.
    o.smcs.addHandlers({ onAdd: (m) => this.#enqueue(m), onUpdate: (_o, m) => this.#enqueue(m) });
  }

  start(): void {
    this.#resync = setInterval(() => this.resync(), this.#o.resyncMs);
    this.#resync.unref();
  }

  stop(): void {
    clearInterval(this.#resync);
    this.#queue.stop();
  }

  /** Every SMC again: at each resync period and when this replica becomes the leader. */
  resync(): void {
    if (!this.#o.isLeader()) return;
    for (const m of this.#o.smcs.list()) this.#enqueue(m);
    this.#queue.kick();
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #enqueue(m: SpiderMultusConfig): void {
    this.#queue.add(`${m.metadata.namespace ?? ""}/${m.metadata.name ?? ""}`);
  }

  #retryDelay(err: unknown, n: number): number | undefined {
    if (err instanceof NotLeaderError) return undefined;
    if (n > this.#o.maxRetries) {
      this.#o.log.error({ err, retries: n - 1 }, "giving up on a SpiderMultusConfig after the retry bound");
      this.#o.metrics.reconciled("dropped");
      return undefined;
    }
    this.#o.metrics.reconciled("retry");
    // A conflict is a newer version to read again: soon, growing as client-go's rate limiter.
    if (isConflict(err) || isAlreadyExists(err)) return Math.min(5 * 2 ** (n - 1), this.#o.retryMs);
    return this.#o.retryMs;
  }

  async #reconcile(key: string): Promise<void> {
    const smc = this.#o.smcs.get(key);
    if (smc === undefined) return; // deleted: its NAD goes by garbage collection
    const ns = smc.metadata.namespace ?? "";
    const name = nadName(smc);
    const log = this.#o.log.child({ smc: key, nad: `${ns}/${name}` });
    let existing: NetworkAttachmentDefinition | undefined;
    try {
      existing = await this.#o.client.get<NetworkAttachmentDefinition>(NADS, name, ns);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const plan = planNad(smc, existing);
    switch (plan.kind) {
      case "skip":
      case "none":
        this.#o.metrics.reconciled("ok");
        return;
      case "refuse":
        log.warn({ reason: plan.reason }, plan.message);
        void this.#o.events.record(target(smc), "Warning", plan.reason, plan.message);
        this.#o.metrics.reconciled("dropped");
        return;
      case "wait":
        log.info(plan.message);
        throw new NadTerminatingError(plan.message);
    }
    if (!this.#o.isLeader()) throw new NotLeaderError("no longer the leader");
    try {
      if (plan.kind === "create") await this.#o.client.create(NADS, plan.nad);
      else await this.#o.client.update(NADS, plan.nad);
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) {
        const message = `cannot ${plan.kind} the net-attach-def ${ns}/${name}: ${(err as Error).message}`;
        log.warn({ err }, message);
        void this.#o.events.record(target(smc), "Warning", "NadWriteFailed", message);
      }
      throw err;
    }
    this.#o.metrics.written(plan.kind);
    this.#o.metrics.reconciled("ok");
    log.info({ op: plan.kind }, "net-attach-def written");
  }
}

/** List items carry no apiVersion and kind; the Event names its object by them. */
function target(smc: SpiderMultusConfig): SpiderMultusConfig {
  return { ...smc, apiVersion: "spiderpool.spidernet.io/v2beta1", kind: "SpiderMultusConfig" };
}
