// In-memory fakes of the agent's seams (src/agent/flow-deps.ts): the node view, the
// SpiderEndpoint store, the pool writers, the owner resolver and the clock. Each keeps the
// real one's contract (the endpoint store its preconditions, the writers one record per pod
// UID and pool), so the ADD and DEL flows are tested without an API server.
import pino from "pino";
import { FakeClock } from "./clock.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import { SPIDER_FINALIZER } from "../../src/api/group.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { Namespace, Pod } from "../../src/agent/cache.ts";
import { PodMemo, type FlowConfig, type FlowDeps, type NodeView } from "../../src/agent/flow-deps.ts";
import { IPRangeSet } from "../../src/ip/index.ts";
import { poolNotFound, usedOut } from "../../src/ipam/errors.ts";
import {
  resolveTopController,
  workloadKind,
  workloadKindOfEndpoint,
  type PodLike,
  type TopController,
} from "../../src/ipam/pod.ts";
import { poolAddresses } from "../../src/ipam/pool-state.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import type { EndpointStore } from "../../src/poolstore/endpoint-store.ts";
import type { OwnerResolver, StaticKind } from "../../src/poolstore/owner-resolver.ts";
import type { OpResult, PoolOp } from "../../src/poolstore/pool-writer.ts";
import type { PoolWriterRegistry } from "../../src/poolstore/pool-writers.ts";

const key = (ns: string, name: string): string => `${ns}/${name}`;

/** SpiderEndpoints in a map, with the real store's preconditions (pod UID; object uid and version). */
export class MemoryEndpointStore implements EndpointStore {
  readonly items = new Map<string, SpiderEndpoint>();
  #rv = 1;
  #uid = 1;

  async get(ns: string, name: string): Promise<SpiderEndpoint | undefined> {
    const ep = this.items.get(key(ns, name));
    return ep === undefined ? undefined : structuredClone(ep);
  }

