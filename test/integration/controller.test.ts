// spiderpool-controller against the embedded API server: leader election, the GC paths
// (pod events, the periodic scan), pool status and finalizers, webhooks on every replica.
// Records and endpoints are written the way the agent writes them; there is no CNI DEL.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderSubnet } from "../../src/api/subnet.ts";
import { ENDPOINTS, LEASE_NAME, SpiderpoolController, SUBNETS } from "../../src/controller/controller.ts";
import { reconcilePool } from "../../src/controller/pool-status.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { records } from "../support/cluster.ts";
import { NS, runningPod, testController as controller, writeEndpoint, writeRecord } from "../support/controller.ts";
import { checkConsistency } from "../../src/ipam/consistency.ts";

/** What the agent writes for one allocation: the pool record and (unless told) the endpoint. */
async function allocate(h: Harness, pool: string, ip: string, name: string, uid: string, endpoint = true) {
  await writeRecord(h, pool, ip, `${NS}/${name}`, uid);
  if (endpoint) await writeEndpoint(h, { name, uid, ip, pool });
}

async function lease(h: Harness): Promise<string | undefined> {
  const l = await h.client.get(Resources.leases, LEASE_NAME, "kube-system");
  return (l["spec"] as { holderIdentity?: string }).holderIdentity;
}

