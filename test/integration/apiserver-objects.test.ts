// Object semantics of the embedded API server, through our own client: CRUD, errors as
// Status objects, optimistic concurrency, status subresource, CRD schema handling, patches,
// selectors, pagination, tables.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { SpiderEndpointKind } from "../../src/api/endpoint.ts";
import { SpiderIPPoolKind } from "../../src/api/ippool.ts";
import {
  ApiError,
  KubeClient,
  isAlreadyExists,
  isConflict,
  isNotFound,
  Resources,
  resourceTypeOf,
  updateWithRetry,
  ConflictRetriesExhaustedError,
  type KubeObject,
} from "../../src/kube/index.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";

const POOLS = resourceTypeOf(SpiderIPPoolKind);
const ENDPOINTS = resourceTypeOf(SpiderEndpointKind);

function pool(name: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], ...extra },
  };
}

async function rejects(p: Promise<unknown>, status: number, reason: string): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail(`expected ${status} ${reason}`);
}

describe("embedded API server: objects", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer();
  });
  after(() => h.close());

  it("creates with uid, creationTimestamp, resourceVersion, generation 1 and CRD defaults", async () => {
    const p = await h.client.create(POOLS, pool("create-1"));
    const m = p.metadata as Record<string, unknown>;
    assert.match(String(m["uid"]), /^[0-9a-f-]{36}$/);
    assert.match(String(m["creationTimestamp"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(String(m["resourceVersion"]), /^\d+$/);
    assert.equal(m["generation"], 1);
    assert.deepEqual((p["spec"] as Record<string, unknown>)["default"], false);
    assert.deepEqual((p["spec"] as Record<string, unknown>)["disable"], false);
    const got = await h.client.get(POOLS, "create-1");
    assert.deepEqual(got, p);
  });

  it("409 AlreadyExists and 404 NotFound come as Status objects", async () => {
    await h.client.create(POOLS, pool("dup"));
    const e = await rejects(h.client.create(POOLS, pool("dup")), 409, "AlreadyExists");
    assert.ok(isAlreadyExists(e));
    assert.equal(e.statusMessage, 'spiderippools.spiderpool.spidernet.io "dup" already exists');
    assert.equal(e.details?.name, "dup");
    const nf = await rejects(h.client.get(POOLS, "missing"), 404, "NotFound");
    assert.ok(isNotFound(nf));
    assert.equal(nf.statusMessage, 'spiderippools.spiderpool.spidernet.io "missing" not found');
  });

  it("422 Invalid lists every cause with its field", async () => {
    const e = await rejects(
      h.client.create(POOLS, { ...pool("bad"), spec: { ipVersion: 5, ips: "x", routes: [{ dst: "a" }] } }),
      422,
      "Invalid",
    );
    const causes = e.causes.map((c) => `${c.field}|${c.reason}`).sort();
    assert.deepEqual(causes, [
      "spec.ipVersion|FieldValueNotSupported",
      "spec.ips|FieldValueTypeInvalid",
      "spec.routes[0].gw|FieldValueRequired",
      "spec.subnet|FieldValueRequired",
    ]);
    await rejects(h.client.create(POOLS, pool("Upper_Case")), 422, "Invalid");
  });

  it("400 for malformed requests: wrong kind, namespace mismatch, bad JSON patch type", async () => {
    await rejects(h.client.create(POOLS, { ...pool("k"), kind: "SpiderSubnet" }), 400, "BadRequest");
    await rejects(
      h.client.create(
        ENDPOINTS,
        {
          apiVersion: "spiderpool.spidernet.io/v2beta1",
          kind: "SpiderEndpoint",
          metadata: { name: "e", namespace: "other" },
        },
        { namespace: "default" },
      ),
      400,
      "BadRequest",
    );
    await rejects(h.client.list(POOLS, { labelSelector: "a in (" }), 400, "BadRequest");
    await rejects(h.client.list(Resources.pods, { fieldSelector: "spec.bogus=1" }), 400, "BadRequest");
  });

  it("two writers with the same resourceVersion: exactly one wins, the other gets 409 Conflict", async () => {
    const p = await h.client.create(POOLS, pool("race"));
    const a = h.newClient();
    const b = h.newClient();
    const results = await Promise.allSettled([
      a.update(POOLS, { ...p, spec: { ...(p["spec"] as object), gateway: "192.0.2.1" } }),
      b.update(POOLS, { ...p, spec: { ...(p["spec"] as object), gateway: "192.0.2.2" } }),
    ]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 1);
    const err = failed[0]?.reason as ApiError;
    assert.ok(isConflict(err), String(err));
    assert.equal(
      err.statusMessage,
      'Operation cannot be fulfilled on spiderippools.spiderpool.spidernet.io "race": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("custom resources refuse an update without resourceVersion", async () => {
    const p = await h.client.create(POOLS, pool("no-rv"));
    const { resourceVersion: _rv, ...meta } = p.metadata as Record<string, unknown>;
    await rejects(h.client.update(POOLS, { ...p, metadata: meta }), 422, "Invalid");
  });

  it("status subresource: PUT ignores status, PUT /status ignores spec; generation follows spec only", async () => {
    const p = await h.client.create(POOLS, { ...pool("st"), status: { allocatedIPCount: 7 } });
    assert.equal(p["status"], undefined, "create drops status when status is a subresource");
    const s1 = await h.client.updateStatus(POOLS, {
      ...p,
      spec: { subnet: "198.51.100.0/24" },
      status: { allocatedIPCount: 1, totalIPCount: 11 },
    });
    assert.deepEqual(s1["status"], { allocatedIPCount: 1, totalIPCount: 11 });
    assert.equal((s1["spec"] as Record<string, unknown>)["subnet"], "192.0.2.0/24");
    assert.equal((s1.metadata as Record<string, unknown>)["generation"], 1);
    const u = await h.client.update(POOLS, {
      ...s1,
      spec: { ...(s1["spec"] as object), gateway: "192.0.2.1" },
      status: { allocatedIPCount: 99 },
    });
    assert.deepEqual(u["status"], { allocatedIPCount: 1, totalIPCount: 11 });
    assert.equal((u.metadata as Record<string, unknown>)["generation"], 2);
    const same = await h.client.update(POOLS, u);
    assert.equal(
      same.metadata?.resourceVersion,
      u.metadata?.resourceVersion,
      "a no-op update does not bump resourceVersion",
    );
  });

  it("SpiderEndpoint has no status subresource: status is written with a plain update", async () => {
    const e = await h.client.create(ENDPOINTS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderEndpoint",
      metadata: { name: "pod-a", namespace: "default" },
      status: {
        current: { uid: "u1", node: "n1", ips: [{ interface: "eth0", ipv4: "192.0.2.10/24" }] },
        ownerControllerType: "Pod",
        ownerControllerName: "pod-a",
      },
    });
    const ips = ((e["status"] as Record<string, unknown>)["current"] as { ips: Array<Record<string, unknown>> }).ips;
    assert.equal(ips[0]?.["vlan"], 0, "CRD default applied inside a list item");
  });

  it("merge patch, JSON patch with test, and a stale resourceVersion in a patch", async () => {
    const p = await h.client.create(POOLS, pool("patch"));
    const m = await h.client.patchMerge(POOLS, "patch", {
      metadata: { labels: { a: "1" } },
      spec: { gateway: "192.0.2.1" },
    });
    assert.deepEqual(m.metadata?.["labels"], { a: "1" });
    const j = await h.client.patchJson(POOLS, "patch", [
      { op: "test", path: "/spec/gateway", value: "192.0.2.1" },
      { op: "replace", path: "/spec/gateway", value: "192.0.2.254" },
    ]);
    assert.equal((j["spec"] as Record<string, unknown>)["gateway"], "192.0.2.254");
    await rejects(
      h.client.patchJson(POOLS, "patch", [{ op: "test", path: "/spec/gateway", value: "nope" }]),
      422,
      "Invalid",
    );
    // A missing member equals null to `test`, as kube-apiserver's json-patch library has it (issue 20).
    const added = await h.client.patchJson(POOLS, "patch", [
      { op: "test", path: "/metadata/annotations", value: null },
      { op: "add", path: "/metadata/annotations", value: { k: "v" } },
    ]);
    assert.deepEqual(added.metadata?.["annotations"], { k: "v" });
    await rejects(
      h.client.patchMerge(POOLS, "patch", {
        metadata: { resourceVersion: p.metadata?.resourceVersion },
        spec: { gateway: "192.0.2.2" },
      }),
      409,
      "Conflict",
    );
    const st = await h.client.patchMerge(
      POOLS,
      "patch",
      { status: { allocatedIPCount: 3 } },
      { subresource: "status" },
    );
    assert.deepEqual(st["status"], { allocatedIPCount: 3 });
  });

  it("unknown fields are pruned; fieldValidation=Strict refuses them, Warn reports them", async () => {
    const p = await h.client.create(POOLS, { ...pool("prune"), spec: { subnet: "192.0.2.0/24", bogus: 1 } });
    assert.equal((p["spec"] as Record<string, unknown>)["bogus"], undefined);
    await rejects(
      h.client.create(
        POOLS,
        { ...pool("strict"), spec: { subnet: "192.0.2.0/24", bogus: 1 } },
        { fieldValidation: "Strict" },
      ),
      400,
      "BadRequest",
    );
    const warnings: string[] = [];
    const c = h.newClient({ onWarning: (w) => warnings.push(w) });
    await c.create(POOLS, { ...pool("warn"), spec: { subnet: "192.0.2.0/24", bogus: 1 } }, { fieldValidation: "Warn" });
    assert.deepEqual(warnings, ['unknown field "spec.bogus"']);
  });

  it("label selectors (equality and set-based) and field selectors", async () => {
    for (const [name, labels] of [
      ["sel-a", { tier: "front", env: "prod" }],
      ["sel-b", { tier: "back", env: "prod" }],
      ["sel-c", { tier: "front" }],
    ] as const) {
      await h.client.create(POOLS, { ...pool(name), metadata: { name, labels } });
    }
    const names = async (sel: string): Promise<string[]> =>
      (await h.client.list(POOLS, { labelSelector: sel })).items.map((i) => i.metadata?.name ?? "").sort();
    assert.deepEqual(await names("tier=front"), ["sel-a", "sel-c"]);
    assert.deepEqual(await names("env in (prod),tier!=back"), ["sel-a"]);
    assert.deepEqual(await names("!env,tier"), ["sel-c"]);
    const byName = await h.client.list(POOLS, { fieldSelector: "metadata.name=sel-b" });
    assert.deepEqual(
      byName.items.map((i) => i.metadata?.name),
      ["sel-b"],
    );
    await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p-n1", namespace: "default" },
      spec: { nodeName: "n1", containers: [] },
      status: { phase: "Running" },
    });
    // Create cannot set a pod's status (it starts Pending); the kubelet's part is a status write.
    const created = await h.client.get(Resources.pods, "p-n1", "default");
    assert.deepEqual(created["status"], { phase: "Pending" });
    await h.client.updateStatus(Resources.pods, { ...created, status: { phase: "Running" } });
    await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p-n2", namespace: "default" },
      spec: { nodeName: "n2", containers: [] },
    });
    const onN1 = await h.client.list(Resources.pods, { fieldSelector: "spec.nodeName=n1" });
    assert.deepEqual(
      onN1.items.map((i) => i.metadata?.name),
      ["p-n1"],
    );
    const running = await h.client.list(Resources.pods, {
      fieldSelector: "status.phase=Running",
      namespace: "default",
    });
    assert.deepEqual(
      running.items.map((i) => i.metadata?.name),
      ["p-n1"],
    );
  });

  it("limit/continue pages are a consistent snapshot; an expired token is 410", async () => {
    for (let i = 0; i < 7; i++)
      await h.client.create(POOLS, { ...pool(`page-${i}`), metadata: { name: `page-${i}`, labels: { page: "yes" } } });
    const first = await h.client.list(POOLS, { labelSelector: "page=yes", limit: 3 });
    assert.equal(first.items.length, 3);
    assert.equal(first.metadata.remainingItemCount, 4);
    assert.ok(first.metadata.continue);
    await h.client.create(POOLS, { ...pool("page-late"), metadata: { name: "page-late", labels: { page: "yes" } } });
    const all = await h.client.listAll(POOLS, { labelSelector: "page=yes", limit: 3 });
    assert.equal(all.items.length, 8);
    const second = await h.client.list(POOLS, {
      labelSelector: "page=yes",
      limit: 3,
      continue: first.metadata.continue ?? "",
    });
    assert.deepEqual(
      second.items.map((i) => i.metadata?.name),
      ["page-3", "page-4", "page-5"],
    );
    assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);
    h.server.registry.expireContinueTokens();
    await rejects(
      h.client.list(POOLS, { labelSelector: "page=yes", limit: 3, continue: second.metadata.continue ?? "" }),
      410,
      "Expired",
    );
  });

  it("kubectl's Table: NAME plus the CRD's printer columns", async () => {
    await h.client.create(POOLS, pool("table-1"));
    const t = await h.client.request<{
      columnDefinitions: Array<{ name: string; priority: number }>;
      rows: Array<{ cells: unknown[] }>;
    }>("GET", "/apis/spiderpool.spidernet.io/v2beta1/spiderippools", {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
      query: { fieldSelector: "metadata.name=table-1" },
    });
    assert.deepEqual(
      t.columnDefinitions.map((c) => `${c.name}:${c.priority}`),
      [
        "Name:0",
        "VERSION:0",
        "SUBNET:0",
        "ALLOCATED-IP-COUNT:0",
        "TOTAL-IP-COUNT:0",
        "DEFAULT:0",
        "DISABLE:10",
        "NodeName:10",
        "MultusName:10",
        "APP-NAMESPACE:10",
      ],
    );
    assert.deepEqual(t.rows[0]?.cells.slice(0, 6), ["table-1", null, "192.0.2.0/24", null, null, false]);
  });

  it("answers with only the metadata when asked (PartialObjectMetadata), for writes, reads, lists and watches", async () => {
    const META = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    const created = await h.client.create(POOLS, pool("meta-1"));
    const body = {
      ...created,
      status: { allocatedIPCount: 1, allocatedIPs: '{"192.0.2.10":{"pod":"a/b","podUid":"u"}}' },
    };
    const put = await h.client.request<Record<string, unknown>>(
      "PUT",
      "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/meta-1/status",
      {
        body,
        accept: `${META}, application/json`,
      },
    );
    assert.equal(put["kind"], "PartialObjectMetadata");
    assert.equal(put["apiVersion"], "meta.k8s.io/v1");
    assert.equal(put["status"], undefined);
    assert.equal(put["spec"], undefined);
    const meta = put["metadata"] as Record<string, unknown>;
    assert.equal(meta["name"], "meta-1");
    assert.equal(meta["uid"], created.metadata?.uid);
    assert.ok(Number(meta["resourceVersion"]) > Number(created.metadata?.resourceVersion));
    // The write happened in full: a plain read sees the status.
    const got = await h.client.get(POOLS, "meta-1");
    assert.equal((got["status"] as Record<string, unknown>)["allocatedIPCount"], 1);
    assert.equal(got.metadata?.resourceVersion, meta["resourceVersion"]);
    // A conflict is still a Status, whatever was asked.
    const stale = h.client.request("PUT", "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/meta-1/status", {
      body,
      accept: META,
    });
    await rejects(stale, 409, "Conflict");
    // Reads and lists; a list asks for the list kind, and a kind that does not fit is passed over.
    const one = await h.client.request<Record<string, unknown>>(
      "GET",
      "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/meta-1",
      { accept: META },
    );
    assert.deepEqual(Object.keys(one).sort(), ["apiVersion", "kind", "metadata"]);
    const list = await h.client.request<Record<string, unknown>>(
      "GET",
      "/apis/spiderpool.spidernet.io/v2beta1/spiderippools",
      {
        accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        query: { fieldSelector: "metadata.name=meta-1" },
      },
    );
    assert.equal(list["kind"], "PartialObjectMetadataList");
    const items = list["items"] as Array<Record<string, unknown>>;
    assert.deepEqual(
      items.map((i) => [i["kind"], (i["metadata"] as Record<string, unknown>)["name"], i["spec"]]),
      [["PartialObjectMetadata", "meta-1", undefined]],
    );
    for (const accept of [
      `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json`,
      "application/json;as=Nonsense;g=x;v=v1, application/json",
      `${META};q=0, application/json`,
    ]) {
      const full = await h.client.request<Record<string, unknown>>(
        "GET",
        "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/meta-1",
        { accept },
      );
      assert.equal(full["kind"], "SpiderIPPool", accept);
    }
    // A watch's events carry the metadata.
    const ac = new AbortController();
    const res = await fetch(
      `${h.url}/apis/spiderpool.spidernet.io/v2beta1/spiderippools?watch=true&fieldSelector=metadata.name%3Dmeta-1`,
      {
        headers: { accept: META },
        signal: ac.signal,
      },
    );
    assert.equal(res.headers.get("content-type"), "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const ev = JSON.parse(text.slice(0, text.indexOf("\n"))) as { type: string; object: Record<string, unknown> };
    assert.equal(ev.type, "ADDED");
    assert.deepEqual(Object.keys(ev.object).sort(), ["apiVersion", "kind", "metadata"]);
    assert.equal(ev.object["kind"], "PartialObjectMetadata");
    // Bookmarks too (kube-apiserver transforms every event's object): the one sent at the watch's timeout.
    const bm = await fetch(
      `${h.url}/apis/spiderpool.spidernet.io/v2beta1/spiderippools?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${String(meta["resourceVersion"])}`,
      { headers: { accept: META } },
    );
    const events = (await bm.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { type: string; object: Record<string, unknown> });
    const bookmark = events.find((e) => e.type === "BOOKMARK");
    assert.equal(bookmark?.object["kind"], "PartialObjectMetadata");
    assert.equal(bookmark?.object["apiVersion"], "meta.k8s.io/v1");
  });

  it("updateStatusEncoded asks for a metadata answer and reads either form for the new resourceVersion", async () => {
    // A stand-in server that records what was asked and answers in the form it is told to.
    const seen: string[] = [];
    let form: "metadata" | "object" = "metadata";
    const srv = createServer((req, res) => {
      seen.push(req.headers.accept ?? "");
      req.resume();
      req.on("end", () => {
        const metadata = { name: "p", uid: "u-1", resourceVersion: form === "metadata" ? "7" : "8" };
        const body =
          form === "metadata"
            ? { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata }
            : {
                kind: "SpiderIPPool",
                apiVersion: "spiderpool.spidernet.io/v2beta1",
                metadata,
                status: { allocatedIPCount: 3 },
              };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const client = new KubeClient({ server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` });
    try {
      const m1 = await client.updateStatusEncoded(POOLS, "p", undefined, [Buffer.from("{}")]);
      form = "object";
      const m2 = await client.updateStatusEncoded(POOLS, "p", undefined, [Buffer.from("{}")]);
      assert.deepEqual([m1.resourceVersion, m2.resourceVersion], ["7", "8"]);
      assert.match(
        seen[0] ?? "",
        /^application\/json;as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1, application\/json$/,
      );
    } finally {
      await client.close();
      srv.close();
    }
  });

  it("optimistic update: concurrent read-modify-write loops lose no increment; retries are bounded", async () => {
    await h.client.create(Resources.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "counter", namespace: "default" },
      data: { n: "0" },
    });
    let conflicts = 0;
    const bump = (c: typeof h.client): Promise<unknown> =>
      updateWithRetry({
        what: "configmap default/counter",
        get: () => c.get<KubeObject & { data: { n: string } }>(Resources.configmaps, "counter", "default"),
        mutate: (cm) => ({ ...cm, data: { n: String(Number(cm.data.n) + 1) } }),
        write: (cm) => c.update(Resources.configmaps, cm),
        maxAttempts: 50,
        onConflict: () => conflicts++,
      });
    const clients = [h.newClient(), h.newClient(), h.newClient(), h.newClient()];
    await Promise.all(clients.flatMap((c) => Array.from({ length: 5 }, () => bump(c))));
    const cm = await h.client.get<KubeObject & { data: { n: string } }>(Resources.configmaps, "counter", "default");
    assert.equal(cm.data.n, "20");
    assert.ok(conflicts > 0, "the test must actually race");
    h.server.injectFault({
      verb: "update",
      resource: "configmaps",
      status: 409,
      reason: "Conflict",
      message: "injected",
      count: 3,
    });
    await assert.rejects(
      updateWithRetry({
        what: "configmap default/counter",
        get: () => h.client.get(Resources.configmaps, "counter", "default"),
        mutate: (x) => x,
        write: (x) => h.client.update(Resources.configmaps, x),
        maxAttempts: 3,
      }),
      (e: unknown) => e instanceof ConflictRetriesExhaustedError && e.attempts === 3,
    );
  });

  it("optimistic update: a stale first copy costs one conflict and a fresh read, never a lost change", async () => {
    type Cm = KubeObject & { data: { n: string } };
    const stale = await h.client.get<Cm>(Resources.configmaps, "counter", "default");
    await h.client.update(Resources.configmaps, { ...stale, data: { n: "100" } });
    let reads = 0;
    let conflicts = 0;
    const increment = (first: Cm): Promise<Cm> =>
      updateWithRetry<Cm>({
        what: "configmap default/counter",
        first,
        get: () => {
          reads++;
          return h.client.get<Cm>(Resources.configmaps, "counter", "default");
        },
        mutate: (cm) => ({ ...cm, data: { n: String(Number(cm.data.n) + 1) } }),
        write: (cm) => h.client.update(Resources.configmaps, cm),
        onConflict: () => conflicts++,
      });
    const out = await increment(stale);
    assert.equal(out.data.n, "101");
    assert.deepEqual({ reads, conflicts }, { reads: 1, conflicts: 1 });
    // A current first copy is written without any read.
    reads = 0;
    const again = await increment(out);
    assert.equal(again.data.n, "102");
    assert.equal(reads, 0);
  });

  it("fault injection fails the next N matching requests with the given status", async () => {
    h.server.injectFault({
      verb: "get",
      resource: "spiderippools",
      status: 503,
      reason: "ServiceUnavailable",
      count: 2,
    });
    await h.client.create(POOLS, pool("faulty"));
    await rejects(h.client.get(POOLS, "faulty"), 503, "ServiceUnavailable");
    await rejects(h.client.get(POOLS, "faulty"), 503, "ServiceUnavailable");
    assert.equal((await h.client.get(POOLS, "faulty")).metadata?.name, "faulty");
  });

  it("write latency delays writes, not reads", async () => {
    h.server.setWriteLatency(40);
    const t0 = performance.now();
    await h.client.create(POOLS, pool("slow"));
    const writeMs = performance.now() - t0;
    h.server.setWriteLatency(0);
    assert.ok(writeMs >= 35, `write took ${writeMs} ms`);
  });
});
