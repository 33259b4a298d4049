/**
 * SpiderSubnet auto-pools for the built-in workload kinds (ipam-behavior §5.3–§5.6), on the
 * leader only, one worker: every Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
 * CronJob whose pod template names a subnet gets one pool per NIC and family, sized by its
 * replicas, resized when they change, deleted with it unless `ippool-reclaim` is false. A
 * third-party application's pool (the agent creates those) goes with its application too: its
 * kind is watched once a reclaimable pool of it exists, as upstream starts a dynamic informer
 * per kind. A periodic sweep deletes reclaimable pools whose application is gone, third-party
 * ones included, so a missed delete event never leaks a pool.
 */
import type { Logger } from "pino";
import { InvalidAnnotationError, LABEL_OWNER_APPLICATION_UID } from "../api/annotations/index.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { hasCode } from "../errors/base.ts";
import {
  appOfPool,
  autoPoolConfig,
  BUILTIN_APP_KINDS,
  controllerOf,
  desiredIPNumber,
  ipNumberText,
  isBuiltinApp,
  isReclaimed,
  parseApplicationKey,
  podTemplateOf,
  replicasOf,
  type AppRef,
  type BuiltinAppKind,
  type Workload,
} from "../ipam/index.ts";
import {
  LABEL_OWNER_APPLICATION_GV,
  LABEL_OWNER_APPLICATION_KIND,
  LABEL_OWNER_APPLICATION_NAME,
  LABEL_OWNER_APPLICATION_NAMESPACE,
} from "../api/annotations/index.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { Informer } from "../kube/informer.ts";
import { APP_RESOURCES, reconcileAutoPool } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";

export type AppInformers = Readonly<Record<BuiltinAppKind, Informer<Workload>>>;

export interface AutoPoolControllerDeps {
  client: KubeClient;
  apps: AppInformers;
  pools: Informer<SpiderIPPool>;
  isLeader: () => boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  defaultFlexible: number;
  retryMs: number;
  maxRetries: number;
  resyncMs: number;
  metrics: { reconciled: (result: "ok" | "retry" | "dropped") => void; poolsDeleted: (n: number) => void };
  log: Logger;
}

interface Entry {
  attempts: number;
  timer?: NodeJS.Timeout | undefined;
}

const keyOf = (kind: string, ns: string, name: string): string => `${kind}/${ns}/${name}`;

/** ReplicaSets of a Deployment and Jobs of a CronJob follow their parent's pool. */
function hasBuiltinParent(kind: BuiltinAppKind, app: Workload): boolean {
  const o = controllerOf(app.metadata);
  if (o === undefined) return false;
  return (
    (kind === "ReplicaSet" && o.kind === "Deployment" && o.apiVersion === "apps/v1") ||
    (kind === "Job" && o.kind === "CronJob" && o.apiVersion === "batch/v1")
  );
}

/** What an update must change to be worth a reconcile: the subnet annotations or the replicas. */
function fingerprint(kind: BuiltinAppKind, app: Workload): string {
  const t = podTemplateOf(kind, app);
  const a = t.annotations;
  return JSON.stringify([
    app.metadata.uid,
    t.hostNetwork,
    a["ipam.spidernet.io/subnet"],
    a["ipam.spidernet.io/subnets"],
    a["ipam.spidernet.io/ippool-ip-number"],
    a["ipam.spidernet.io/ippool-reclaim"],
    replicasOf(kind, app),
  ]);
}

export class AutoPoolController {
  readonly #d: AutoPoolControllerDeps;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #entries = new Map<string, Entry>();
  /** Applications whose pool could not shrink yet: a pod leaving their pool retries them. */
  readonly #blocked = new Set<string>();
  #working = false;
  #stopped = false;
  #resync: NodeJS.Timeout | undefined;
  /** Watches of third-party application kinds, by `apiVersion kind`; undefined while discovery runs or when not served. */
  readonly #thirdParty = new Map<string, Informer<KubeObject> | undefined>();