describe("spiderpool-controller", () => {
  let h: Harness;
  let a: SpiderpoolController;
  let b: SpiderpoolController;
  const leader = (): SpiderpoolController => (a.isLeader ? a : b);

  before(async () => {
    h = await startApiServer();
    await h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node1" },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    a = controller(h, "ctrl-a");
    b = controller(h, "ctrl-b");
    await Promise.all([a.start(), b.start()]);
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "gc-pool" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.50"] },
    });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await h?.close();
  });

  it("exactly one replica leads, and the Lease names it", async () => {
    await eventually(() => a.isLeader !== b.isLeader, 5000, "one leader");
    assert.equal(await lease(h), leader().config.podName);
    const res = await fetch(`http://127.0.0.1:${leader().ports.health}/readyz`);
    assert.equal(res.status, 200);
  });

  it("AC-53 (status): the leader sets totalIPCount and allocatedIPCount", async () => {
    await eventually(
      async () => (await h.client.get<SpiderIPPool>(POOLS, "gc-pool")).status?.totalIPCount === 41,
      5000,
      "totalIPCount 41",
    );
    const p = await h.client.get<SpiderIPPool>(POOLS, "gc-pool");
    assert.equal(p.status?.allocatedIPCount, 0);
    assert.deepEqual(p.metadata.finalizers, ["spiderpool.spidernet.io"], "the webhook on every replica defaulted it");
  });

  it("a pod deleted without any CNI DEL has its address reclaimed by the pod-event path within 5 s", async () => {
    const p = await runningPod(h, "web-1", "192.0.2.10");
    await allocate(h, "gc-pool", "192.0.2.10", "web-1", String(p.metadata?.uid));
    const keep = await runningPod(h, "web-2", "192.0.2.11");
    await allocate(h, "gc-pool", "192.0.2.11", "web-2", String(keep.metadata?.uid));
    await eventually(() => leader().pods.getByName("web-1", NS) !== undefined, 5000, "pod seen");
    const t0 = performance.now();
    await h.client.delete(Resources.pods, "web-1", { namespace: NS });
    await eventually(
      async () => records(await h.client.get<SpiderIPPool>(POOLS, "gc-pool"))["192.0.2.10"] === undefined,
      5000,
      "record of web-1 released",
    );
    const ms = Math.round(performance.now() - t0);
    process.stdout.write(`# pod-event GC reclaimed the address ${ms} ms after the pod was deleted\n`);
    await eventually(
      async () => (await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items.every((e) => e.metadata.name !== "web-1"),
      5000,
      "endpoint of web-1 gone",
    );
    const recs = records(await h.client.get<SpiderIPPool>(POOLS, "gc-pool"));
    assert.equal(recs["192.0.2.11"]?.pod, "default/web-2", "the live pod's record is kept");
    // Only the leader reconciles: the other replica reclaimed nothing.
    const follower = leader() === a ? b : a;
    assert.equal((await follower.metrics.gcCounts.get()).values[0]?.value ?? 0, 0, "the follower reclaims nothing");
    assert.ok(((await leader().metrics.gcCounts.get()).values[0]?.value ?? 0) >= 1);
  });

  it("AC-74, AC-79: the scan reclaims a record with no pod and one with a stale UID, and keeps the real ones", async () => {
    // As upstream's G00005: a record injected straight into the pool, no endpoint.
    await allocate(h, "gc-pool", "192.0.2.20", "dirtyPod-x", randomUUID(), false);
    await runningPod(h, "db", "192.0.2.21");
    const staleUid = randomUUID();
    await allocate(h, "gc-pool", "192.0.2.21", "db", staleUid);
    const real = await runningPod(h, "api", "192.0.2.22");
    await allocate(h, "gc-pool", "192.0.2.22", "api", String(real.metadata?.uid));
    await eventually(() => leader().pools.getByName("gc-pool")?.status?.allocatedIPs?.includes("192.0.2.22") === true);
    await eventually(() => leader().pods.getByName("api", NS) !== undefined);
    const sum = await leader().gc.scanAll();
    assert.equal(sum.released, 2, JSON.stringify(sum));
    const recs = records(await h.client.get<SpiderIPPool>(POOLS, "gc-pool"));
    assert.equal(recs["192.0.2.20"], undefined, "no such pod");
    assert.equal(recs["192.0.2.21"], undefined, "UID mismatch");
    assert.equal(recs["192.0.2.22"]?.podUid, real.metadata?.uid);
    assert.equal(recs["192.0.2.11"]?.pod, "default/web-2");
    const eps = (await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items.map((e) => e.metadata.name);
    assert.ok(!eps.includes("db"), "the stale UID's endpoint is deleted");
    assert.ok(eps.includes("api"));
    const metrics = await (await fetch(`http://127.0.0.1:${leader().ports.metrics}/metrics`)).text();
    assert.match(metrics, /spiderpool_ip_gc_counts_total\{[^}]*\} [3-9]/);
    assert.match(metrics, /spiderpool_ts_ip_gc_reclaimed_total\{reason="UIDMismatch"/);
  });

  it("AC-51: a deleted pool with allocations stays Terminating until its last address is released", async () => {
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "term-pool" },
      spec: { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.11"] },
    });
    const p = await runningPod(h, "last", "198.51.100.10");
    await allocate(h, "term-pool", "198.51.100.10", "last", String(p.metadata?.uid));
    await h.client.delete(POOLS, "term-pool");
    const held = await h.client.get<SpiderIPPool>(POOLS, "term-pool");
    assert.ok(held.metadata.deletionTimestamp, "Terminating while it holds a record");
    // The leader, holding this Terminating version, must not plan to release the finalizer.
    const rv = held.metadata.resourceVersion;
    await eventually(() => leader().pools.getByName("term-pool")?.metadata.resourceVersion === rv, 5000, "seen");
    assert.equal(reconcilePool(leader().pools.getByName("term-pool")!).kind, "none", "the finalizer stays");
    await h.client.delete(Resources.pods, "last", { namespace: NS });
    await eventually(
      async () => (await h.client.listAll<SpiderIPPool>(POOLS)).items.every((x) => x.metadata.name !== "term-pool"),
      5000,
      "the pool to go once empty",
    );
  });

  it("AC-54: subnet accounting: controlledIPPools, counts, adoption of an earlier pool (gateway inherited); deletion takes its pools first", async () => {
    // A pool created before its subnet is adopted by the controller.
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "early" },
      spec: { subnet: "203.0.113.0/24", ips: ["203.0.113.40-203.0.113.41"] },
    });
    await h.client.create(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "sub" },
      spec: { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.59"], gateway: "203.0.113.1" },
    });
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "later" },
      spec: { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.14"] },
    });
    const status = async () => (await h.client.get<SpiderSubnet>(SUBNETS, "sub")).status;
    await eventually(async () => (await status())?.allocatedIPCount === 7, 5000, "7 addresses in two pools");
    const st = await status();
    assert.equal(st?.totalIPCount, 50);
    assert.deepEqual(JSON.parse(st?.controlledIPPools ?? "{}"), {
      early: { ips: ["203.0.113.40-203.0.113.41"] },
      later: { ips: ["203.0.113.10-203.0.113.14"] },
    });
    const subs = (await h.client.listAll<SpiderSubnet>(SUBNETS)).items;
    const accounting = checkConsistency({
      pools: (await h.client.listAll<SpiderIPPool>(POOLS)).items,
      pods: [],
      endpoints: [],
      subnets: subs,
    });
    assert.deepEqual(
      accounting.problems.filter((p) => p.startsWith("subnet ")),
      [],
      "subnet accounting exact",
    );
    const early = await h.client.get<SpiderIPPool>(POOLS, "early");
    assert.equal(early.metadata.labels?.["ipam.spidernet.io/owner-spider-subnet"], "sub");
    assert.equal(early.spec.gateway, "203.0.113.1", "inherits the subnet's gateway");
    await h.client.delete(POOLS, "early");
    await eventually(async () => (await status())?.allocatedIPCount === 5, 5000, "entry dropped with its pool");
    await h.client.delete(SUBNETS, "sub");
    await eventually(
      async () =>
        (await h.client.listAll(SUBNETS)).items.length === 0 &&
        (await h.client.listAll<SpiderIPPool>(POOLS)).items.every((p) => p.metadata.name !== "later"),
      5000,
      "the subnet and its pool to go",
    );
  });

  it("AC-86: killing the leader moves the Lease, and work continues on the other replica", async () => {
    const old = leader();
    const other = old === a ? b : a;
    await old.stop();
    await eventually(() => other.isLeader, 5000, "the other replica to lead");
    assert.equal(await lease(h), other.config.podName);
    const p = await runningPod(h, "after-failover", "192.0.2.30");
    await allocate(h, "gc-pool", "192.0.2.30", "after-failover", String(p.metadata?.uid));
    await eventually(() => other.pods.getByName("after-failover", NS) !== undefined);
    await h.client.delete(Resources.pods, "after-failover", { namespace: NS });
    await eventually(
      async () => records(await h.client.get<SpiderIPPool>(POOLS, "gc-pool"))["192.0.2.30"] === undefined,
      5000,
      "reclaimed by the new leader",
    );
    // Its webhook still serves: a non-canonical pool is refused.
    await assert.rejects(
      h.client.create(POOLS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderIPPool",
        metadata: { name: "bad" },
        spec: { subnet: "203.0.113.9/24" },
      }),
      /unformatted subnet/,
    );
  });
});
