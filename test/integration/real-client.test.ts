// A client no one here wrote, @kubernetes/client-node, against the embedded API server: its
// typed APIs, its Watch and its informer (ListWatch), and its ApiException reading the
// server's Status as it reads kube-apiserver's (issue 20, item 5).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";

interface Status {
  kind: string;
  apiVersion: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; reason?: string }[] };
}

/** The rejection's code and the Status body, parsed as a caller of client-node must. */
async function rejection(p: Promise<unknown>): Promise<{ code: number; status: Status }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiException, `expected an ApiException, got ${String(e)}`);
    const body: unknown = (e as ApiException<unknown>).body;
    const status = (typeof body === "string" ? JSON.parse(body) : body) as Status;
    assert.equal(status.kind, "Status");
    assert.equal(status.apiVersion, "v1");
    assert.equal(status.status, "Failure");
    assert.equal(status.code, (e as ApiException<unknown>).code);
    return { code: (e as ApiException<unknown>).code, status };
  }
  assert.fail("the call succeeded");
}

const GROUP = "spiderpool.spidernet.io";
const VERSION = "v2beta1";

describe("@kubernetes/client-node against the embedded API server", () => {
  let h: Harness;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  const ns = "rc";

  before(async () => {
    // Over HTTPS with the admin token, as client-node refuses plain HTTP without skipTLSVerify.
    h = await startApiServer({ auth: true, bookmarkIntervalMs: 200 });
    kc = new KubeConfig();
    kc.loadFromString(h.server.kubeconfig());
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  after(() => h.close());

  it("AC-20-5a: ConfigMaps: create, get, list by label, replace, delete with preconditions", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "cm1", labels: { app: "a" } }, data: { k: "v" } },
    });
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.creationTimestamp instanceof Date, "creationTimestamp deserializes as a Date");
    const got = await core.readNamespacedConfigMap({ name: "cm1", namespace: ns });
    assert.deepEqual(got.data, { k: "v" });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "cm2", labels: { app: "b" } } } });
    const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: "app=a" });
    assert.deepEqual(
      list.items.map((c) => c.metadata?.name),
      ["cm1"],
    );
    assert.ok(list.metadata?.resourceVersion);

    const replaced = await core.replaceNamespacedConfigMap({
      name: "cm1",
      namespace: ns,
      body: { ...got, data: { k: "v2" } },
    });
    assert.deepEqual(replaced.data, { k: "v2" });
    // The stale resourceVersion: 409 Conflict, as kube-apiserver's optimistic concurrency answers.
    const stale = await rejection(
      core.replaceNamespacedConfigMap({ name: "cm1", namespace: ns, body: { ...got, data: { k: "v3" } } }),
    );
    assert.equal(stale.code, 409);
    assert.equal(stale.status.reason, "Conflict");
    assert.equal(stale.status.details?.name, "cm1");
    assert.equal(stale.status.details?.kind, "configmaps");

    const wrongUid = await rejection(
      core.deleteNamespacedConfigMap({
        name: "cm1",
        namespace: ns,
        body: { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } },
      }),
    );
    assert.equal(wrongUid.code, 409);
    assert.equal(wrongUid.status.reason, "Conflict");
    const staleRv = await rejection(
      core.deleteNamespacedConfigMap({
        name: "cm1",
        namespace: ns,
        body: { preconditions: { resourceVersion: got.metadata?.resourceVersion as string } },
      }),
    );
    assert.equal(staleRv.code, 409);
    const done = await core.deleteNamespacedConfigMap({
      name: "cm1",
      namespace: ns,
      body: {
        preconditions: {
          uid: created.metadata?.uid as string,
          resourceVersion: replaced.metadata?.resourceVersion as string,
        },
      },
    });
    assert.equal(done.kind, "Status");
    assert.equal(done.status, "Success");
    assert.deepEqual({ ...done.details }, { name: "cm1", kind: "configmaps", uid: created.metadata?.uid });
    const gone = await rejection(core.readNamespacedConfigMap({ name: "cm1", namespace: ns }));
    assert.equal(gone.code, 404);
    assert.equal(gone.status.reason, "NotFound");
    assert.deepEqual(gone.status.details, { name: "cm1", kind: "configmaps" });
    assert.equal(gone.status.message, 'configmaps "cm1" not found');
  });

  it("AC-20-5b: patches: merge, strategic merge, and JSON patch whose test op passes or fails", async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "p1", labels: { x: "1" } }, data: { a: "1", b: "2" } },
    });
    const merged = await core.patchNamespacedConfigMap(
      { name: "p1", namespace: ns, body: { data: { a: null, c: "3" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.data, { b: "2", c: "3" });
    const smp = await core.patchNamespacedConfigMap(
      { name: "p1", namespace: ns, body: { metadata: { labels: { y: "2" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    assert.deepEqual(smp.metadata?.labels, { x: "1", y: "2" });
    // client-node's default patch type is JSON patch.
    const jp = await core.patchNamespacedConfigMap({
      name: "p1",
      namespace: ns,
      body: [
        { op: "test", path: "/data/b", value: "2" },
        { op: "replace", path: "/data/b", value: "20" },
      ],
    });
    assert.deepEqual(jp.data, { b: "20", c: "3" });
    const failed = await rejection(
      core.patchNamespacedConfigMap({
        name: "p1",
        namespace: ns,
        body: [
          { op: "test", path: "/data/b", value: "2" },
          { op: "remove", path: "/data/b" },
        ],
      }),
    );
    assert.equal(failed.code, 422);
    // kube-apiserver's generic answer to a patch that does not apply: fixed message, empty details.
    assert.equal(failed.status.reason, "Invalid");
    assert.equal(failed.status.message, "the server rejected our request due to an error in our request");
    assert.deepEqual(failed.status.details, {});
    const notAList = await rejection(
      core.patchNamespacedConfigMap({ name: "p1", namespace: ns, body: { op: "remove", path: "/data" } }),
    );
    assert.equal(notAList.code, 400);
    assert.equal(notAList.status.reason, "BadRequest");
    const still = await core.readNamespacedConfigMap({ name: "p1", namespace: ns });
    assert.deepEqual(still.data, { b: "20", c: "3" }, "a failed test op changes nothing");
  });

  it("AC-20-5c: Pods: strategic merge of containers by name, 422 with causes for an invalid pod", async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "pod1" },
        spec: {
          containers: [
            { name: "app", image: "registry.example/app:1" },
            { name: "side", image: "registry.example/side:1" },
          ],
        },
      },
    });
    const patched = await core.patchNamespacedPod(
      {
        name: "pod1",
        namespace: ns,
        body: { spec: { containers: [{ name: "side", image: "registry.example/side:2" }] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    assert.deepEqual(
      patched.spec?.containers.map((c) => [c.name, c.image]),
      [
        ["app", "registry.example/app:1"],
        ["side", "registry.example/side:2"],
      ],
    );
    const pods = await core.listNamespacedPod({ namespace: ns });
    assert.deepEqual(
      pods.items.map((p) => p.metadata?.name),
      ["pod1"],
    );

    const invalid = await rejection(
      core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "Bad_Name" }, spec: { containers: [] } } }),
    );
    assert.equal(invalid.code, 422);
    assert.equal(invalid.status.reason, "Invalid");
    assert.equal(invalid.status.details?.kind, "Pod");
    assert.equal(invalid.status.details?.name, "Bad_Name");
    assert.ok(
      invalid.status.details?.causes?.some((c) => c.field === "metadata.name"),
      JSON.stringify(invalid.status.details),
    );

    const dup = await rejection(
      core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: "pod1" }, spec: { containers: [{ name: "app", image: "i" }] } },
      }),
    );
    assert.equal(dup.code, 409);
    assert.equal(dup.status.reason, "AlreadyExists");
    // Pods are among the kinds kube-apiserver answers a delete for with the object, not a Status.
    const deleted = await core.deleteNamespacedPod({ name: "pod1", namespace: ns, gracePeriodSeconds: 0 });
    assert.equal(deleted.kind, "Pod");
    assert.equal(deleted.metadata?.name, "pod1");
    await eventually(async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0);
  });

  it("AC-20-5d: Deployments: create, then scale through the scale subresource", async () => {
    const labels = { app: "web" };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "registry.example/web:1" }] } },
        },
      },
    });
    // Written without replicas: apps/v1 defaulting gives it one, and its Scale says the same.
    const plain = await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "plain" },
        spec: {
          selector: { matchLabels: { app: "plain" } },
          template: { metadata: { labels: { app: "plain" } }, spec: { containers: [{ name: "c", image: "i" }] } },
        },
      },
    });
    assert.equal(plain.spec?.replicas, 1);
    const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: ns });
    assert.equal(scale.spec?.replicas, 1);
    const replaced = await apps.replaceNamespacedDeploymentScale({
      name: "web",
      namespace: ns,
      body: { ...scale, spec: { replicas: 3 } },
    });
    assert.equal(replaced.spec?.replicas, 3);
    const patched = await apps.patchNamespacedDeploymentScale(
      { name: "web", namespace: ns, body: { spec: { replicas: 5 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    assert.equal(patched.spec?.replicas, 5);
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: ns });
    assert.equal(d.spec?.replicas, 5);
  });

  it("AC-20-5e: CustomObjectsApi on SpiderIPPools: create, status update, label-selector list, schema 422", async () => {
    const pool = (name: string, subnet: string, tier: string): object => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "SpiderIPPool",
      metadata: { name, labels: { tier } },
      spec: { subnet, ipVersion: 4, ips: [subnet.replace(/0\/24$/, "10")] },
    });
    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "spiderippools",
      body: pool("rc-a", "192.0.2.0/24", "gold"),
    });
    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "spiderippools",
      body: pool("rc-b", "198.51.100.0/24", "silver"),
    });
    const got = (await custom.getClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "spiderippools",
      name: "rc-a",
    })) as KubernetesObject & { status?: Record<string, unknown> };
    const withStatus = await custom.replaceClusterCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: "spiderippools",
      name: "rc-a",
      body: { ...got, status: { totalIPCount: 1, allocatedIPCount: 0 } },
    });
    assert.equal((withStatus as { status?: { totalIPCount?: number } }).status?.totalIPCount, 1);
    const list = (await custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "spiderippools",
      labelSelector: "tier=gold",
    })) as { kind: string; items: KubernetesObject[] };
    assert.equal(list.kind, "SpiderIPPoolList");
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ["rc-a"],
    );
    const bad = await rejection(
      custom.createClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "spiderippools",
        body: { ...pool("rc-c", "203.0.113.0/24", "x"), spec: { subnet: "203.0.113.0/24", ipVersion: 5 } },
      }),
    );
    assert.equal(bad.code, 422);
    assert.equal(bad.status.reason, "Invalid");
    assert.ok(
      bad.status.details?.causes?.some((c) => c.field === "spec.ipVersion"),
      JSON.stringify(bad.status),
    );
  });

  it("AC-20-5f: Watch resumes after a list's resourceVersion and sees ADDED, MODIFIED, DELETED", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const rv = list.metadata?.resourceVersion as string;
    const events: [string, string][] = [];
    const w = new Watch(kc);
    let doneErr: unknown = "not done";
    const ctl = await w.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj: V1ConfigMap) => {
        if (type !== "BOOKMARK") events.push([type, obj.metadata?.name ?? ""]);
      },
      (err: unknown) => {
        doneErr = err;
      },
    );
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "w1" } } });
      await core.patchNamespacedConfigMap(
        { name: "w1", namespace: ns, body: { data: { a: "1" } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ name: "w1", namespace: ns });
      await eventually(() => events.length >= 3, 5000, "three watch events");
      assert.deepEqual(events, [
        ["ADDED", "w1"],
        ["MODIFIED", "w1"],
        ["DELETED", "w1"],
      ]);
    } finally {
      ctl.abort();
    }
    await eventually(() => doneErr !== "not done", 5000, "the watch's done callback");
  });

  it("AC-20-5g: informer: add/update/delete, and a 410 Gone on resume makes it relist", async () => {
    const lns = "rc-inf";
    await core.createNamespace({ body: { metadata: { name: lns } } });
    await core.createNamespacedConfigMap({ namespace: lns, body: { metadata: { name: "pre" } } });
    let lists = 0;
    const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${lns}/configmaps`, () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: lns });
    });
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on("update", (o) => seen.push(`update ${o.metadata?.name} ${o.data?.["v"] ?? ""}`));
    informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    try {
      await eventually(() => informer.get("pre", lns) !== undefined, 5000, "the initial list in the cache");
      await core.createNamespacedConfigMap({ namespace: lns, body: { metadata: { name: "x" } } });
      await core.patchNamespacedConfigMap(
        { name: "x", namespace: lns, body: { data: { v: "1" } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ name: "x", namespace: lns });
      await eventually(() => seen.includes("delete x"), 5000, "the delete event");
      assert.deepEqual(seen, ["add pre", "add x", "update x 1", "delete x"]);
      assert.equal(lists, 1);

      // Compaction and a dropped watch: the informer resumes from its last resourceVersion,
      // gets 410 Expired, and relists; what changed meanwhile reaches the cache and callbacks.
      await core.createNamespacedConfigMap({ namespace: lns, body: { metadata: { name: "y" } } });
      await eventually(() => informer.get("y", lns) !== undefined, 5000, "y in the cache");
      await core.deleteNamespacedConfigMap({ name: "pre", namespace: lns });
      await eventually(() => informer.get("pre", lns) === undefined, 5000, "pre gone from the cache");
      // A write the namespaced watch does not see moves the revision past the informer's.
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "elsewhere" } } });
      h.server.registry.store.compact();
      assert.ok(h.server.dropWatches("configmaps") >= 1);
      await eventually(() => lists >= 2, 5000, "a relist after 410");
      assert.equal(seen.filter((e) => e === "add y").length, 1, "the relist does not re-add what the cache holds");
      await core.createNamespacedConfigMap({ namespace: lns, body: { metadata: { name: "z" } } });
      await eventually(() => informer.get("z", lns) !== undefined, 5000, "z after the relist");
      assert.deepEqual(
        informer
          .list(lns)
          .map((c) => c.metadata?.name)
          .sort(),
        ["y", "z"],
      );
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });

  it("AC-20-5h: paging with limit and continue, dry run, a CR's 404, a bad selector's 400, a bad token's 401", async () => {
    const pns = "rc-page";
    await core.createNamespace({ body: { metadata: { name: pns } } });
    for (const n of ["a", "b", "c"]) {
      await core.createNamespacedConfigMap({ namespace: pns, body: { metadata: { name: n } } });
    }
    const first = await core.listNamespacedConfigMap({ namespace: pns, limit: 2 });
    assert.deepEqual(
      first.items.map((c) => c.metadata?.name),
      ["a", "b"],
    );
    assert.equal(first.metadata?.remainingItemCount, 1);
    const rest = await core.listNamespacedConfigMap({
      namespace: pns,
      limit: 2,
      _continue: first.metadata?._continue as string,
    });
    assert.deepEqual(
      rest.items.map((c) => c.metadata?.name),
      ["c"],
    );
    assert.equal(rest.metadata?._continue, undefined);

    const dry = await core.createNamespacedConfigMap({
      namespace: pns,
      dryRun: "All",
      body: { metadata: { name: "dry" } },
    });
    assert.equal(dry.metadata?.name, "dry");
    assert.equal((await rejection(core.readNamespacedConfigMap({ namespace: pns, name: "dry" }))).code, 404);

    const crMissing = await rejection(
      custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: "spiderippools", name: "nope" }),
    );
    assert.deepEqual(crMissing.status.details, { name: "nope", group: GROUP, kind: "spiderippools" });
    assert.equal(crMissing.status.message, `spiderippools.${GROUP} "nope" not found`);

    const badSelector = await rejection(core.listNamespacedConfigMap({ namespace: pns, labelSelector: "a in (" }));
    assert.equal(badSelector.code, 400);
    assert.equal(badSelector.status.reason, "BadRequest");

    const stranger = new KubeConfig();
    stranger.loadFromString(h.server.kubeconfig(h.server.caPem, "not-a-token"));
    await assert.rejects(stranger.makeApiClient(CoreV1Api).listNamespace(), (e: unknown) => {
      assert.ok(e instanceof ApiException);
      assert.equal(e.code, 401);
      return true;
    });
  });

  it("AC-20-5i: the generic KubernetesObjectApi finds kinds through discovery; an informer with a label selector", async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const ref = { apiVersion: `${GROUP}/${VERSION}`, kind: "SpiderIPPool", metadata: { name: "rc-generic" } };
    await objects.create({ ...ref, spec: { subnet: "203.0.113.0/24", ips: ["203.0.113.10"] } } as KubernetesObject);
    const read = (await objects.read(ref)) as KubernetesObject & { spec: { ips: string[] } };
    read.spec.ips = ["203.0.113.11"];
    const replaced = (await objects.replace(read)) as KubernetesObject & { spec: { ips: string[] } };
    assert.deepEqual(replaced.spec.ips, ["203.0.113.11"]);
    const patched = (await objects.patch(
      { ...ref, metadata: { ...ref.metadata, labels: { via: "generic" } } },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    )) as KubernetesObject;
    assert.deepEqual(patched.metadata?.labels, { via: "generic" });
    await objects.delete(ref);
    assert.equal((await rejection(objects.read(ref))).code, 404);

    const sns = "rc-sel";
    await core.createNamespace({ body: { metadata: { name: sns } } });
    const informer = makeInformer<V1ConfigMap>(
      kc,
      `/api/v1/namespaces/${sns}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace: sns, labelSelector: "s=1" }),
      "s=1",
    );
    const added: string[] = [];
    informer.on("add", (o) => added.push(o.metadata?.name ?? ""));
    await informer.start();
    try {
      for (const [name, s] of [
        ["l1", "1"],
        ["l2", "2"],
        ["l3", "1"],
      ] as const) {
        await core.createNamespacedConfigMap({ namespace: sns, body: { metadata: { name, labels: { s } } } });
      }
      await eventually(() => added.includes("l3"), 5000, "l3 through the informer");
      assert.deepEqual(added, ["l1", "l3"]);
    } finally {
      await informer.stop();
    }
  });
});
