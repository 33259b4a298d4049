/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: the
 * holder renews every retry period; a candidate takes the Lease over only when it has seen
 * the same record unchanged for a whole lease duration on its own clock (so clock skew
 * between replicas never splits the leadership); a leader that cannot renew within the
 * renew deadline steps down before anyone else may take over. Every write carries the
 * resourceVersion it read, so two candidates never both win.
 */
import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isConflict, isNotFound } from "../kube/errors.ts";
import { Resources } from "../kube/resources.ts";
import { SpiderpoolError } from "../errors/base.ts";

/**
 * Leadership was lost between a leader-only controller's read and its write: the write is
 * not made, and the new leader reconciles the object (the SMC and coordinator controllers).
 */
export class NotLeaderError extends SpiderpoolError {
  readonly code = "ERR_NOT_LEADER";
}

export interface LeaderOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStarted: () => void;
  onStopped: () => void;
  log: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

const microTime = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");

export class LeaderElector {
  readonly #o: LeaderOptions;
  #leader = false;
  #lastRenew = 0;
  #observed: { record: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  #stopped = false;

  constructor(o: LeaderOptions) {
    this.#o = o;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#stopped = false;
    this.#round();
    this.#timer = setInterval(() => this.#round(), this.#o.retryPeriodMs);
  }

  /** Stops campaigning; a leader releases the Lease so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#inflight;
    if (!this.#leader) return;
    this.#setLeader(false);
    try {
      const cur = (await this.#o.client.get(Resources.leases, this.#o.name, this.#o.namespace)) as Lease;
      if (cur.spec?.holderIdentity === this.#o.identity) {
        await this.#o.client.update(Resources.leases, {
          ...cur,
          spec: { ...cur.spec, holderIdentity: "", renewTime: microTime(Date.now()), leaseDurationSeconds: 1 },
        });
      }
    } catch (err) {
      this.#o.log.warn({ err }, "could not release the Lease; the successor waits for it to expire");
    }
  }

  /**
   * One timer fire. The renew deadline is checked on every fire, also while a request
   * hangs: a leader that has not renewed in time steps down before the Lease can expire
   * for the others, whatever its API server connection is doing.
   */
  #round(): void {
    if (this.#leader && performance.now() - this.#lastRenew > this.#o.renewDeadlineMs) this.#setLeader(false);
    if (this.#inflight !== undefined || this.#stopped) return;
    this.#inflight = this.#tick().finally(() => (this.#inflight = undefined));
  }

  #setLeader(v: boolean): void {
    if (v === this.#leader) return;
    this.#leader = v;
    this.#o.log.info(
      { lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity },
      v ? "became leader" : "lost leadership",
    );
    if (v) this.#o.onStarted();
    else this.#o.onStopped();
  }

  async #tick(): Promise<void> {
    // Renewal counts from before the request was sent (monotonic clock), so a slow answer
    // never stretches the leadership past what the others will wait.
    const started = performance.now();
    try {
      const ok = await withTimeout(this.#tryAcquireOrRenew(), this.#o.renewDeadlineMs);
      if (this.#stopped) return;
      if (ok) {
        this.#lastRenew = started;
        this.#setLeader(true);
      } else if (this.#leader && performance.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
        this.#setLeader(false);
      }
    } catch (err) {
      this.#o.log.warn({ err }, "leader election round failed");
      if (this.#leader && performance.now() - this.#lastRenew > this.#o.renewDeadlineMs) this.#setLeader(false);
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = Date.now();
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.#o.leaseDurationMs / 1000)),
      renewTime: microTime(now),
    };
    let cur: Lease;
    try {
      cur = (await client.get(Resources.leases, name, namespace)) as Lease;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await client.create(Resources.leases, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (isConflict(e) || (e as { reason?: string }).reason === "AlreadyExists") return false;
        throw e;
      }
    }
    const s = cur.spec ?? {};
    const record = JSON.stringify([s.holderIdentity, s.renewTime, s.leaseDurationSeconds]);
    const mono = performance.now();
    if (this.#observed?.record !== record) this.#observed = { record, at: mono };
    const held = s.holderIdentity !== undefined && s.holderIdentity !== "";
    const mine = s.holderIdentity === identity;
    const expired = this.#observed.at + (s.leaseDurationSeconds ?? 15) * 1000 <= mono;
    if (held && !mine && !expired) return false;
    const next: Lease = {
      ...cur,
      spec: mine
        ? { ...s, ...spec }
        : { ...s, ...spec, acquireTime: microTime(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 },
    };
    try {
      await client.update(Resources.leases, next);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}

class ElectionTimeout extends Error {}

/** A round that outlives the renew deadline counts as failed; its request may still land, harmlessly. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ElectionTimeout(`leader election request took over ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
