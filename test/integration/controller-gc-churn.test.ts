// Whole pools going round: every address of a pool taken by one Deployment's pods, all of
// them restarted, then all deleted with no CNI DEL, the controller giving everything back
// (upstream's performance case P00002, without its clock: phases only have to complete).
// Allocations go through the shim and the agent; no kubelet or workload controller runs,
// so the test creates the pods with their owner references and reports their podIPs.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { ENDPOINTS, type SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually } from "../support/apiserver.ts";
import {
  assertConsistent,
  cni,
  controllerRef,
  createPool,
  ctlCheck,
  records,
  runPod,
  shimBuilt,
  startCluster,
  type Cluster,
  type RunningPod,
} from "../support/cluster.ts";
import { testController } from "../support/controller.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";
const NS = "default";

const phase = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const out = await run();
  process.stdout.write(`# ${what}: ${Math.round(performance.now() - t0)} ms\n`);
  return out;
};

describe("a pool taken, restarted and freed by one Deployment", { skip }, () => {
  let c: Cluster;
  let ctrl: SpiderpoolController;
  const SIZE = 40;
  const pool = async (): Promise<SpiderIPPool> => c.h.client.get<SpiderIPPool>(POOLS, "p40");

  before(async () => {
    c = await startCluster({ nodes: 2 });
    // The periodic scan is 10 minutes away (testController): the pod-event trace frees the pool.
    ctrl = testController(c.h, "ctrl");
    await ctrl.start();
    await eventually(() => ctrl.isLeader, 5000, "leader");
    await createPool(c.h, "p40", { subnet: "198.18.0.0/24", ips: ["198.18.0.10-198.18.0.49"] });
  });
  afterEach(() => assertConsistent(c.h));
  after(async () => {
    await ctrl?.stop();
    await c?.close();
  });

  /** SIZE pods of one ReplicaSet, spread over the nodes, each through its ADD. */
  const replicas = (rs: KubeObject): Promise<RunningPod[]> =>
    Promise.all(
      Array.from({ length: SIZE }, (_, i) =>
        runPod(c, {
          name: `${String(rs.metadata?.name)}-${i.toString(36).padStart(5, "x")}`,
          node: c.nodes[i % c.nodes.length]!.name,
          pool: "p40",
          owner: controllerRef(rs),
        }),
      ),
    );

  const replicaSet = (deploy: KubeObject, hash: string): Promise<KubeObject> =>
    c.h.client.create(Resources.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `web-${hash}`, namespace: NS, ownerReferences: [controllerRef(deploy)] },
      spec: { replicas: SIZE },
    });

  /** The pool holds exactly `pods`' addresses, one per pod UID. */
  async function holdsExactly(pods: RunningPod[]): Promise<void> {
    const recs = records(await pool());
    assert.equal(Object.keys(recs).length, SIZE, "every address of the pool taken");
    assert.equal((await pool()).status?.allocatedIPCount, SIZE);
    const uids = Object.values(recs).map((r) => r.podUid);
    assert.equal(new Set(uids).size, SIZE, "pod UIDs unique in the pool");
    assert.deepEqual(new Set(uids), new Set(pods.map((p) => p.uid)), "the records are these pods'");
    for (const p of pods) assert.equal(recs[p.ip]?.pod, `${NS}/${p.name}`);
  }

  it(`AC-88: ${SIZE} pods on a pool of exactly ${SIZE} addresses are created, all restarted, then deleted without a CNI DEL; the GC frees the pool`, async () => {
    const deploy = await c.h.client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: { replicas: SIZE },
    });

    const first = await phase("create: 40 pods allocated", async () => replicas(await replicaSet(deploy, "6b7c8d")));
    await holdsExactly(first);
    await assertConsistent(c.h);

    // A rollout restart: each old pod is torn down (the runtime's DEL) and deleted, and a
    // new ReplicaSet's pods, with new names and UIDs, take the addresses back.
    const second = await phase("restart: 40 pods torn down and 40 new ones allocated", async () => {
      await Promise.all(
        first.map(async (p, i) => {
          await c.h.client.delete(Resources.pods, p.name, { namespace: NS });
          const socket = c.nodes[i % c.nodes.length]!.socket;
          const r = await cni({ command: "DEL", socket, pod: { name: p.name, uid: p.uid } });
          assert.equal(r.code, 0, r.stdout);
        }),
      );
      assert.deepEqual(records(await pool()), {}, "every old pod's DEL released its address");
      return replicas(await replicaSet(deploy, "9f8e7d"));
    });
    await holdsExactly(second);
    const old = new Set(first.map((p) => p.uid));
    assert.ok(
      second.every((p) => !old.has(p.uid)),
      "new pods, new UIDs",
    );
    await assertConsistent(c.h);

    // Deleted with the Deployment (its ReplicaSets and pods go by owner reference), and no
    // CNI DEL: the node's plugin never runs.
    await eventually(() => second.every((p) => ctrl.pods.getByName(p.name, NS) !== undefined), 5000, "pods seen");
    await phase("delete: 40 addresses freed by the GC", async () => {
      await c.h.client.delete(Resources.deployments, "web", { namespace: NS, gracePeriodSeconds: 0 });
      await eventually(
        async () => (await c.h.client.listAll(Resources.pods, { namespace: NS })).items.length === 0,
        10_000,
        "every pod gone",
      );
      await eventually(async () => Object.keys(records(await pool())).length === 0, 30_000, "every address freed");
    });
    assert.equal((await pool()).status?.allocatedIPCount ?? 0, 0);
    await eventually(
      async () => (await c.h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items.length === 0,
      10_000,
      "every endpoint gone",
    );
    const check = await ctlCheck(c.h);
    assert.equal(check.code, 0, check.report);
  });
});
