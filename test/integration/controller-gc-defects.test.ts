// GC defects found by scenarios run as users would (issue 16), each planted as the agent
// would have left it: a finished pod on a node whose status has no Ready condition, a
// StatefulSet moved to another CNI, and a record that names no pod.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import pino from "pino";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { ENDPOINTS, SpiderpoolController } from "../../src/controller/controller.ts";
import { isNotFound, Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { records } from "../support/cluster.ts";
import { NS, runningPod, testController, writeEndpoint, writeRecord } from "../support/controller.ts";

describe("GC defects (issue 16)", () => {
  let h: Harness;
  let c: SpiderpoolController;
  const recs = async () => records(await h.client.get<SpiderIPPool>(POOLS, "p"));
  const endpointGone = async (name: string): Promise<boolean> =>
    h.client.get<SpiderEndpoint>(ENDPOINTS, name, NS).then(
      () => false,
      (e: unknown) => isNotFound(e),
    );

  /** Scans (the informer may not have the planted records yet) until `done`. */
  const scanUntil = (done: () => Promise<boolean>, what: string): Promise<void> =>
    eventually(
      async () => {
        await c.gc.scanAll();
        return done();
      },
      5000,
      what,
    );

  before(async () => {
    h = await startApiServer();
    // A node whose kubelet has not posted any condition yet.
    await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "p" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.50"] },
    });
    c = testController(h, "ctrl");
    await c.start();
    await eventually(() => c.isLeader, 5000, "leader");
  });
  after(async () => {
    await c?.stop();
    await h?.close();
  });

  it("a finished pod on a node without a Ready condition is reclaimed (missing = not ready, as upstream)", async () => {
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
    const uid = String(done.metadata?.uid);
    await writeRecord(h, "p", "192.0.2.40", `${NS}/job-1`, uid);
    await writeEndpoint(h, { name: "job-1", uid, ip: "192.0.2.40", pool: "p" });
    // The pod event traced it before its record existed; the scan and the trace both decide now.
    await c.gc.scanAll();
    c.gc.replay();
    await eventually(async () => (await recs())["192.0.2.40"] === undefined, 5000, "job-1's address reclaimed");
  });

  it("a StatefulSet moved off spiderpool: its old records and its old endpoint go", async () => {
    const sts = await h.client.create<KubeObject>(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "db" } },
        serviceName: "db",
        template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: "pause" }] } },
      },
    });
    const owner = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "db",
      uid: String(sts.metadata?.uid),
      controller: true,
    };
    await writeRecord(h, "p", "192.0.2.21", `${NS}/db-0`, "old-uid");
    await writeEndpoint(h, {
      name: "db-0",
      uid: "old-uid",
      ip: "192.0.2.21",
      pool: "p",
      type: "StatefulSet",
      owner: "db",
    });
    // Re-created by its StatefulSet on another CNI, which gave it an address of its own.
    await runningPod(h, "db-0", "203.0.113.7", { metadata: { ownerReferences: [owner] } });
    await scanUntil(async () => (await recs())["192.0.2.21"] === undefined, "the old record released");
    assert.ok(await endpointGone("db-0"), "the old endpoint is removed");
  });

  it("a record that names no pod is reclaimed after a fresh read", async () => {
    const cur = await h.client.get<SpiderIPPool>(POOLS, "p");
    const recsNow = { ...records(cur), "192.0.2.30": "garbage" } as Record<string, unknown>;
    await h.client.updateStatus(POOLS, {
      ...cur,
      status: {
        ...cur.status,
        allocatedIPs: JSON.stringify(recsNow),
        allocatedIPCount: Object.keys(recsNow).length,
      },
    });
    await scanUntil(async () => (await recs())["192.0.2.30"] === undefined, "the record reclaimed");
  });

  it("GC log lines carry one `pod` key (the controller's own), the pod a line is about as `podRef`", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "info", base: { component: "spiderpool-controller", pod: "ctrl-logs" } },
      { write: (l: string) => void lines.push(l) },
    );
    const own = new SpiderpoolController({
      config: loadControllerConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "ctrl-logs",
        SPIDERPOOL_TS_GC_INTERVAL_MS: "600000",
      }),
      client: h.newClient(),
      logger,
      ports: { health: 0, metrics: 0, webhook: 0 },
    });
    await writeRecord(h, "p", "192.0.2.45", `${NS}/gone`, "gone-uid");
    await own.pools.start();
    try {
      await eventually(() => own.pools.getByName("p") !== undefined, 5000, "pool cached");
      await eventually(
        async () => {
          await own.gc.scanAll();
          return (await recs())["192.0.2.45"] === undefined;
        },
        5000,
        "reclaimed",
      );
    } finally {
      await own.pools.stop();
    }
    const reclaimed = lines.find((l) => l.includes("scan reclaimed an address"));
    assert.ok(reclaimed !== undefined, lines.join(""));
    for (const l of lines) assert.ok((l.match(/"pod":/g) ?? []).length <= 1, l);
    assert.match(reclaimed, /"podRef":"default\/gone"/);
  });
});
