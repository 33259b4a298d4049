// Watches, informers, deletion semantics (finalizers, graceful pods, owner GC, namespaces)
// of the embedded API server, through our own client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SpiderIPPoolKind } from "../../src/api/ippool.ts";
import {
  Informer,
  Resources,
  resourceTypeOf,
  isNotFound,
  byNamespace,
  byNodeName,
  type KubeObject,
  type WatchEvent,
} from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";

const POOLS = resourceTypeOf(SpiderIPPoolKind);
const cm = (name: string, ns = "default", extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns, ...extra },
  data: { k: "v" },
});
const pool = (name: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: labels === undefined ? { name } : { name, labels },
  spec: { subnet: "198.51.100.0/24" },
});

async function exists(h: Harness, rt: typeof POOLS, name: string, ns?: string): Promise<boolean> {
  try {
    await h.client.get(rt, name, ns);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

describe("embedded API server: watch", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer({ bookmarkIntervalMs: 50, historyCapacity: 50 });
  });
  after(() => h.close());

  it("replays from a resourceVersion, streams live events, filters by label with transitions", async () => {
    const start = await h.client.list(POOLS);
    await h.client.create(POOLS, pool("w1", { watch: "yes" }));
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const ev of h.client.watch(POOLS, {
        resourceVersion: start.metadata.resourceVersion,
        labelSelector: "watch=yes",
        signal: ac.signal,
      })) {
        seen.push(`${ev.type}:${(ev.object as KubeObject).metadata?.name}`);
      }
    })();
    await eventually(() => seen.length >= 1, 2000, "replayed ADDED");
    await h.client.patchMerge(POOLS, "w1", { spec: { gateway: "198.51.100.1" } });
    await h.client.patchMerge(POOLS, "w1", { metadata: { labels: { watch: "no" } } });
    await h.client.patchMerge(POOLS, "w1", { metadata: { labels: { watch: "yes" } } });
    await h.client.delete(POOLS, "w1");
    await eventually(() => seen.length >= 5, 2000, "five events");
    ac.abort();
    await done;
    assert.deepEqual(seen, ["ADDED:w1", "MODIFIED:w1", "DELETED:w1", "ADDED:w1", "DELETED:w1"]);
  });

  it("bookmarks carry the current resourceVersion; timeoutSeconds ends the stream", async () => {
    const events: WatchEvent<KubeObject>[] = [];
    const t0 = Date.now();
    for await (const ev of h.client.watch(POOLS, {
      resourceVersion: "0",
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
    }))
      events.push(ev);
    const ms = Date.now() - t0;
    assert.ok(ms >= 900 && ms < 5000, `watch lasted ${ms} ms`);
    const marks = events.filter((e) => e.type === "BOOKMARK");
    assert.ok(marks.length >= 2, `got ${marks.length} bookmarks`);
    assert.match(String((marks[0]?.object as KubeObject).metadata?.resourceVersion), /^\d+$/);
  });

  it("a resourceVersion older than the history answers 410 Expired in the stream", async () => {
    const old = (await h.client.list(POOLS)).metadata.resourceVersion;
    for (let i = 0; i < 60; i++) await h.client.create(Resources.configmaps, cm(`churn-${i}`));
    const events: WatchEvent<KubeObject>[] = [];
    for await (const ev of h.client.watch(POOLS, { resourceVersion: old })) events.push(ev);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "ERROR");
    assert.equal((events[0]?.object as { code: number }).code, 410);
  });
});

describe("watch fan-out", () => {
  it("a watcher that stops reading is dropped; writers are not held back", async () => {
    const h = await startApiServer({ crds: false, watchBufferBytes: 64 * 1024 });
    const { request } = await import("node:http");
    const url = new URL(`${h.url}/api/v1/namespaces/default/configmaps?watch=true`);
    const stalled = request(url);
    stalled.end();
    const res = await new Promise<import("node:http").IncomingMessage>((r) => stalled.on("response", r));
    res.pause();
    res.socket.pause();
    try {
      await eventually(() => h.server.openWatches === 1, 2000, "watch registered");
      const big = "x".repeat(2000);
      for (let i = 0; i < 2000 && h.server.openWatches > 0; i++) {
        await h.client.create(Resources.configmaps, { ...cm(`fan-${i}`), data: { big } });
      }
      assert.equal(h.server.openWatches, 0, "the stalled watcher was dropped");
    } finally {
      res.destroy();
      await h.close();
    }
  });
});