  constructor(d: AutoPoolControllerDeps) {
    this.#d = d;
    for (const { kind } of BUILTIN_APP_KINDS) {
      d.apps[kind].addHandlers({
        onAdd: (a) => this.#enqueueApp(kind, a),
        onUpdate: (o, a) => {
          if (fingerprint(kind, o) !== fingerprint(kind, a)) this.#enqueueApp(kind, a);
        },
        onDelete: (a) => this.#enqueueApp(kind, a),
      });
    }
    d.pools.addHandlers({
      onAdd: (p) => this.#watchThirdParty(p),
      onUpdate: (o, p) => {
        this.#watchThirdParty(p);
        const key = this.#appKeyOfPool(p);
        if (key !== undefined && this.#blocked.has(key) && o.status?.allocatedIPCount !== p.status?.allocatedIPCount)
          this.#enqueue(key, 0);
      },
    });
  }

  start(): void {
    this.#resync = setInterval(() => this.resync(), this.#d.resyncMs);
    this.#resync.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#resync);
    for (const e of this.#entries.values()) clearTimeout(e.timer);
    for (const w of this.#thirdParty.values()) void w?.stop();
  }

  /** Every application again, and the sweep; on leadership and at the resync period. */
  resync(): void {
    if (!this.#d.isLeader()) return;
    for (const p of this.#d.pools.list()) this.#watchThirdParty(p);
    for (const { kind } of BUILTIN_APP_KINDS) for (const a of this.#d.apps[kind].list()) this.#enqueueApp(kind, a);
    void this.sweep().catch((err: unknown) => this.#d.log.warn({ err }, "auto-pool sweep failed"));
  }

  #appKeyOfPool(p: SpiderIPPool): string | undefined {
    const l = p.metadata.labels ?? {};
    const kind = l[LABEL_OWNER_APPLICATION_KIND];
    const ns = l[LABEL_OWNER_APPLICATION_NAMESPACE];
    const name = l[LABEL_OWNER_APPLICATION_NAME];
    if (kind === undefined || ns === undefined || name === undefined) return undefined;
    return keyOf(kind, ns, name);
  }

  /**
   * A reclaimable pool of a third-party application: watch that kind (once), so the pool is
   * deleted when its application is, not at the next sweep (SPIDERPOOL_SUBNET_INFORMER_RESYNC_PERIOD).
   */
  #watchThirdParty(p: SpiderIPPool): void {
    if (this.#stopped || !this.#d.isLeader() || !isReclaimed(p) || p.metadata.deletionTimestamp !== undefined) return;
    const app = appOfPool(p);
    if (app === undefined || isBuiltinApp(app.apiVersion, app.kind)) return;
    const { apiVersion, kind } = app;
    const key = `${apiVersion} ${kind}`;
    if (this.#thirdParty.has(key)) return;
    this.#thirdParty.set(key, undefined);
    this.#d.client
      .resourceFor(apiVersion, kind)
      .then((rt) => {
        // A kind not served has no objects to wait for; the sweep deletes its pools.
        if (rt === undefined || this.#stopped) return;
        const w = new Informer<KubeObject>(this.#d.client, rt, {
          onError: (err) => this.#d.log.warn({ err, kind: key }, "third-party application watch failed; retrying"),
        });
        w.addHandlers({
          onUpdate: (o, a) => {
            if (o.metadata?.deletionTimestamp === undefined && a.metadata?.deletionTimestamp !== undefined)
              this.#appGone(apiVersion, kind, a);
          },
          onDelete: (a) => this.#appGone(apiVersion, kind, a),
        });
        this.#thirdParty.set(key, w);
        w.start();
        this.#d.log.info({ kind: key }, "watching a third-party application kind for its auto-created IPPools");
      })
      .catch((err: unknown) => {
        // Discovery failed: forget the kind, so the next pool event tries again.
        this.#thirdParty.delete(key);
        this.#d.log.warn({ err, kind: key }, "cannot watch a third-party application kind; the sweep covers it");
      });
  }

  #appGone(apiVersion: string, kind: string, a: KubeObject): void {
    if (this.#stopped || !this.#d.isLeader()) return;
    const app = { apiVersion, kind, namespace: a.metadata?.namespace ?? "", name: a.metadata?.name ?? "" };
    // #reclaim deletes only pools whose application a fresh read finds gone (by UID).
    void this.#reclaim(app, undefined).catch((err: unknown) =>
      this.#d.log.warn(
        { err, app: `${kind}/${app.namespace}/${app.name}` },
        "auto-pool reclaim failed; the sweep retries",
      ),
    );
  }

  #enqueueApp(kind: BuiltinAppKind, app: Workload): void {
    this.#enqueue(keyOf(kind, app.metadata.namespace ?? "", app.metadata.name ?? ""), 0);
  }

  #enqueue(key: string, delayMs: number): void {
    if (this.#stopped || !this.#d.isLeader()) return;
    const e = this.#entries.get(key) ?? { attempts: 0 };
    this.#entries.set(key, e);
    if (delayMs > 0) {
      clearTimeout(e.timer);
      e.timer = setTimeout(() => {
        e.timer = undefined;
        this.#push(key);
      }, delayMs);
      e.timer.unref();
      return;
    }
    this.#push(key);
  }

  #push(key: string): void {
    if (!this.#queued.has(key)) {
      this.#queued.add(key);
      this.#queue.push(key);
    }
    // Also for a key already queued: a worker that stopped on losing leadership left it there.
    void this.#work();
  }

  /** Resolves when nothing is queued or running (tests use it to wait for a settled state). */
  get idle(): boolean {
    return !this.#working && this.#queue.length === 0;
  }

  async #work(): Promise<void> {
    if (this.#working) return;
    this.#working = true;
    try {
      while (this.#queue.length > 0 && !this.#stopped && this.#d.isLeader()) {
        const key = this.#queue.shift() as string;
        this.#queued.delete(key);
        await this.#run(key);
      }
    } finally {
      this.#working = false;
    }
  }

  async #run(key: string): Promise<void> {
    const e = this.#entries.get(key) ?? { attempts: 0 };
    try {
      await this.#sync(key);
      this.#entries.delete(key);
      this.#blocked.delete(key);
      this.#d.metrics.reconciled("ok");
    } catch (err) {
      if (
        hasCode(err, "ERR_WRONG_INPUT") ||
        err instanceof InvalidAnnotationError ||
        e.attempts + 1 >= this.#d.maxRetries
      ) {
        this.#entries.delete(key);
        this.#d.metrics.reconciled("dropped");
        this.#d.log.warn({ err, app: key, attempts: e.attempts + 1 }, "auto-pool reconcile given up");
        return;
      }
      e.attempts++;
      const delay = Math.min(this.#d.retryMs * 2 ** Math.min(e.attempts - 1, 10), 30_000);
      this.#d.metrics.reconciled("retry");
      this.#d.log.info(
        { app: key, attempt: e.attempts, retryInMs: delay, reason: (err as Error).message },
        "auto-pool reconcile retried",
      );
      this.#enqueue(key, delay);
    }
  }

  async #sync(key: string): Promise<void> {
    const [kind, ns, name] = key.split("/") as [BuiltinAppKind, string, string];
    const app = this.#d.apps[kind]?.getByName(name, ns);
    const apiVersion = BUILTIN_APP_KINDS.find((k) => k.kind === kind)?.apiVersion ?? "";
    // Reclaimable pools of this name whose application (by UID) is gone go first, whether
    // the application was deleted or deleted and created again.
    await this.#reclaim({ apiVersion, kind, namespace: ns, name }, app?.metadata.uid);
    if (app === undefined || app.metadata.deletionTimestamp !== undefined) return;
    if (hasBuiltinParent(kind, app)) return;
    const t = podTemplateOf(kind, app);
    if (t.hostNetwork) return;
    const cfg = autoPoolConfig(t.annotations);
    if (cfg === undefined) return;
    const ref: AppRef = { apiVersion, kind, namespace: ns, name, uid: app.metadata.uid ?? "" };
    const desired = desiredIPNumber(cfg.ipNumber, replicasOf(kind, app), this.#d.defaultFlexible);
    const ipNumber = ipNumberText(cfg.ipNumber, this.#d.defaultFlexible);
    let failure: unknown;
    for (const item of cfg.items) {
      for (const [family, subnet] of [
        [4, item.ipv4],
        [6, item.ipv6],
      ] as const) {
        if (subnet === undefined || !(family === 4 ? this.#d.enableIPv4 : this.#d.enableIPv6)) continue;
        try {
          await reconcileAutoPool(
            { client: this.#d.client, log: this.#d.log },
            { subnet, app: ref, iface: item.interface, family, desired, ipNumber, reclaim: cfg.reclaim },
          );
        } catch (err) {
          // The other NICs and families still get their pools; the first failure decides the
          // retry, and any blocked shrink asks to be woken when a pod leaves.
          failure ??= err;
          if (hasCode(err, "ERR_POOL_SHRINK_BLOCKED")) this.#blocked.add(key);
        }
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Deletes the reclaimable pools of an application name whose UID is not `liveUid`. The
   * cache may lag: a pool is deleted only after a fresh read agrees the application is gone.
   */
  async #reclaim(app: Omit<AppRef, "uid">, liveUid: string | undefined): Promise<void> {
    const gv = app.apiVersion.replace("/", "_");
    const stale = this.#d.pools.list().filter((p) => {
      const l = p.metadata.labels ?? {};
      return (
        p.metadata.deletionTimestamp === undefined &&
        isReclaimed(p) &&
        l[LABEL_OWNER_APPLICATION_GV] === gv &&
        l[LABEL_OWNER_APPLICATION_KIND] === app.kind &&
        l[LABEL_OWNER_APPLICATION_NAMESPACE] === app.namespace &&
        l[LABEL_OWNER_APPLICATION_NAME] === app.name &&
        l[LABEL_OWNER_APPLICATION_UID] !== liveUid
      );
    });
    if (stale.length === 0) return;
    const current = await this.#liveUid(app);
    let n = 0;
    for (const p of stale) {
      if (p.metadata.labels?.[LABEL_OWNER_APPLICATION_UID] === current) continue;
      try {
        await this.#d.client.delete(POOLS, p.metadata.name ?? "", {
          preconditions: { uid: p.metadata.uid ?? "" },
        });
        n++;
        this.#d.log.info(
          { pool: p.metadata.name, app: `${app.kind}/${app.namespace}/${app.name}` },
          "application gone: its auto-created IPPool is deleted (it stays Terminating until its last address is released)",
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (n > 0) this.#d.metrics.poolsDeleted(n);
  }

  /** The application's UID now, by a fresh read (undefined when it does not exist). */
  async #liveUid(app: Omit<AppRef, "uid">): Promise<string | undefined> {
    const rt = isBuiltinApp(app.apiVersion, app.kind)
      ? APP_RESOURCES[app.kind as BuiltinAppKind]
      : await this.#d.client.resourceFor(app.apiVersion, app.kind).catch((err: unknown) => {
          // A group version that is no longer served has no objects left.
          if (isNotFound(err)) return undefined;
          throw err;
        });
    if (rt === undefined) return undefined;
    try {
      const o = await this.#d.client.get(rt, app.name, rt.namespaced ? app.namespace : undefined);
      return o.metadata?.deletionTimestamp === undefined ? o.metadata?.uid : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The UIDs of these subnet-entry applications that exist. Built-in kinds from the cache
   * (the reconciles that write entries read the same cache); third-party ones by a fresh
   * read. When a read fails the answer is "alive with any UID" (`*`): keeping an entry too
   * long only delays reuse of its addresses, dropping it early could hand them out twice.
   */
  async liveApplications(keys: Iterable<string>): Promise<Map<string, string>> {
    const live = new Map<string, string>();
    for (const key of keys) {
      const app = parseApplicationKey(key);
      if (app === undefined) continue;
      if (isBuiltinApp(app.apiVersion, app.kind)) {
        const uid = this.#d.apps[app.kind as BuiltinAppKind].getByName(app.name, app.namespace)?.metadata.uid;
        if (uid !== undefined) live.set(key, uid);
        continue;
      }
      try {
        const uid = await this.#liveUid(app);
        if (uid !== undefined) live.set(key, uid);
      } catch (err) {
        this.#d.log.warn(
          { err, application: key },
          "cannot tell whether a third-party application exists; keeping its subnet entry",
        );
        live.set(key, "*");
      }
    }
    return live;
  }

  /** Reclaimable auto pools of every application, third-party included, whose application is gone. */
  async sweep(): Promise<void> {
    const seen = new Set<string>();
    for (const p of this.#d.pools.list()) {
      if (!isReclaimed(p) || p.metadata.deletionTimestamp !== undefined) continue;
      const app = appOfPool(p);
      if (app === undefined) continue;
      const key = keyOf(app.kind, app.namespace, app.name);
      if (seen.has(key)) continue;
      seen.add(key);
      const cached = isBuiltinApp(app.apiVersion, app.kind)
        ? this.#d.apps[app.kind as BuiltinAppKind].getByName(app.name, app.namespace)?.metadata.uid
        : undefined;
      if (cached !== undefined && cached === p.metadata.labels?.[LABEL_OWNER_APPLICATION_UID]) continue;
      await this.#reclaim(app, cached ?? (await this.#liveUid(app)));
    }
  }
}