  async create(ep: SpiderEndpoint): Promise<"created" | "exists"> {
    const k = key(ep.metadata.namespace ?? "", ep.metadata.name ?? "");
    if (this.items.has(k)) return "exists";
    const stored = structuredClone(ep);
    stored.metadata.uid = `ep-uid-${this.#uid++}`;
    stored.metadata.resourceVersion = String(this.#rv++);
    this.items.set(k, stored);
    return "created";
  }

  async retarget(
    ns: string,
    name: string,
    _known: SpiderEndpoint | undefined,
    mutate: (cur: SpiderEndpoint) => SpiderEndpoint | undefined,
  ): Promise<SpiderEndpoint> {
    const cur = this.items.get(key(ns, name));
    if (cur === undefined) throw Object.assign(new Error(`SpiderEndpoint ${ns}/${name} not found`), { status: 404 });
    const next = mutate(structuredClone(cur));
    if (next === undefined) return structuredClone(cur);
    next.metadata.resourceVersion = String(this.#rv++);
    this.items.set(key(ns, name), structuredClone(next));
    return next;
  }

  async release(ns: string, name: string, podUid: string | undefined): Promise<SpiderEndpoint | undefined> {
    const cur = this.items.get(key(ns, name));
    if (cur === undefined) return undefined;
    if (podUid !== undefined && cur.status?.current.uid !== podUid) return undefined;
    const fins = (cur.metadata.finalizers ?? []).filter((f) => f !== SPIDER_FINALIZER);
    if (fins.length !== (cur.metadata.finalizers ?? []).length) {
      cur.metadata.finalizers = fins;
      cur.metadata.resourceVersion = String(this.#rv++);
    }
    return structuredClone(cur);
  }

  async drop(ns: string, name: string, podUid: string | undefined): Promise<boolean> {
    if ((await this.release(ns, name, podUid)) === undefined) return false;
    this.items.delete(key(ns, name));
    return true;
  }
}

interface FakePool {
  free: string[];
  records: Map<string, { podUid: string; podRef: string }>;
}

/** Pools as lists of free addresses; every op is logged in `ops`. */
export class FakePoolWriters implements PoolWriterRegistry {
  readonly pools = new Map<string, FakePool>();
  readonly ops: Array<{ pool: string; op: PoolOp }> = [];
  /** Fails the next op on a pool with this error, once. */
  readonly failNext = new Map<string, Error>();

  addPool(name: string, ips: string[]): void {
    this.pools.set(name, { free: [...ips], records: new Map() });
  }

  get(pool: string): { submit(op: PoolOp): Promise<OpResult> } {
    return { submit: (op) => this.submit(pool, op) };
  }

  async submit(pool: string, op: PoolOp): Promise<OpResult> {
    this.ops.push({ pool, op });
    const injected = this.failNext.get(pool);
    if (injected !== undefined) {
      this.failNext.delete(pool);
      throw injected;
    }
    const p = this.pools.get(pool);
    if (p === undefined) throw poolNotFound(pool);
    switch (op.kind) {
      case "allocate": {
        const held = [...p.records].filter(([, r]) => r.podUid === op.podUid).map(([ip]) => ip);
        const mine = held[op.slot ?? 0];
        if (mine !== undefined) return { ip: mine, reused: true };
        const ip = p.free.shift();
        if (ip === undefined) throw usedOut();
        p.records.set(ip, { podUid: op.podUid, podRef: op.podRef });
        return { ip };
      }
      case "release": {
        const released: string[] = [];
        for (const ip of op.ips) {
          if (p.records.get(ip)?.podUid !== op.podUid) continue;
          p.records.delete(ip);
          p.free.push(ip);
          released.push(ip);
        }
        return { released };
      }
      case "retarget":
        for (const ip of op.ips) {
          const r = p.records.get(ip);
          if (r !== undefined) p.records.set(ip, { podUid: op.podUid, podRef: op.podRef });
        }
        return {};
    }
  }

  /** The addresses recorded for a pod UID, over all pools. */
  held(podUid: string): string[] {
    const out: string[] = [];
    for (const p of this.pools.values()) for (const [ip, r] of p.records) if (r.podUid === podUid) out.push(ip);
    return out.sort();
  }
}

/** Owners from a table; validity of StatefulSet/VM pods from `wanted` (absent: not wanted). */
export class FakeOwnerResolver implements OwnerResolver {
  readonly owners = new Map<string, { metadata: Pod["metadata"] }>();
  readonly wanted = new Set<string>();
  readonly on = { enableStatefulSet: true, enableKubevirtStaticIP: true };

  top(pod: PodLike): Promise<TopController> {
    return resolveTopController(pod, async (kind, ns, name) => this.owners.get(`${kind}/${ns}/${name}`));
  }
  kindOf(owner: { apiVersion: string; kind: string } | undefined) {
    return workloadKind(owner, this.on);
  }
  kindOfEndpoint(t: string | undefined) {
    return workloadKindOfEndpoint(t, this.on);
  }
  async stillWanted(kind: StaticKind, ns: string, podName: string, ownerName: string): Promise<boolean> {
    return this.wanted.has(`${kind}/${ns}/${ownerName}/${podName}`);
  }
}

/** The node's pods, pools and namespaces in maps. */
export class FakeNodeView implements NodeView {
  readonly podMap = new Map<string, Pod>();
  readonly poolMap = new Map<string, SpiderIPPool>();
  readonly nsMap = new Map<string, Namespace>();
  readonly pools = {
    list: (): SpiderIPPool[] => [...this.poolMap.values()],
    getByName: (n: string): SpiderIPPool | undefined => this.poolMap.get(n),
  };
  async getPod(ns: string, name: string) {
    return this.podMap.get(key(ns, name));
  }
  async getPodFresh(ns: string, name: string) {
    return this.podMap.get(key(ns, name));
  }
  async getPool(name: string) {
    return this.poolMap.get(name);
  }
  async getNamespace(name: string) {
    return this.nsMap.get(name);
  }
  nodeLabels(): Record<string, string> {
    return {};
  }
  reservedSet(family: 4 | 6): IPRangeSet {
    return IPRangeSet.empty(family);
  }
}

export interface FakeAgent {
  deps: FlowDeps;
  memo: PodMemo;
  view: FakeNodeView;
  endpoints: MemoryEndpointStore;
  writers: FakePoolWriters;
  owners: FakeOwnerResolver;
  clock: FakeClock;
  /** Adds a pool to the view and to the writers, with every address of its `ips`. */
  pool(name: string, subnet: string, ips: string, extra?: Partial<SpiderIPPool["spec"]>): void;
  pod(ns: string, name: string, uid: string, extra?: Partial<Pod>): Pod;
}

const CONFIG: FlowConfig = {
  nodeName: "node-1",
  podNamespace: "kube-system",
  multusClusterNetwork: "",
  enableIPv4: true,
  enableIPv6: true,
  enableSpiderSubnet: false,
  enableAutoPoolForApplication: false,
  waitSubnetPoolMs: 100,
  waitSubnetPoolMaxRetries: 3,
  defaultFlexibleIPNumber: 1,
};

export function fakeAgent(config: Partial<FlowConfig> = {}): FakeAgent {
  const view = new FakeNodeView();
  const endpoints = new MemoryEndpointStore();
  const writers = new FakePoolWriters();
  const owners = new FakeOwnerResolver();
  const clock = new FakeClock();
  const deps: FlowDeps = {
    view,
    endpoints,
    writers,
    owners,
    clock,
    config: { ...CONFIG, ...config },
    // The flows reach the client only for auto-pools, which these fakes do not serve.
    client: {} as KubeClient,
    log: pino({ level: process.env["AGENT_LOG"] ?? "silent" }),
  };
  return {
    deps,
    memo: new PodMemo(),
    view,
    endpoints,
    writers,
    owners,
    clock,
    pool(name, subnet, ips, extra = {}) {
      const spec = { subnet, ips: [ips], ...extra } as SpiderIPPool["spec"];
      view.poolMap.set(name, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderIPPool",
        metadata: { name },
        spec,
      });
      writers.addPool(name, [...poolAddresses(spec).effective.addresses(4096)]);
    },
    pod(ns, name, uid, extra = {}) {
      const p: Pod = {
        ...extra,
        metadata: { namespace: ns, name, uid, ...extra.metadata },
        spec: { nodeName: "node-1", ...extra.spec },
        status: { phase: "Running", ...extra.status },
      };
      view.podMap.set(key(ns, name), p);
      return p;
    },
  };
}

export { FakeClock };