describe("informer", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer({ bookmarkIntervalMs: 100, historyCapacity: 20 });
  });
  after(() => h.close());

  it("syncs, indexes and, after a 410, relists without losing an event (counter)", async () => {
    const inf = new Informer<KubeObject>(h.client, Resources.configmaps, {
      indexers: { namespace: byNamespace },
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const added = new Map<string, number>();
    const deleted = new Set<string>();
    inf.addHandlers({
      onAdd: (o) => added.set(o.metadata?.name ?? "", (added.get(o.metadata?.name ?? "") ?? 0) + 1),
      onDelete: (o) => deleted.add(o.metadata?.name ?? ""),
    });
    await h.client.create(Resources.configmaps, cm("before"));
    inf.start();
    try {
      await inf.waitForSync(5000);
      assert.ok(inf.getByName("before", "default"));
      // Cut the watch and keep it down while writing, then compact: the informer's
      // resourceVersion is out of the history when it comes back, so it must relist.
      h.server.injectFault({ verb: "watch", resource: "configmaps", status: 503, count: 1_000_000 });
      h.server.dropWatches("configmaps");
      const N = 50;
      for (let i = 0; i < N; i++) await h.client.create(Resources.configmaps, cm(`n-${i}`));
      await h.client.delete(Resources.configmaps, "before", { namespace: "default" });
      h.server.registry.store.compact();
      h.server.clearFaults();
      await eventually(
        () => [...Array(N).keys()].every((i) => added.get(`n-${i}`) === 1) && deleted.has("before"),
        10000,
        "all events",
      );
      assert.ok(inf.relists >= 2, `relists: ${inf.relists}`);
      for (const [name, n] of added) assert.equal(n, 1, `${name} added ${n} times`);
      assert.equal(inf.byIndex("namespace", "default").length, inf.list().length);
    } finally {
      await inf.stop();
    }
  });

  it("indexes pods by node name", async () => {
    const inf = new Informer<KubeObject>(h.client, Resources.pods, { indexers: { node: byNodeName } });
    const pod = (name: string, node: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { nodeName: node, containers: [] },
    });
    await h.client.create(Resources.pods, pod("on-a", "node-a"));
    await h.client.create(Resources.pods, pod("on-b", "node-b"));
    inf.start();
    try {
      await inf.waitForSync(5000);
      assert.deepEqual(
        inf.byIndex("node", "node-a").map((p) => p.metadata?.name),
        ["on-a"],
      );
      await h.client.delete(Resources.pods, "on-a", { namespace: "default" });
      await eventually(() => inf.byIndex("node", "node-a").length === 0, 3000, "index updated on delete");
      assert.throws(() => inf.byIndex("missing", "x"), /no index 'missing'/);
    } finally {
      await inf.stop();
    }
  });

  it("decodes a pool's records from the version before when only some changed (deltaString)", async () => {
    const inf = new Informer<KubeObject>(h.client, POOLS, { deltaString: ["status", "allocatedIPs"] });
    const records = (n: number): string =>
      JSON.stringify(
        Object.fromEntries(
          Array.from({ length: n }, (_, i) => [
            `198.51.100.${i + 1}`,
            {
              pod: `default/a-pod-with-a-rather-long-name-${i}`,
              podUid: `0b7e1c2a-9d3f-4e5a-8b6c-${String(i).padStart(12, "0")}`,
            },
          ]),
        ),
      );
    await h.client.create(POOLS, pool("deltas"));
    // Records are decoded when read: a handler reads every version's, as a writer would.
    let read = 0;
    inf.addHandlers({
      onUpdate: (_o, p) => {
        if (typeof (p as KubeObject & { status?: { allocatedIPs?: string } }).status?.allocatedIPs === "string") read++;
      },
    });
    inf.start();
    try {
      await inf.waitForSync(5000);
      let latest = "";
      for (const n of [160, 161, 165, 150, 170]) {
        const cur = await h.client.get<KubeObject>(POOLS, "deltas");
        const next = await h.client.updateStatus(POOLS, {
          ...cur,
          status: { allocatedIPs: records(n), allocatedIPCount: n },
        });
        latest = next.metadata?.resourceVersion ?? "";
      }
      await eventually(
        () => inf.getByName("deltas")?.metadata?.resourceVersion === latest,
        5000,
        "the informer at the last version",
      );
      const got = inf.getByName("deltas") as KubeObject & { status: { allocatedIPs: string } };
      const want = await h.client.get<KubeObject & { status: { allocatedIPs: string } }>(POOLS, "deltas");
      assert.equal(got.status.allocatedIPs, want.status.allocatedIPs);
      assert.deepEqual(got.status, want.status);
      assert.ok(read >= 4, `records read at ${read} versions`);
      assert.ok(
        (inf.deltaStats?.reused ?? 0) >= 3,
        `decoded from the version before: ${JSON.stringify(inf.deltaStats)}`,
      );
    } finally {
      await inf.stop();
    }
  });

  it("recovers from injected errors on list and watch, and from dropped connections", async () => {
    const errors: unknown[] = [];
    const inf = new Informer<KubeObject>(h.client, POOLS, {
      backoff: { initialMs: 10, maxMs: 40 },
      onError: (e) => errors.push(e),
    });
    h.server.injectFault({ verb: "list", resource: "spiderippools", status: 500, count: 2 });
    inf.start();
    try {
      await inf.waitForSync(5000);
      assert.ok(errors.length >= 2);
      h.server.injectFault({ verb: "watch", resource: "spiderippools", status: 503, count: 2 });
      h.server.dropWatches("spiderippools");
      await h.client.create(POOLS, pool("after-faults"));
      await eventually(() => inf.getByName("after-faults") !== undefined, 5000, "object after faults");
    } finally {
      await inf.stop();
    }
  });
});

