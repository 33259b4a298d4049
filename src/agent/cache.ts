/**
 * The agent's view of the cluster: informers for pools, reserved IPs, namespaces, its own
 * node and the pods on its node, with a direct read when the cache has not seen an object
 * yet (a pod created a moment ago may reach the CNI call before the watch event).
 *
 * SpiderEndpoints are not cached: they cannot be selected by node on the server, so a cache
 * would hold every endpoint of the cluster in every agent (and parse every change to one),
 * while the agent reads endpoints only one at a time on the CNI path, always fresh, and
 * all of its node's at once for CNI GC, which lists them.
 */
import type { Logger } from "pino";
import { SpiderEndpointKind, type SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { ObjectMeta } from "../api/meta.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import type { IPRangeSet } from "../ip/index.ts";
import { reservedAddresses } from "../ipam/pool-state.ts";
import type { PodLike } from "../ipam/pod.ts";
import type { AnyObject, KubeClient } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { byNamespace, Informer } from "../kube/informer.ts";
import { Resources, resourceTypeOf, type ResourceType } from "../kube/resources.ts";
import { retryTransient } from "../kube/retry.ts";
import { POOL_RECORDS, POOLS } from "../poolstore/pool-writer.ts";

export const ENDPOINTS = resourceTypeOf(SpiderEndpointKind);
export const RESERVED = resourceTypeOf(SpiderReservedIPKind);

export interface Pod extends PodLike {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { nodeName?: string; restartPolicy?: string; terminationGracePeriodSeconds?: number };
  status?: { phase?: string; reason?: string };
}

export interface Namespace {
  metadata: ObjectMeta;
}

export interface NodeObj {
  metadata: ObjectMeta;
}

export class AgentCache {
  readonly pools: Informer<SpiderIPPool>;
  readonly reserved: Informer<SpiderReservedIP>;
  readonly namespaces: Informer<Namespace>;
  readonly node: Informer<NodeObj>;
  readonly pods: Informer<Pod>;
  readonly #client: KubeClient;
  #reservedSets: { 4: IPRangeSet; 6: IPRangeSet } | undefined;

  constructor(client: KubeClient, nodeName: string, log: Logger, opts: { poolWatch?: "full" | "metadata" } = {}) {
    this.#client = client;
    const onError =
      (what: string) =>
      (err: unknown): void =>
        log.warn({ err, informer: what }, "informer error; retrying");
    this.pools = new Informer<SpiderIPPool>(client, POOLS, {
      onError: onError("spiderippools"),
      deltaString: POOL_RECORDS,
      metadataWatch: opts.poolWatch === "metadata",
    });
    this.reserved = new Informer<SpiderReservedIP>(client, RESERVED, { onError: onError("spiderreservedips") });
    this.namespaces = new Informer<Namespace>(client, Resources.namespaces, { onError: onError("namespaces") });
    this.node = new Informer<NodeObj>(client, Resources.nodes, {
      fieldSelector: `metadata.name=${nodeName}`,
      onError: onError("node"),
    });
    this.pods = new Informer<Pod>(client, Resources.pods, {
      fieldSelector: `spec.nodeName=${nodeName}`,
      indexers: { namespace: byNamespace },
      onError: onError("pods"),
    });
    const invalidate = (): void => {
      this.#reservedSets = undefined;
    };
    this.reserved.addHandlers({ onAdd: invalidate, onUpdate: invalidate, onDelete: invalidate });
  }

  #all(): Informer<AnyObject>[] {
    return [this.pools, this.reserved, this.namespaces, this.node, this.pods] as unknown as Informer<AnyObject>[];
  }

  async start(timeoutMs = 60_000): Promise<void> {
    for (const i of this.#all()) i.start();
    await Promise.all(this.#all().map((i) => i.waitForSync(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  get synced(): boolean {
    return this.#all().every((i) => i.hasSynced());
  }

  /** Every reserved address of a family, from all non-terminating SpiderReservedIPs. */
  reservedSet(family: 4 | 6): IPRangeSet {
    if (this.#reservedSets === undefined) {
      const items = this.reserved.list();
      this.#reservedSets = { 4: reservedAddresses(4, items), 6: reservedAddresses(6, items) };
    }
    return this.#reservedSets[family];
  }

  async #read<T extends AnyObject>(
    informer: Informer<T>,
    rt: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const hit = informer.getByName(name, namespace);
    if (hit !== undefined) return hit;
    try {
      return await retryTransient(`GET ${rt.kind} ${namespace ?? ""}/${name}`, () =>
        this.#client.get<T>(rt, name, namespace),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  getPod(namespace: string, name: string): Promise<Pod | undefined> {
    return this.#read(this.pods, Resources.pods, name, namespace);
  }

  /** A fresh read, for decisions that must not act on a stale copy (release on DEL). */
  async getPodFresh(namespace: string, name: string): Promise<Pod | undefined> {
    try {
      return await retryTransient(`GET Pod ${namespace}/${name}`, () =>
        this.#client.get<Pod>(Resources.pods, name, namespace),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  getPool(name: string): Promise<SpiderIPPool | undefined> {
    return this.#read(this.pools, POOLS, name);
  }

  getNamespace(name: string): Promise<Namespace | undefined> {
    return this.#read(this.namespaces, Resources.namespaces, name);
  }

  async getEndpointFresh(namespace: string, name: string): Promise<SpiderEndpoint | undefined> {
    try {
      return await this.#client.get<SpiderEndpoint>(ENDPOINTS, name, namespace);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every SpiderEndpoint recorded on a node, from a paged list of all of them. */
  async endpointsOnNode(nodeName: string): Promise<SpiderEndpoint[]> {
    const all = await retryTransient("LIST SpiderEndpoints", () => this.#client.listAll<SpiderEndpoint>(ENDPOINTS));
    return all.items.filter((e) => e.status?.current.node === nodeName);
  }

  nodeLabels(nodeName: string): Record<string, string> {
    return this.node.getByName(nodeName)?.metadata.labels ?? {};
  }
}
