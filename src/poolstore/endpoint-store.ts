/**
 * SpiderEndpoints as the agent (ADD, DEL, CNI GC) and the controller's GC write them: one
 * implementation, so both sides remove an endpoint under the same preconditions. An
 * endpoint is only ever touched while it is still the pod's the caller judged it for
 * (`status.current.uid`): one re-created meanwhile for another pod of the same name is left
 * alone, and a delete is preconditioned on the object's uid and resourceVersion as last seen.
 */
import type { SpiderEndpoint } from "../api/endpoint.ts";
import { SPIDER_FINALIZER } from "../api/group.ts";
import type { KubeClient } from "../kube/client.ts";
import { isApiError, isNotFound } from "../kube/errors.ts";
import { updateWithRetry } from "../kube/optimistic.ts";
import type { ResourceType } from "../kube/resources.ts";
import { retryTransient } from "../kube/retry.ts";

/** AlreadyExists on create, a failed precondition on delete. */
const is409 = (err: unknown): boolean => isApiError(err) && err.status === 409;

export interface EndpointStore {
  /** A fresh read; undefined when there is none. */
  get(ns: string, name: string): Promise<SpiderEndpoint | undefined>;
  /** "exists" when an endpoint of that name is there already (nothing is written then). */
  create(ep: SpiderEndpoint): Promise<"created" | "exists">;
  /**
   * Read-mutate-write until it holds (409s retried). `known` is a copy read moments ago,
   * written against instead of reading again. `mutate` gets a private copy; undefined
   * means nothing to change. Returns the endpoint as left.
   */
  retarget(
    ns: string,
    name: string,
    known: SpiderEndpoint | undefined,
    mutate: (cur: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<SpiderEndpoint>;
  /**
   * Removes our finalizer while the endpoint is `podUid`'s (any pod's when undefined), so
   * that nothing holds it once its owner goes. Returns the endpoint as left, undefined when
   * it is gone or another pod's.
   */
  release(
    ns: string,
    name: string,
    podUid: string | undefined,
    known?: SpiderEndpoint,
  ): Promise<SpiderEndpoint | undefined>;
  /** `release`, then delete, preconditioned on what `release` left. True when this call deleted it. */
  drop(ns: string, name: string, podUid: string | undefined, known?: SpiderEndpoint): Promise<boolean>;
}

export class KubeEndpointStore implements EndpointStore {
  readonly #client: KubeClient;
  readonly #rt: ResourceType;

  constructor(client: KubeClient, rt: ResourceType) {
    this.#client = client;
    this.#rt = rt;
  }

  async get(ns: string, name: string): Promise<SpiderEndpoint | undefined> {
    try {
      return await retryTransient(`GET SpiderEndpoint ${ns}/${name}`, () =>
        this.#client.get<SpiderEndpoint>(this.#rt, name, ns),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(ep: SpiderEndpoint): Promise<"created" | "exists"> {
    try {
      // A create applied before its answer was lost is retried into a 409: "exists", and the
      // ADD starts again from that endpoint, which is its own.
      await retryTransient(`POST SpiderEndpoint ${ep.metadata.namespace ?? ""}/${ep.metadata.name ?? ""}`, () =>
        this.#client.create(this.#rt, ep),
      );
      return "created";
    } catch (err) {
      if (is409(err)) return "exists";
      throw err;
    }
  }

  retarget(
    ns: string,
    name: string,
    known: SpiderEndpoint | undefined,
    mutate: (cur: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<SpiderEndpoint> {
    return updateWithRetry<SpiderEndpoint>({
      what: `SpiderEndpoint ${ns}/${name}`,
      get: () =>
        retryTransient(`GET SpiderEndpoint ${ns}/${name}`, () => this.#client.get<SpiderEndpoint>(this.#rt, name, ns)),
      ...(known === undefined ? {} : { first: known }),
      mutate: (cur) => mutate(structuredClone(cur)),
      write: (next) => retryTransient(`PUT SpiderEndpoint ${ns}/${name}`, () => this.#client.update(this.#rt, next)),
      maxAttempts: 20,
    });
  }

  async release(
    ns: string,
    name: string,
    podUid: string | undefined,
    known?: SpiderEndpoint,
  ): Promise<SpiderEndpoint | undefined> {
    let mine = true;
    try {
      const left = await this.retarget(ns, name, known, (cur) => {
        mine = podUid === undefined || cur.status?.current.uid === podUid;
        if (!mine) return undefined;
        const fins = cur.metadata.finalizers ?? [];
        const kept = fins.filter((f) => f !== SPIDER_FINALIZER);
        if (kept.length === fins.length) return undefined;
        if (kept.length === 0) delete cur.metadata.finalizers;
        else cur.metadata.finalizers = kept;
        return cur;
      });
      return mine ? left : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async drop(ns: string, name: string, podUid: string | undefined, known?: SpiderEndpoint): Promise<boolean> {
    let left = await this.release(ns, name, podUid, known);
    // The copy judged may be a moment old: a conflict reads again and decides again.
    for (let attempt = 0; attempt < 5 && left !== undefined; attempt++) {
      const pre: { uid?: string; resourceVersion?: string } = {};
      if (left.metadata.uid !== undefined) pre.uid = left.metadata.uid;
      if (left.metadata.resourceVersion !== undefined) pre.resourceVersion = left.metadata.resourceVersion;
      try {
        await retryTransient(`DELETE SpiderEndpoint ${ns}/${name}`, () =>
          this.#client.delete(this.#rt, name, { namespace: ns, preconditions: pre }),
        );
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!is409(err)) throw err;
      }
      left = await this.release(ns, name, podUid);
    }
    return false;
  }
}