describe("deletion", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer();
  });
  after(() => h.close());

  it("a finalizer keeps the object readable with deletionTimestamp until it is removed", async () => {
    await h.client.create(POOLS, {
      ...pool("fin"),
      metadata: { name: "fin", finalizers: ["spiderpool.spidernet.io"] },
    });
    await h.client.delete(POOLS, "fin");
    const p = await h.client.get(POOLS, "fin");
    assert.match(String(p.metadata?.["deletionTimestamp"]), /Z$/);
    await assert.rejects(
      h.client.patchMerge(POOLS, "fin", { metadata: { finalizers: ["spiderpool.spidernet.io", "another"] } }),
      (e: unknown) => (e as { status?: number }).status === 422,
    );
    await h.client.patchMerge(POOLS, "fin", { metadata: { finalizers: null } });
    assert.equal(await exists(h, POOLS, "fin"), false);
  });

  it("preconditions on uid and resourceVersion", async () => {
    const p = await h.client.create(POOLS, pool("pre"));
    await assert.rejects(
      h.client.delete(POOLS, "pre", { preconditions: { uid: "other" } }),
      (e: unknown) => (e as { status?: number }).status === 409,
    );
    await assert.rejects(
      h.client.delete(POOLS, "pre", { preconditions: { resourceVersion: "1" } }),
      (e: unknown) => (e as { status?: number }).status === 409,
    );
    await h.client.delete(POOLS, "pre", {
      preconditions: { uid: String(p.metadata?.uid), resourceVersion: String(p.metadata?.resourceVersion) },
    });
    assert.equal(await exists(h, POOLS, "pre"), false);
  });

  async function family(prefix: string, blocking: boolean): Promise<string> {
    const owner = await h.client.create(Resources.configmaps, cm(`${prefix}-owner`));
    for (const n of ["a", "b"]) {
      await h.client.create(
        Resources.configmaps,
        cm(`${prefix}-dep-${n}`, "default", {
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              name: `${prefix}-owner`,
              uid: owner.metadata?.uid,
              blockOwnerDeletion: blocking,
            },
          ],
          finalizers: n === "a" ? ["test/hold"] : [],
        }),
      );
    }
    return String(owner.metadata?.uid);
  }

  it("background propagation removes dependents after the owner", async () => {
    await family("bg", true);
    await h.client.delete(Resources.configmaps, "bg-owner", { namespace: "default", propagationPolicy: "Background" });
    assert.equal(await exists(h, Resources.configmaps, "bg-owner", "default"), false);
    await eventually(
      async () => !(await exists(h, Resources.configmaps, "bg-dep-b", "default")),
      3000,
      "dependent b deleted",
    );
    const a = await h.client.get(Resources.configmaps, "bg-dep-a", "default");
    assert.ok(a.metadata?.["deletionTimestamp"], "a dependent with a finalizer is being deleted");
  });

  it("foreground propagation keeps the owner until blocking dependents are gone", async () => {
    await family("fg", true);
    await h.client.delete(Resources.configmaps, "fg-owner", { namespace: "default", propagationPolicy: "Foreground" });
    await eventually(
      async () => !(await exists(h, Resources.configmaps, "fg-dep-b", "default")),
      3000,
      "dependent b deleted",
    );
    const owner = await h.client.get(Resources.configmaps, "fg-owner", "default");
    assert.deepEqual(owner.metadata?.["finalizers"], ["foregroundDeletion"]);
    assert.ok(owner.metadata?.["deletionTimestamp"]);
    await h.client.patchMerge(
      Resources.configmaps,
      "fg-dep-a",
      { metadata: { finalizers: null } },
      { namespace: "default" },
    );
    await eventually(
      async () => !(await exists(h, Resources.configmaps, "fg-owner", "default")),
      3000,
      "owner deleted",
    );
  });

  it("orphan propagation keeps dependents and removes their owner references", async () => {
    await family("or", true);
    await h.client.delete(Resources.configmaps, "or-owner", { namespace: "default", propagationPolicy: "Orphan" });
    await eventually(
      async () => !(await exists(h, Resources.configmaps, "or-owner", "default")),
      3000,
      "owner deleted",
    );
    const b = await h.client.get(Resources.configmaps, "or-dep-b", "default");
    assert.equal(b.metadata?.["ownerReferences"], undefined);
  });

  it("deleting a namespace removes its objects, then the namespace", async () => {
    await h.client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
    await h.client.create(Resources.configmaps, cm("x", "doomed"));
    await h.client.create(Resources.configmaps, cm("held", "doomed", { finalizers: ["test/hold"] }));
    await h.client.delete(Resources.namespaces, "doomed");
    const ns = await h.client.get(Resources.namespaces, "doomed");
    assert.equal((ns["status"] as { phase: string }).phase, "Terminating");
    await assert.rejects(
      h.client.create(Resources.configmaps, cm("late", "doomed")),
      (e: unknown) => (e as { status?: number }).status === 403,
    );
    await eventually(async () => !(await exists(h, Resources.configmaps, "x", "doomed")), 3000, "x deleted");
    assert.equal(await exists(h, Resources.namespaces, "doomed"), true, "held open by a finalizer");
    await h.client.patchMerge(
      Resources.configmaps,
      "held",
      { metadata: { finalizers: null } },
      { namespace: "doomed" },
    );
    await eventually(async () => !(await exists(h, Resources.namespaces, "doomed")), 3000, "namespace deleted");
  });

  it("pods: immediate by default; with graceful deletion they stay Terminating until finished", async () => {
    const pod = (name: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { nodeName: "n1", containers: [] },
    });
    await h.client.create(Resources.pods, pod("quick"));
    await h.client.delete(Resources.pods, "quick", { namespace: "default" });
    assert.equal(await exists(h, Resources.pods, "quick", "default"), false);
    h.server.registry.podDeletion = "graceful";
    await h.client.create(Resources.pods, pod("slow"));
    await h.client.delete(Resources.pods, "slow", { namespace: "default", gracePeriodSeconds: 30 });
    const p = await h.client.get(Resources.pods, "slow", "default");
    assert.equal(p.metadata?.["deletionGracePeriodSeconds"], 30);
    assert.equal(h.server.registry.finishPodDeletion("default", "slow"), true);
    assert.equal(await exists(h, Resources.pods, "slow", "default"), false);
    await h.client.create(Resources.pods, pod("forced"));
    await h.client.delete(Resources.pods, "forced", { namespace: "default", gracePeriodSeconds: 0 });
    assert.equal(await exists(h, Resources.pods, "forced", "default"), false);
    h.server.registry.podDeletion = "immediate";
  });

  it("deleting a CRD stops serving its resources", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.test" },
      spec: {
        group: "example.test",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    required: ["size"],
                    properties: {
                      size: { type: "integer", minimum: 1, default: 1 },
                      mode: { type: "string", enum: ["a", "b"], default: "a" },
                      note: { type: "string", nullable: true },
                      free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    };
    const created: KubeObject = await h.client.create(Resources.customresourcedefinitions, crd as KubeObject);
    const conds = ((created["status"] as { conditions: Array<{ type: string; status: string }> }).conditions ?? []).map(
      (c) => `${c.type}=${c.status}`,
    );
    assert.ok(conds.includes("Established=True"));
    const W = { group: "example.test", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
    const w = await h.client.create(W, {
      apiVersion: "example.test/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "default" },
      spec: { note: null, free: { any: { thing: 1 } } },
    });
    assert.deepEqual(w["spec"], { size: 1, mode: "a", note: null, free: { any: { thing: 1 } } });
    await assert.rejects(
      h.client.create(W, {
        apiVersion: "example.test/v1",
        kind: "Widget",
        metadata: { name: "w2", namespace: "default" },
        spec: { size: 0, mode: "c" },
      }),
      (e: unknown) =>
        (e as { status?: number; causes?: unknown[] }).status === 422 &&
        (e as { causes: unknown[] }).causes.length === 2,
    );
    await h.client.delete(Resources.customresourcedefinitions, "widgets.example.test");
    await assert.rejects(
      h.client.list(W, { namespace: "default" }),
      (e: unknown) => (e as { status?: number }).status === 404,
    );
  });

  it("a CRD whose schema is not structural is refused", async () => {
    await assert.rejects(
      h.client.create(Resources.customresourcedefinitions, {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "bads.example.test" },
        spec: {
          group: "example.test",
          scope: "Cluster",
          names: { plural: "bads", kind: "Bad" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: "object", properties: { spec: {} } } },
            },
          ],
        },
      }),
      (e: unknown) =>
        (e as { status?: number; message?: string }).status === 422 &&
        /type is required/.test(String((e as Error).message)),
    );
  });
});

