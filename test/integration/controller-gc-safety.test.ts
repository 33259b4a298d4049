// The GC must never free an address a live pod still uses. Each case is a way an earlier
// version did (found in review): a terminating pod still running, a StatefulSet scaled
// back up, a KubeVirt VM whose endpoint is not written yet; and a finished pod that
// existed before the leader started must still be collected.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { ENDPOINTS, type SpiderpoolController } from "../../src/controller/controller.ts";
import { IPRangeSet } from "../../src/ip/index.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS, PoolWriter } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { records } from "../support/cluster.ts";
import { KUBEVIRT_CRDS, VirtualMachineInstances } from "../support/kubevirt.ts";
import { NS, runningPod, testController, writeEndpoint, writeRecord } from "../support/controller.ts";

describe("GC safety", () => {
  let h: Harness;
  let c: SpiderpoolController;
  const recs = async () => records(await h.client.get<SpiderIPPool>(POOLS, "p"));

  before(async () => {
    h = await startApiServer({ podDeletion: "graceful" });
    for (const crd of KUBEVIRT_CRDS) await h.client.create(Resources.customresourcedefinitions, crd);
    const n = await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
    await h.client.updateStatus(Resources.nodes, { ...n, status: { conditions: [{ type: "Ready", status: "True" }] } });
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "p" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.50"] },
    });
    // A Job pod that finished an hour ago, whose CNI DEL never came, before any leader.
    const done = await runningPod(
      h,
      "job-1",
      "192.0.2.40",
      {},
      {
        phase: "Succeeded",
        containerStatuses: [{ state: { terminated: { finishedAt: new Date(Date.now() - 3_600_000).toISOString() } } }],
      },
    );
    await writeRecord(h, "p", "192.0.2.40", `${NS}/job-1`, String(done.metadata?.uid));
    await writeEndpoint(h, {
      name: "job-1",
      uid: String(done.metadata?.uid),
      ip: "192.0.2.40",
      pool: "p",
      type: "Pod",
      owner: "job-1",
    });
    // A poll of 1.5 s: the StatefulSet case scales back up between the trace and the poll
    // that would act on it (stateless pods are woken when due and do not wait for it).
    c = testController(h, "ctrl", { SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS: "1500" });
    await c.start();
    await eventually(() => c.isLeader, 5000, "leader");
  });
  after(async () => {
    await c?.stop();
    await h?.close();
  });

  it("a finished pod that existed before the leader started is traced and collected", async () => {
    await eventually(async () => (await recs())["192.0.2.40"] === undefined, 5000, "job-1's address reclaimed");
  });

  it("a terminating pod keeps its address through a second grace period after its deletionTimestamp", async () => {
    const p = await runningPod(h, "web", "192.0.2.10", { spec: { terminationGracePeriodSeconds: 1 } });
    await writeRecord(h, "p", "192.0.2.10", `${NS}/web`, String(p.metadata?.uid));
    await writeEndpoint(h, {
      name: "web",
      uid: String(p.metadata?.uid),
      ip: "192.0.2.10",
      pool: "p",
      type: "Pod",
      owner: "web",
    });
    await eventually(() => c.pods.getByName("web", NS) !== undefined);
    const t0 = Date.now();
    await h.client.delete(Resources.pods, "web", { namespace: NS });
    const dts = Date.parse(String((await h.client.get(Resources.pods, "web", NS)).metadata?.deletionTimestamp));
    await eventually(async () => (await recs())["192.0.2.10"] === undefined, 5000, "released in the end");
    // Released either because the pod object went (its containers are gone) or, while it
    // still exists, only after deletionTimestamp plus one more grace period.
    const still = await h.client.get(Resources.pods, "web", NS).catch(() => undefined);
    if (still !== undefined) assert.ok(Date.now() >= dts + 1000, "never while the pod may still run");
    process.stdout.write(`# terminating pod (grace 1 s) released ${Date.now() - t0} ms after its delete request\n`);
  });

  it("a StatefulSet pod traced while scaled away keeps its address once scaled back", async () => {
    const sts = await h.client.create<KubeObject>(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: "db" } },
        serviceName: "db",
        template: { metadata: { labels: { a: "db" } }, spec: { containers: [{ name: "c", image: "x" }] } },
      },
    });
    const own = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "db",
      uid: String(sts.metadata?.uid),
      controller: true,
    };
    const p = await runningPod(h, "db-1", "192.0.2.20", { metadata: { ownerReferences: [own] } });
    const uid = String(p.metadata?.uid);
    await writeRecord(h, "p", "192.0.2.20", `${NS}/db-1`, uid);
    await writeEndpoint(h, { name: "db-1", uid: uid, ip: "192.0.2.20", pool: "p", type: "StatefulSet", owner: "db" });
    await eventually(() => c.pods.getByName("db-1", NS) !== undefined);
    await h.client.delete(Resources.pods, "db-1", { namespace: NS, gracePeriodSeconds: 0 });
    await eventually(() => c.gc.traced > 0, 2000, "the invalid pod traced");
    const cur = await h.client.get(Resources.statefulsets, "db", NS);
    await h.client.update(Resources.statefulsets, { ...cur, spec: { ...(cur["spec"] as object), replicas: 2 } });
    await eventually(() => c.gc.traced === 0, 3000, "the trace entry to be processed");
    assert.equal((await recs())["192.0.2.20"]?.podUid, uid, "the fixed address stays recorded");
    assert.ok((await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items.some((e) => e.metadata.name === "db-1"));
  });

  it("a KubeVirt record whose endpoint is not written yet is kept while its VMI lives", async () => {
    await h.client.create(VirtualMachineInstances, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: { name: "vm1", namespace: NS },
      spec: {},
    } as KubeObject);
    const launcher = await runningPod(h, "virt-launcher-vm1-abcde", undefined, {}, { phase: "Pending" });
    await writeRecord(h, "p", "192.0.2.30", `${NS}/vm1`, String(launcher.metadata?.uid));
    await eventually(() => c.pools.getByName("p")?.status?.allocatedIPs?.includes("192.0.2.30") === true);
    await c.gc.scanAll();
    assert.ok((await recs())["192.0.2.30"] !== undefined, "kept for the VM");
  });

  it("a pod taking back its fixed address writes the record again if a GC removed it meanwhile", async () => {
    const w = new PoolWriter("p", {
      client: h.client,
      cached: () => undefined,
      reserved: (f) => IPRangeSet.empty(f),
      maxRecords: 5000,
      maxRetries: 5,
      deadlineMs: 5000,
      metrics: { queueDepth() {}, batch() {}, conflict() {} },
      log: pino({ level: "silent" }),
    });
    await w.submit({ kind: "retarget", ips: ["192.0.2.21"], podRef: `${NS}/db-0`, podUid: "new-uid" });
    assert.deepEqual((await recs())["192.0.2.21"], { pod: `${NS}/db-0`, podUid: "new-uid" });
    await assert.rejects(
      w.submit({ kind: "retarget", ips: ["192.0.2.21"], podRef: `${NS}/other`, podUid: "x" }),
      /data broken/,
      "an address recorded for another pod is never taken over",
    );
  });
});
