// Whole pools going round. AC-88: every address of a pool taken by one Deployment's pods,
// all of them restarted, then all deleted with no CNI DEL, the controller giving everything
// back (upstream's performance case P00002 without its clock: phases only have to
// complete). AC-87, reduced: an exactly-full pool shared by StatefulSets, Deployments and
// OpenKruise StatefulSets re-scaled at random (half the teardowns with no DEL) while the
// leader replica is killed, then every pod restarted; sane after each phase.
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
  consistency,
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
import { KRUISE_STATEFULSET_CRD, KruiseStatefulSets } from "../support/kruise.ts";

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
        first.map(async (p) => {
          await c.h.client.delete(Resources.pods, p.name, { namespace: NS });
          const socket = c.nodes.find((n) => n.name === p.node)!.socket;
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

/** A small seeded generator, so a failing run can be replayed with CHAOS_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Workload {
  name: string;
  /** apps/v1 StatefulSet (fixed addresses), OpenKruise's, or a Deployment's ReplicaSet. */
  kind: "sts" | "kruise" | "deploy";
  rt: typeof Resources.statefulsets | typeof KruiseStatefulSets | typeof Resources.deployments;
  /** What the pods name as their controller. */
  owner: KubeObject;
  replicas: number;
  pods: Map<string, RunningPod>;
}

describe("chaos: an exactly-full pool while workloads re-scale and the leader is killed", { skip }, () => {
  const SIZE = 18;
  const seed = Number(process.env["CHAOS_SEED"] ?? Math.floor(Math.random() * 1e9));
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let c: Cluster;
  const ctrls: SpiderpoolController[] = [];
  let replicaNo = 0;
  const workloads: Workload[] = [];

  // Upstream waits the GC interval (+20 s) after each phase; ours is half a second.
  const replica = async (): Promise<SpiderpoolController> => {
    const ctrl = testController(c.h, `ctrl-${replicaNo++}`, { SPIDERPOOL_TS_GC_INTERVAL_MS: "500" });
    await ctrl.start();
    ctrls.push(ctrl);
    return ctrl;
  };
  const leader = (): SpiderpoolController | undefined => ctrls.find((x) => x.isLeader);

  before(async () => {
    process.stdout.write(`# chaos seed ${seed} (CHAOS_SEED=${seed} replays it)\n`);
    c = await startCluster({ nodes: 2 });
    await c.h.client.create(Resources.customresourcedefinitions, KRUISE_STATEFULSET_CRD);
    await replica();
    await replica();
    await eventually(() => leader() !== undefined, 5000, "a leader");
    await createPool(c.h, "p18", { subnet: "198.18.1.0/24", ips: ["198.18.1.10-198.18.1.27"] });
  });
  after(async () => {
    for (const x of ctrls) await x.stop();
    await c?.close();
  });

  const podName = (w: Workload, taken: Set<string>): string => {
    if (w.kind === "deploy") {
      for (;;) {
        const n = `${String(w.owner.metadata?.name)}-${Math.floor(rand() * 36 ** 5).toString(36)}`;
        if (!taken.has(n)) return n;
      }
    }
    for (let i = 0; ; i++) if (!taken.has(`${w.name}-${i}`)) return `${w.name}-${i}`;
  };

  /** What the workload's controller and the kubelets do to reach `w.replicas` pods. */
  async function converge(w: Workload): Promise<void> {
    await c.h.client.patchMerge(w.rt, w.name, { spec: { replicas: w.replicas } }, { namespace: NS });
    const names = [...w.pods.keys()];
    // StatefulSets remove the highest ordinals; ReplicaSets any pod.
    const victims =
      w.kind === "deploy"
        ? names.sort(() => rand() - 0.5).slice(0, Math.max(0, names.length - w.replicas))
        : names.sort((a, b) => Number(a.split("-").pop()) - Number(b.split("-").pop())).slice(w.replicas);
    const wanted = Math.max(0, w.replicas - (names.length - victims.length));
    const fresh: string[] = [];
    for (let i = 0; i < wanted; i++) fresh.push(podName(w, new Set([...w.pods.keys(), ...fresh])));
    await Promise.all([
      ...victims.map(async (n) => {
        await sleep(rand() * 200);
        await teardown(w, n);
      }),
      ...fresh.map(async (n) => {
        await sleep(rand() * 200);
        w.pods.set(n, await start(w, n));
      }),
    ]);
  }

  async function start(w: Workload, name: string): Promise<RunningPod> {
    return runPod(c, {
      name,
      node: pick(c.nodes).name,
      pool: "p18",
      owner: controllerRef(w.owner),
      // The pool is exactly full: a new pod waits for the addresses of the ones it replaces.
      retryForMs: 20_000,
    });
  }

  /** Deleted; its node's DEL runs, or (half the time) never does and the GC frees it. */
  async function teardown(w: Workload, name: string): Promise<void> {
    const p = w.pods.get(name);
    w.pods.delete(name);
    if (p === undefined) return;
    await c.h.client.delete(Resources.pods, name, { namespace: NS, gracePeriodSeconds: 0 });
    if (rand() < 0.5) {
      const socket = c.nodes.find((n) => n.name === p.node)!.socket;
      const r = await cni({ command: "DEL", socket, pod: { name, uid: p.uid } });
      assert.equal(r.code, 0, r.stdout);
    }
  }

  /** After a phase: SIZE pods running, each with its own address recorded for it, and the check clean. */
  async function sane(what: string): Promise<void> {
    const pods = workloads.flatMap((w) => [...w.pods.values()]);
    assert.equal(pods.length, SIZE, what);
    assert.equal(new Set(pods.map((p) => p.ip)).size, SIZE, `${what}: no address given to two pods`);
    let why = "";
    const t0 = performance.now();
    await eventually(
      async () => {
        const recs = records(await c.h.client.get<SpiderIPPool>(POOLS, "p18"));
        const problems = (await consistency(c.h)).problems;
        const wrong = pods.filter((p) => recs[p.ip]?.pod !== `${NS}/${p.name}` || recs[p.ip]?.podUid !== p.uid);
        why = JSON.stringify({ records: Object.keys(recs).length, wrong: wrong.map((p) => p.name), problems });
        return Object.keys(recs).length === SIZE && wrong.length === 0 && problems.length === 0;
      },
      15_000,
      `${what}: the pool to settle`,
    ).catch((err: Error) => assert.fail(`${err.message}: ${why}`));
    let failedAdds = 0;
    for (const n of c.nodes)
      for (const v of (await n.agent.metrics.allocationFailures.get()).values) failedAdds += v.value;
    process.stdout.write(
      `#   ${what}: settled after ${Math.round(performance.now() - t0)} ms; ${failedAdds} ADD failures so far, retried as the kubelet does\n`,
    );
  }

  it(`AC-87 (reduced): ${SIZE} pods of StatefulSets, Deployments and OpenKruise StatefulSets on a pool of ${SIZE}; random re-scales while the leader is killed, then every pod restarted`, async () => {
    const make = async (kind: Workload["kind"], name: string): Promise<Workload> => {
      if (kind === "deploy") {
        const d = await c.h.client.create(Resources.deployments, {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, namespace: NS },
          spec: { replicas: 3 },
        });
        const rs = await c.h.client.create(Resources.replicasets, {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: { name: `${name}-7f9c6`, namespace: NS, ownerReferences: [controllerRef(d)] },
          spec: { replicas: 3 },
        });
        return { name, kind, rt: Resources.deployments, owner: rs, replicas: 3, pods: new Map() };
      }
      const rt = kind === "sts" ? Resources.statefulsets : KruiseStatefulSets;
      const o = await c.h.client.create<KubeObject>(rt, {
        apiVersion: kind === "sts" ? "apps/v1" : "apps.kruise.io/v1beta1",
        kind: "StatefulSet",
        metadata: { name, namespace: NS },
        spec: { replicas: 3 },
      });
      return { name, kind, rt, owner: o, replicas: 3, pods: new Map() };
    };
    workloads.push(
      await make("sts", "sts-a"),
      await make("sts", "sts-b"),
      await make("deploy", "dep-a"),
      await make("deploy", "dep-b"),
      await make("kruise", "kru-a"),
      await make("kruise", "kru-b"),
    );

    await phase("chaos create", () => Promise.all(workloads.map((w) => converge(w))));
    await sane("created");

    for (let round = 1; round <= 3; round++) {
      // Move replicas between workloads; the total stays SIZE.
      for (let m = 0; m < 3; m++) {
        const from = pick(workloads.filter((w) => w.replicas > 0));
        const to = pick(workloads.filter((w) => w !== from));
        const k = 1 + Math.floor(rand() * Math.min(3, from.replicas));
        from.replicas -= k;
        to.replicas += k;
      }
      const old = leader();
      await phase(`chaos re-scale ${round} (${workloads.map((w) => `${w.name}=${w.replicas}`).join(" ")})`, () =>
        Promise.all([
          ...workloads.map((w) => converge(w)),
          (async () => {
            // The leader replica is killed mid-way; its Deployment starts another one.
            await sleep(rand() * 300);
            if (old === undefined) return;
            await old.stop();
            ctrls.splice(ctrls.indexOf(old), 1);
            await replica();
          })(),
        ]),
      );
      await eventually(() => leader() !== undefined && leader() !== old, 5000, "a new leader");
      await sane(`re-scale ${round}`);
    }

    await phase("chaos restart every pod", () =>
      Promise.all(
        workloads.map(async (w) => {
          const names = [...w.pods.keys()];
          await Promise.all(names.map((n) => teardown(w, n)));
          // StatefulSets bring the same names back (new UIDs); ReplicaSets new pods.
          const again = w.kind === "deploy" ? names.map(() => "") : names;
          const taken = new Set<string>();
          for (let i = 0; i < again.length; i++) {
            const n = again[i] !== "" ? (again[i] as string) : podName(w, taken);
            taken.add(n);
            again[i] = n;
          }
          await Promise.all(
            again.map(async (n) => {
              await sleep(rand() * 200);
              w.pods.set(n, await start(w, n));
            }),
          );
        }),
      ),
    );
    await sane("restarted");
    const check = await ctlCheck(c.h);
    assert.equal(check.code, 0, check.report);
  });
});