describe("review fixes: kube-apiserver fidelity", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer();
  });
  after(() => h.close());

  it("a pod in graceful deletion stays Terminating through updates and finalizer removal", async () => {
    h.server.registry.podDeletion = "graceful";
    try {
      await h.client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "grace", namespace: "default", finalizers: ["test/hold"] },
        spec: { nodeName: "n1", containers: [] },
      });
      await h.client.delete(Resources.pods, "grace", { namespace: "default", gracePeriodSeconds: 30 });
      await h.client.patchMerge(
        Resources.pods,
        "grace",
        { metadata: { labels: { x: "y" } } },
        { namespace: "default" },
      );
      await h.client.patchMerge(Resources.pods, "grace", { metadata: { finalizers: null } }, { namespace: "default" });
      const p = await h.client.get(Resources.pods, "grace", "default");
      assert.equal(p.metadata?.["deletionGracePeriodSeconds"], 30);
      await h.client.delete(Resources.pods, "grace", { namespace: "default", gracePeriodSeconds: 0 });
      assert.equal(await exists(h, Resources.pods, "grace", "default"), false);
    } finally {
      h.server.registry.podDeletion = "immediate";
    }
  });

  it("delete preconditions are checked again after write latency", async () => {
    const p = await h.client.create(POOLS, pool("pre-late"));
    h.server.setWriteLatency(60);
    try {
      const del = h.client.delete(POOLS, "pre-late", {
        preconditions: { resourceVersion: String(p.metadata?.resourceVersion) },
      });
      await new Promise((r) => setTimeout(r, 10));
      // Another writer lands while the delete waits out its latency (straight into the store).
      const stored = h.server.registry.store.get("spiderippools.spiderpool.spidernet.io", "pre-late");
      assert.ok(stored);
      h.server.registry.store.commit("spiderippools.spiderpool.spidernet.io", "MODIFIED", {
        ...stored,
        metadata: { ...stored.metadata, labels: { changed: "yes" } },
      });
      await assert.rejects(del, (e: unknown) => (e as { status?: number }).status === 409);
      assert.equal(await exists(h, POOLS, "pre-late"), true);
    } finally {
      h.server.setWriteLatency(0);
    }
  });

  it("a JSON patch that writes a stale resourceVersion conflicts", async () => {
    await h.client.create(POOLS, pool("stale-json"));
    await assert.rejects(
      h.client.patchJson(POOLS, "stale-json", [{ op: "replace", path: "/metadata/resourceVersion", value: "1" }]),
      (e: unknown) => (e as { status?: number }).status === 409,
    );
  });

  it("a stale update is refused with 409 before its body is parsed; other errors come first", async () => {
    const created = await h.client.create(POOLS, pool("stale-early"));
    const rv = created.metadata?.resourceVersion ?? "";
    await h.client.updateStatus(POOLS, { ...created, status: { allocatedIPCount: 0 } });
    const head = (name: string, version: string): string =>
      `{"apiVersion":"spiderpool.spidernet.io/v2beta1","kind":"SpiderIPPool","metadata":{"name":"${name}","resourceVersion":"${version}"},`;
    const put = (body: string): Promise<unknown> =>
      h.client.updateStatusEncoded(POOLS, "stale-early", undefined, [Buffer.from(body)]);
    const status = (code: number) => (e: unknown) => (e as { status?: number }).status === code;
    // The tail is not JSON: a parse would answer 400, so a 409 shows the version was checked first.
    await assert.rejects(put(`${head("stale-early", rv)}"status":{"allocatedIPs":"x"`), status(409));
    const current = (await h.client.get<KubeObject>(POOLS, "stale-early")).metadata?.resourceVersion ?? "";
    await assert.rejects(put(`${head("stale-early", current)}"status":{"allocatedIPs":"x"`), status(400));
    // Another name, or another kind, is what the update reports first, stale or not.
    await assert.rejects(put(`${head("other", rv)}"status":{}}`), status(400));
    await assert.rejects(
      put(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"stale-early","resourceVersion":"${rv}"}}`),
      status(400),
    );
    await assert.rejects(
      h.client.updateStatusEncoded(POOLS, "no-such-pool", undefined, [
        Buffer.from(`${head("no-such-pool", rv)}"status":{}}`),
      ]),
      status(404),
    );
  });

  it("a dependent created after its owner is gone is collected", async () => {
    await h.client.create(
      Resources.configmaps,
      cm("orphaned", "default", {
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "never", uid: "no-such-uid" }],
      }),
    );
    await eventually(
      async () => !(await exists(h, Resources.configmaps, "orphaned", "default")),
      3000,
      "dangling dependent collected",
    );
  });

  it("deletion marks bump generation and answer 200", async () => {
    await h.client.create(POOLS, { ...pool("gen"), metadata: { name: "gen", finalizers: ["test/hold"] } });
    const r = await h.client.request<KubeObject>("DELETE", "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/gen");
    assert.equal(r.metadata?.["generation"], 2);
    await h.client.patchMerge(POOLS, "gen", { metadata: { finalizers: null } });
  });
});

describe("review fixes: client and informer", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer({ crds: true });
  });
  after(() => h.close());

  it("watch streams keep multi-byte characters split across chunks intact", async () => {
    const text = "é漢🌐".repeat(100_000);
    const list = await h.client.list(Resources.configmaps, { namespace: "default" });
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const ev of h.client.watch<KubeObject & { data?: { t?: string } }>(Resources.configmaps, {
        namespace: "default",
        resourceVersion: list.metadata.resourceVersion,
        signal: ac.signal,
      })) {
        got.push((ev.object as { data?: { t?: string } }).data?.t ?? "");
        ac.abort();
      }
    })();
    await h.client.create(Resources.configmaps, { ...cm("utf8"), data: { t: text } });
    await done;
    assert.equal(got[0], text);
  });

  it("an encoded status write answers its metadata; the informer takes a recognized version without decoding it", async () => {
    const created = await h.client.create(POOLS, pool("encoded"));
    const status = {
      allocatedIPCount: 1,
      allocatedIPs: JSON.stringify({ "198.51.100.9": { pod: "ns/a", podUid: "u" } }),
    };
    // Sent in pieces cut anywhere, as the pool writer sends its blocks of records.
    const bytes = Buffer.from(JSON.stringify({ ...created, status }));
    const meta = await h.client.updateStatusEncoded(POOLS, "encoded", undefined, [
      bytes.subarray(0, 7),
      bytes.subarray(7, 100),
      bytes.subarray(100),
    ]);
    assert.equal(meta.name, "encoded");
    assert.equal(meta.uid, created.metadata?.uid);
    assert.ok(Number(meta.resourceVersion) > Number(created.metadata?.resourceVersion));
    assert.equal((meta as Record<string, unknown>)["status"], undefined, "metadata only");
    // A stale write is refused as any write is.
    await assert.rejects(
      h.client.updateStatusEncoded(POOLS, "encoded", undefined, [bytes]),
      (e: unknown) => (e as { status?: number }).status === 409,
    );

    const inf = new Informer<KubeObject>(h.client, POOLS);
    const held = { held: true };
    const asked: string[] = [];
    // Versions are recognized only once the foreign write's answer is in: its event is
    // decoded whenever it arrives, and every later one (our write's) is held.
    let foreignRv: string | undefined;
    inf.recognize((m) => {
      asked.push(m.resourceVersion ?? "");
      if (foreignRv === undefined || m.resourceVersion === foreignRv) return undefined;
      return { ...pool("encoded"), metadata: m, status: held };
    });
    inf.start();
    await inf.waitForSync();
    const seen: KubeObject[] = [];
    inf.addHandlers({ onUpdate: (_o, n) => seen.push(n) });
    const cur = inf.getByName("encoded") as KubeObject;
    const foreign = await h.client.updateStatus(POOLS, { ...cur, status: { allocatedIPCount: 2 } });
    foreignRv = foreign.metadata?.resourceVersion ?? "";
    const own = await h.client.updateStatus(POOLS, { ...foreign, status: { allocatedIPCount: 3 } });
    await eventually(() => seen.length >= 2);
    await inf.stop();
    const byRv = new Map(seen.map((o) => [o.metadata?.resourceVersion, o]));
    assert.deepEqual(byRv.get(foreignRv)?.["status"], { allocatedIPCount: 2 }, "a version nobody holds is decoded");
    assert.equal(byRv.get(own.metadata?.resourceVersion)?.["status"], held, "a held version is not decoded");
    assert.equal(inf.getByName("encoded")?.["status"], held, "and is what the store keeps");
    assert.ok(asked.includes(foreignRv), "every MODIFIED is offered");
  });

  it("bad and future resourceVersions: 400 and a 504 Too large in the stream", async () => {
    await assert.rejects(
      h.client.list(POOLS, { resourceVersion: "abc" }),
      (e: unknown) => (e as { status?: number }).status === 400,
    );
    const events: WatchEvent<KubeObject>[] = [];
    for await (const ev of h.client.watch(POOLS, { resourceVersion: "999999999" })) events.push(ev);
    assert.equal(events[0]?.type, "ERROR");
    assert.equal((events[0]?.object as { code: number }).code, 504);
  });

  it("stop() rejects pending waitForSync and ends the loop", async () => {
    h.server.injectFault({ verb: "list", resource: "configmaps", status: 500, count: 1000 });
    const inf = new Informer<KubeObject>(h.client, Resources.configmaps, { backoff: { initialMs: 10, maxMs: 20 } });
    inf.start();
    const waiting = assert.rejects(inf.waitForSync(60_000), /informer stopped/);
    await inf.stop();
    await waiting;
    h.server.clearFaults();
  });

  it("insecure-skip-tls-verify is refused for a non-loopback server", async () => {
    const { KubeClient, KubeConfigError } = await import("../../src/kube/index.ts");
    assert.throws(
      () => new KubeClient({ server: "https://192.0.2.1:6443", insecureSkipTLSVerify: true }),
      KubeConfigError,
    );
    const ok = new KubeClient({ server: "https://127.0.0.1:6443", insecureSkipTLSVerify: true });
    await ok.close();
  });
});

describe("KubeVirt CRDs for tests", () => {
  it("serve VMs and VMIs; a VMI owned by its VM goes with it", async () => {
    const { KUBEVIRT_CRDS, VirtualMachineInstances, VirtualMachines } = await import("../support/kubevirt.ts");
    const h = await startApiServer({ crds: false });
    try {
      for (const c of KUBEVIRT_CRDS) await h.client.create(Resources.customresourcedefinitions, c);
      const vm: KubeObject = await h.client.create(VirtualMachines, {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachine",
        metadata: { name: "vm1", namespace: "default" },
        spec: { running: true },
      });
      await h.client.create(VirtualMachineInstances, {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        metadata: {
          name: "vm1",
          namespace: "default",
          ownerReferences: [
            {
              apiVersion: "kubevirt.io/v1",
              kind: "VirtualMachine",
              name: "vm1",
              uid: vm.metadata?.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { domain: {} },
      });
      await h.client.delete(VirtualMachines, "vm1", { namespace: "default" });
      await eventually(
        async () => !(await exists(h, VirtualMachineInstances, "vm1", "default")),
        3000,
        "VMI collected",
      );
    } finally {
      await h.close();
    }
  });
});
