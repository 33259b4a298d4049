// The GC against in-memory seams and a fake clock (no API server, no waiting): a deleted
// pod's addresses go when its delay has passed on the clock, not before, through the same
// EndpointStore preconditions the agent uses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { GarbageCollector } from "../../src/controller/gc/collector.ts";
import type { GcConfig, GcPod } from "../../src/controller/gc/decide.ts";
import type { KubeClient, KubeObject } from "../../src/kube/client.ts";
import type { Informer } from "../../src/kube/informer.ts";
import { FakeOwnerResolver, FakePoolWriters, MemoryEndpointStore } from "../support/agent-fakes.ts";
import { eventually } from "../support/apiserver.ts";
import { FakeClock } from "../support/clock.ts";

const cfg: GcConfig = {
  enabled: true,
  terminatingOnReadyNode: true,
  terminatingOnNotReadyNode: true,
  runningPodOnEmptyPodIPs: false,
  additionalGraceDelaySeconds: 5,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  cleanOutdatedEndpoint: false,
};

/** An informer as the collector reads it: handlers, a list, lookups by name. */
function informer<T extends { metadata: { name?: string; namespace?: string } }, I = Informer<T & KubeObject>>(
  items: T[] = [],
) {
  const handlers: { onDelete?: (o: T) => void } = {};
  return {
    handlers,
    inf: {
      addHandlers: (h: typeof handlers) => Object.assign(handlers, h),
      list: () => items,
      getByName: (name: string, ns?: string) =>
        items.find((i) => i.metadata.name === name && (ns === undefined || i.metadata.namespace === ns)),
    } as unknown as I,
  };
}

describe("GC with a fake clock", () => {
  it("a deleted pod's record and endpoint go once its delay has passed, not before", async () => {
    const clock = new FakeClock();
    const endpoints = new MemoryEndpointStore();
    const writers = new FakePoolWriters();
    writers.addPool("v4", ["192.0.2.10", "192.0.2.11"]);
    await writers.submit("v4", { kind: "allocate", podUid: "u1", podRef: "default/web" });
    await endpoints.create({
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderEndpoint",
      metadata: { name: "web", namespace: "default", finalizers: ["spiderpool.spidernet.io"] },
      status: {
        current: { uid: "u1", node: "n1", ips: [{ interface: "eth0", ipv4: "192.0.2.10/24", ipv4Pool: "v4" }] },
        ownerControllerType: "Pod",
        ownerControllerName: "web",
      },
    } as SpiderEndpoint);
    const pods = informer<GcPod>();
    const gc = new GarbageCollector({
      client: {} as KubeClient,
      pods: pods.inf,
      pools: informer<SpiderIPPool, Informer<SpiderIPPool>>().inf,
      endpoints: informer<SpiderEndpoint, Informer<SpiderEndpoint>>().inf,
      nodes: informer<KubeObject & { metadata: object }, Informer<KubeObject>>().inf,
      endpointStore: endpoints,
      owners: new FakeOwnerResolver(),
      clock,
      submit: (pool, op) => writers.submit(pool, op),
      isLeader: () => true,
      cfg,
      traceGapMs: 60_000,
      workers: 2,
      scanIntervalMs: 3_600_000,
      maxRetries: 3,
      dbCap: 100,
      metrics: { reclaimed: () => {}, failed: () => {} },
      log: pino({ level: "silent" }),
    });
    gc.start();
    try {
      pods.handlers.onDelete?.({ metadata: { name: "web", namespace: "default", uid: "u1" } });
      await eventually(() => gc.traced === 1, 2000, "traced");
      clock.advance(4_999);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(writers.held("u1"), ["192.0.2.10"], "kept within the delay");
      clock.advance(1);
      await eventually(() => writers.held("u1").length === 0, 2000, "released when due");
      await eventually(async () => (await endpoints.get("default", "web")) === undefined, 2000, "endpoint dropped");
      assert.equal(gc.traced, 0);
    } finally {
      gc.stop();
    }
    assert.equal(clock.pending, 0, "stop cancels every timer");
  });
});
