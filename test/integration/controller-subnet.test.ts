// SpiderSubnet auto-pools through the embedded API server (ipam-behavior §5): the
// controller creates, resizes and deletes an application's pools as the test creates,
// scales and deletes workloads (there is no workload controller, so replicas and pods are
// what the test writes). Subnet accounting is checked exact after every step.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../../src/api/subnet.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { IPRangeSet } from "../../src/ip/index.ts";
import { ApiError, Resources, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { RESERVED_IPS as RESERVED, SUBNETS } from "../../src/poolstore/auto-pool.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { consistency } from "../support/cluster.ts";
import {
  autoPoolReconciles,
  autoPoolsReconciled,
  NS,
  runningPod,
  testController,
  writeEndpoint,
  writeRecord,
} from "../support/controller.ts";

const APP = "ipam.spidernet.io/owner-application-name";
const KIND = "ipam.spidernet.io/owner-application-kind";
const OWNER_SUBNET = "ipam.spidernet.io/owner-spider-subnet";

async function subnet(h: Harness, name: string, cidr: string, ips: string[], extra: object = {}): Promise<void> {
  await h.client.create(SUBNETS, {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderSubnet",
    metadata: { name },
    spec: { subnet: cidr, ips, ...extra },
  });
}

function template(annotations: Record<string, string>) {
  return {
    metadata: { labels: { app: "x" }, annotations },
    spec: { containers: [{ name: "c", image: "pause" }] },
  };
}

async function deployment(h: Harness, name: string, replicas: number, annotations: Record<string, string>) {
  return h.client.create(Resources.deployments, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: { replicas, selector: { matchLabels: { app: "x" } }, template: template(annotations) },
  });
}

async function patchSpec(h: Harness, rt: ResourceType, name: string, spec: object): Promise<void> {
  await h.client.patchMerge(rt, name, { spec }, { namespace: NS });
}

const poolsOf = async (h: Harness, app: string, kind = "Deployment"): Promise<SpiderIPPool[]> =>
  (await h.client.listAll<SpiderIPPool>(POOLS)).items.filter(
    (p) => p.metadata.labels?.[APP] === app && p.metadata.labels?.[KIND] === kind,
  );

const size = (p: SpiderIPPool): bigint => IPRangeSet.parse(4, p.spec.ips ?? []).size;

async function poolSized(h: Harness, app: string, n: number, kind = "Deployment"): Promise<SpiderIPPool> {
  let last: SpiderIPPool[] = [];
  await eventually(
    async () => {
      last = (await poolsOf(h, app, kind)).filter((p) => p.metadata.deletionTimestamp === undefined);
      return last.length === 1 && size(last[0]!) === BigInt(n);
    },
    10_000,
    `${kind} ${app}: one auto pool of ${n} addresses (have ${last.map((p) => `${p.metadata.name}:${JSON.stringify(p.spec.ips)}`).join(", ")})`,
  );
  return last[0]!;
}

/** The subnet's accounting equals its pools' addresses, and the whole cluster is consistent. */
async function exact(h: Harness): Promise<void> {
  let problems: string[] = [];
  await eventually(
    async () => {
      problems = (await consistency(h)).problems;
      return problems.length === 0;
    },
    10_000,
    "consistent subnet accounting",
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${problems.join("; ")}`);
  });
}

async function entries(h: Harness, sub: string) {
  const s = await h.client.get<SpiderSubnet>(SUBNETS, sub);
  return { map: parseControlledPools(s.status?.controlledIPPools), count: s.status?.allocatedIPCount };
}

/** What the agent writes for one allocation: the pool record and the endpoint. */
async function allocate(h: Harness, pool: string, ip: string, name: string, uid: string): Promise<void> {
  await writeRecord(h, pool, ip, `${NS}/${name}`, uid);
  await writeEndpoint(h, { name, uid, ip, pool });
}

async function gone(h: Harness, rt: ResourceType, name: string, ns?: string): Promise<boolean> {
  try {
    await h.client.get(rt, name, ns);
    return false;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return true;
    throw err;
  }
}

describe("SpiderSubnet auto-pools", () => {
  let h: Harness;
  let a: SpiderpoolController;
  let b: SpiderpoolController;
  const leader = (): SpiderpoolController => (a.isLeader ? a : b);

  before(async () => {
    h = await startApiServer();
    const env = { SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS: "50", SPIDERPOOL_TS_SUBNET_RESYNC_MS: "600000" };
    a = testController(h, "ctrl-a", env);
    b = testController(h, "ctrl-b", env);
    await Promise.all([a.start(), b.start()]);
    await eventually(() => a.isLeader !== b.isLeader, 5000, "a leader");
    await subnet(h, "s1", "192.0.2.0/24", ["192.0.2.10-192.0.2.200"], { gateway: "192.0.2.1" });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await h?.close();
  });

  it('a Deployment with "+1" gets replicas+1 addresses, follows scaling, and goes with the Deployment', async () => {
    const d = await deployment(h, "web", 2, {
      "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}',
      "ipam.spidernet.io/ippool-ip-number": "+1",
    });
    const uid = uidOf(d);
    let p = await poolSized(h, "web", 3);
    assert.equal(p.metadata.name, `auto4-web-eth0-${uid.split("-").pop()!.slice(0, 5)}`);
    assert.deepEqual(p.spec.ips, ["192.0.2.10-192.0.2.12"], "the lowest free addresses of the subnet");
    assert.equal(p.spec.gateway, "192.0.2.1", "gateway from the subnet");
    assert.equal(p.metadata.labels?.["ipam.spidernet.io/owner-application-uid"], uid);
    assert.equal(p.metadata.annotations?.["ipam.spidernet.io/ippool-ip-number"], "+1");
    const e = await entries(h, "s1");
    assert.deepEqual(e.map.get(p.metadata.name!), {
      ips: ["192.0.2.10-192.0.2.12"],
      application: "apps_v1_Deployment_default_web",
    });
    await exact(h);

    await patchSpec(h, Resources.deployments, "web", { replicas: 4 });
    p = await poolSized(h, "web", 5);
    await exact(h);

    // Two pods hold the two highest addresses; scaling down drops the lowest free ones.
    const pa = await runningPod(h, "web-a", "192.0.2.13");
    const pb = await runningPod(h, "web-b", "192.0.2.14");
    await allocate(h, p.metadata.name!, "192.0.2.13", "web-a", uidOf(pa));
    await allocate(h, p.metadata.name!, "192.0.2.14", "web-b", uidOf(pb));
    await patchSpec(h, Resources.deployments, "web", { replicas: 1 });
    p = await poolSized(h, "web", 2);
    assert.deepEqual(p.spec.ips, ["192.0.2.13-192.0.2.14"]);
    await exact(h);

    // AC-104: replicas 0 wants 1 address but both are held: the shrink waits for a pod to leave.
    const since = await autoPoolReconciles(leader());
    await patchSpec(h, Resources.deployments, "web", { replicas: 0 });
    await autoPoolsReconciled(leader(), since);
    assert.equal(size((await poolsOf(h, "web"))[0]!), 2n, "no address a pod holds is dropped");
    // The pod goes without a CNI DEL; the GC releases its address.
    await h.client.delete(Resources.pods, "web-a", { namespace: NS, gracePeriodSeconds: 0 });
    p = await poolSized(h, "web", 1);
    assert.deepEqual(p.spec.ips, ["192.0.2.14"]);
    await exact(h);

    // Deleted with the Deployment: Terminating while web-b's address is held, gone after.
    await h.client.delete(Resources.deployments, "web", { namespace: NS });
    await eventually(
      async () => (await h.client.get<SpiderIPPool>(POOLS, p.metadata.name!)).metadata.deletionTimestamp !== undefined,
      5000,
      "the pool Terminating",
    );
    await h.client.delete(Resources.pods, "web-b", { namespace: NS, gracePeriodSeconds: 0 });
    await eventually(() => gone(h, POOLS, p.metadata.name!), 5000, "the pool deleted");
    await eventually(async () => (await entries(h, "s1")).count === 0, 5000, "subnet count 0");
    assert.equal((await entries(h, "s1")).map.size, 0);
    await exact(h);
  });

  it("AC-92/93/95/96: ippool-reclaim false keeps the pool; a new same-name Deployment adopts it; spec.ips cannot be edited", async () => {
    const annotations = {
      "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}',
      "ipam.spidernet.io/ippool-ip-number": "2",
      "ipam.spidernet.io/ippool-reclaim": "false",
    };
    await deployment(h, "keep", 3, annotations);
    const p = await poolSized(h, "keep", 2);
    const since = await autoPoolReconciles(leader());
    await h.client.delete(Resources.deployments, "keep", { namespace: NS });
    await autoPoolsReconciled(leader(), since);
    const still = await h.client.get<SpiderIPPool>(POOLS, p.metadata.name!);
    assert.equal(still.metadata.deletionTimestamp, undefined, "kept after its Deployment is deleted");
    assert.ok((await entries(h, "s1")).map.has(p.metadata.name!), "and its addresses stay accounted");
    await exact(h);

    // AC-93
    await assert.rejects(
      h.client.patchMerge(POOLS, p.metadata.name!, { spec: { ips: ["192.0.2.150"] } }),
      (err: unknown) =>
        err instanceof ApiError &&
        /it's illegal to update AutoPool.Spec.IPs that are different from corresponding SpiderSubnet.Status.ControlledIPPools/.test(
          err.message,
        ),
    );

    // A new Deployment of the same name adopts the pool (UID label refreshed, resized).
    const d2 = await deployment(h, "keep", 1, { ...annotations, "ipam.spidernet.io/ippool-ip-number": "3" });
    const adopted = await poolSized(h, "keep", 3);
    assert.equal(adopted.metadata.name, p.metadata.name, "the same pool");
    assert.equal(adopted.metadata.labels?.["ipam.spidernet.io/owner-application-uid"], uidOf(d2));

    // AC-96: reclaim flipped to true on the live app, then deleting the app deletes the pool.
    await patchSpec(h, Resources.deployments, "keep", {
      template: template({
        ...annotations,
        "ipam.spidernet.io/ippool-ip-number": "3",
        "ipam.spidernet.io/ippool-reclaim": "true",
      }),
    });
    await eventually(
      async () =>
        (await h.client.get<SpiderIPPool>(POOLS, p.metadata.name!)).metadata.labels?.[
          "ipam.spidernet.io/ippool-reclaim"
        ] === "true",
      5000,
      "reclaim label true",
    );
    await h.client.delete(Resources.deployments, "keep", { namespace: NS });
    await eventually(() => gone(h, POOLS, p.metadata.name!), 5000, "the retained pool deleted");
    await exact(h);
  });

  it("a Deployment deleted and created again: the old pool's entry goes with the old pool, not kept by the new app", async () => {
    const ann = { "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}', "ipam.spidernet.io/ippool-ip-number": "2" };
    await deployment(h, "again", 1, ann);
    const old = await poolSized(h, "again", 2);
    const pod = await runningPod(h, "again-a", old.spec.ips![0]!.split("-")[0]!);
    await allocate(h, old.metadata.name!, old.spec.ips![0]!.split("-")[0]!, "again-a", uidOf(pod));
    await h.client.delete(Resources.deployments, "again", { namespace: NS });
    await deployment(h, "again", 1, ann);
    // The old pool stays Terminating while its pod holds an address; the new one is carved beside it.
    await eventually(async () => (await poolsOf(h, "again")).length === 2, 10_000, "old and new pools");
    await h.client.delete(Resources.pods, "again-a", { namespace: NS, gracePeriodSeconds: 0 });
    await eventually(() => gone(h, POOLS, old.metadata.name!), 5000, "the old pool gone");
    await exact(h);
    const e = await entries(h, "s1");
    assert.ok(!e.map.has(old.metadata.name!), "the old pool's entry is dropped");
    await h.client.delete(Resources.deployments, "again", { namespace: NS });
    await eventually(async () => (await poolsOf(h, "again")).length === 0, 5000, "pools gone");
    await exact(h);
  });

  it("AC-94: a StatefulSet with a retained Deployment pool's name gets a pool of its own", async () => {
    const annotations = {
      "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}',
      "ipam.spidernet.io/ippool-ip-number": "1",
      "ipam.spidernet.io/ippool-reclaim": "false",
    };
    await deployment(h, "same", 1, annotations);
    const dp = await poolSized(h, "same", 1);
    await h.client.delete(Resources.deployments, "same", { namespace: NS });
    await h.client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "same", namespace: NS },
      spec: {
        replicas: 1,
        serviceName: "same",
        selector: { matchLabels: { app: "x" } },
        template: template({ ...annotations, "ipam.spidernet.io/ippool-reclaim": "true" }),
      },
    });
    const sp = await poolSized(h, "same", 1, "StatefulSet");
    assert.notEqual(sp.metadata.name, dp.metadata.name);
    assert.ok(!IPRangeSet.parse(4, sp.spec.ips!).overlaps(IPRangeSet.parse(4, dp.spec.ips!)));
    const e = await entries(h, "s1");
    assert.ok(e.map.has(dp.metadata.name!) && e.map.has(sp.metadata.name!), "the subnet now has both pools");
    await exact(h);
    await h.client.delete(Resources.statefulsets, "same", { namespace: NS });
    await eventually(() => gone(h, POOLS, sp.metadata.name!), 5000, "the StatefulSet pool deleted");
    await h.client.delete(POOLS, dp.metadata.name!);
    await eventually(() => gone(h, POOLS, dp.metadata.name!), 5000, "the retained pool deleted by hand");
    await exact(h);
  });

  it('AC-89: fixed "N" pools do not follow scaling; all go with their Deployments', async () => {
    const names = ["f1", "f2", "f3"];
    for (const n of names)
      await deployment(h, n, 2, {
        "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}',
        "ipam.spidernet.io/ippool-ip-number": "5",
      });
    for (const n of names) await poolSized(h, n, 5);
    assert.equal((await entries(h, "s1")).count, 15);
    const since = await autoPoolReconciles(leader());
    await patchSpec(h, Resources.deployments, "f1", { replicas: 3 });
    await patchSpec(h, Resources.deployments, "f2", { replicas: 1 });
    await autoPoolsReconciled(leader(), since, 2);
    for (const n of names) await poolSized(h, n, 5);
    assert.equal((await entries(h, "s1")).count, 15);
    await exact(h);
    for (const n of names) await h.client.delete(Resources.deployments, n, { namespace: NS });
    await eventually(async () => (await entries(h, "s1")).count === 0, 5000, "all pools gone");
    await exact(h);
  });

  it("AC-91: two NICs from two subnets get one pool each", async () => {
    await subnet(h, "s2", "198.51.100.0/24", ["198.51.100.10-198.51.100.50"]);
    await deployment(h, "multi", 2, {
      "ipam.spidernet.io/subnets": '[{"interface":"eth0","ipv4":["s1"]},{"interface":"net1","ipv4":["s2"]}]',
      "ipam.spidernet.io/ippool-ip-number": "2",
    });
    await eventually(async () => (await poolsOf(h, "multi")).length === 2, 10_000, "two pools");
    const ps = await poolsOf(h, "multi");
    const byNic = new Map(ps.map((p) => [p.metadata.labels?.["ipam.spidernet.io/interface"], p]));
    assert.equal(byNic.get("eth0")?.metadata.labels?.[OWNER_SUBNET], "s1");
    assert.equal(byNic.get("net1")?.metadata.labels?.[OWNER_SUBNET], "s2");
    assert.equal(byNic.get("net1")?.spec.subnet, "198.51.100.0/24");
    await exact(h);
    await h.client.delete(Resources.deployments, "multi", { namespace: NS });
    await eventually(async () => (await poolsOf(h, "multi")).length === 0, 5000, "both pools gone");
    await exact(h);
  });

  it("AC-109: moving an application to another subnet carves a new pool there; the old one stays until the app goes", async () => {
    await deployment(h, "mover", 1, {
      "ipam.spidernet.io/subnet": '{"ipv4":["s1"]}',
      "ipam.spidernet.io/ippool-ip-number": "1",
    });
    const old = await poolSized(h, "mover", 1);
    await patchSpec(h, Resources.deployments, "mover", {
      template: template({ "ipam.spidernet.io/subnet": '{"ipv4":["s2"]}', "ipam.spidernet.io/ippool-ip-number": "1" }),
    });
    await eventually(async () => (await poolsOf(h, "mover")).length === 2, 10_000, "a second pool");
    const fresh = (await poolsOf(h, "mover")).find((p) => p.metadata.name !== old.metadata.name)!;
    assert.equal(fresh.metadata.labels?.[OWNER_SUBNET], "s2");
    assert.equal(fresh.spec.subnet, "198.51.100.0/24");
    assert.match(fresh.metadata.name!, new RegExp(`^${old.metadata.name}-[0-9a-f]{5}$`));
    await exact(h);
    await h.client.delete(Resources.deployments, "mover", { namespace: NS });
    await eventually(async () => (await poolsOf(h, "mover")).length === 0, 5000, "both pools gone");
    await exact(h);
  });

  it("DaemonSet, Job and CronJob get pools; a Deployment's ReplicaSet and a CronJob's Job do not", async () => {
    const ann = { "ipam.spidernet.io/subnet": '{"ipv4":["s2"]}', "ipam.spidernet.io/ippool-ip-number": "+1" };
    await h.client.create(Resources.daemonsets, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "ds", namespace: NS },
      spec: { selector: { matchLabels: { app: "x" } }, template: template(ann) },
    });
    const ds = await h.client.get(Resources.daemonsets, "ds", NS);
    await h.client.updateStatus(Resources.daemonsets, { ...ds, status: { desiredNumberScheduled: 3 } });
    await poolSized(h, "ds", 4, "DaemonSet");
    const job = await h.client.create(Resources.jobs, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "job", namespace: NS },
      spec: {
        parallelism: 2,
        completions: 6,
        template: { ...template(ann), spec: { ...template(ann).spec, restartPolicy: "Never" } },
      },
    });
    assert.ok(job);
    await poolSized(h, "job", 7, "Job");
    const cj = await h.client.create(Resources.cronjobs, {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "cron", namespace: NS },
      spec: {
        schedule: "* * * * *",
        jobTemplate: {
          spec: { template: { ...template(ann), spec: { ...template(ann).spec, restartPolicy: "Never" } } },
        },
      },
    });
    await poolSized(h, "cron", 2, "CronJob");
    // A Job created by the CronJob follows the CronJob's pool, as a ReplicaSet follows its Deployment's.
    const since = await autoPoolReconciles(leader());
    await h.client.create(Resources.jobs, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "cron-1",
        namespace: NS,
        ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "cron", uid: uidOf(cj), controller: true }],
      },
      spec: { template: { ...template(ann), spec: { ...template(ann).spec, restartPolicy: "Never" } } },
    });
    await autoPoolsReconciled(leader(), since);
    assert.equal((await poolsOf(h, "cron-1", "Job")).length, 0);
    await exact(h);
    for (const [rt, n] of [
      [Resources.daemonsets, "ds"],
      [Resources.jobs, "job"],
      [Resources.jobs, "cron-1"],
      [Resources.cronjobs, "cron"],
    ] as const)
      await h.client.delete(rt, n, { namespace: NS });
    await eventually(
      async () =>
        (await h.client.listAll<SpiderIPPool>(POOLS)).items.every((p) => p.metadata.labels?.[APP] === undefined),
      5000,
      "every auto pool gone",
    );
    await exact(h);
  });

  it("AC-101: a subnet with no free address gets no pool; the reconcile is retried, not dropped", async () => {
    await subnet(h, "full", "203.0.113.0/24", ["203.0.113.10-203.0.113.11"], {
      excludeIPs: ["203.0.113.10-203.0.113.11"],
    });
    const before = await metric(leader(), 'spiderpool_ts_auto_pool_reconciles_total{result="retry"');
    await deployment(h, "starved", 1, { "ipam.spidernet.io/subnet": '{"ipv4":["full"]}' });
    await eventually(
      async () => (await metric(leader(), 'spiderpool_ts_auto_pool_reconciles_total{result="retry"')) > before,
      5000,
      "a retried reconcile",
    );
    assert.equal((await poolsOf(h, "starved")).length, 0);
    // Room appears: the retry carves the pool.
    await h.client.patchMerge(SUBNETS, "full", { spec: { excludeIPs: [] } });
    await poolSized(h, "starved", 2);
    await exact(h);
    await h.client.delete(Resources.deployments, "starved", { namespace: NS });
    await eventually(async () => (await poolsOf(h, "starved")).length === 0, 5000, "pool gone");
  });

  it("AC-56: reserved addresses are never carved; deleting the reservation lets the pool be created", async () => {
    await subnet(h, "tiny", "2001:db8:56::/64", ["2001:db8:56::100-2001:db8:56::104"]);
    await h.client.create(RESERVED, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderReservedIP",
      metadata: { name: "hold-all" },
      spec: { ips: ["2001:db8:56::100-2001:db8:56::104"] },
    });
    const since = await autoPoolReconciles(leader());
    await deployment(h, "reserved-app", 1, {
      "ipam.spidernet.io/subnet": '{"ipv6":["tiny"]}',
      "ipam.spidernet.io/ippool-ip-number": "+1",
    });
    await autoPoolsReconciled(leader(), since);
    assert.equal((await poolsOf(h, "reserved-app")).length, 0, "no auto pool while every address is reserved");
    await h.client.delete(RESERVED, "hold-all");
    await eventually(async () => (await poolsOf(h, "reserved-app")).length === 1, 10_000, "the auto pool");
    const [p] = await poolsOf(h, "reserved-app");
    assert.deepEqual(p!.spec.ips, ["2001:db8:56::100-2001:db8:56::101"]);
    await exact(h);
    await h.client.delete(Resources.deployments, "reserved-app", { namespace: NS });
    await eventually(async () => (await poolsOf(h, "reserved-app")).length === 0, 5000, "pool gone");
    await exact(h);
  });

  it("AC-98: an entry for a pool that does not exist, with no application, is dropped", async () => {
    const s = await h.client.get<SpiderSubnet>(SUBNETS, "s2");
    await h.client.updateStatus(SUBNETS, {
      ...s,
      status: {
        ...s.status,
        controlledIPPools: JSON.stringify({ ghost: { ips: ["198.51.100.40"] } }),
        allocatedIPCount: 1,
      },
    });
    await eventually(
      async () => {
        const e = await entries(h, "s2");
        return e.map.size === 0 && e.count === 0;
      },
      5000,
      "controlledIPPools null, count 0",
    );
    const raw = await h.client.get<SpiderSubnet>(SUBNETS, "s2");
    assert.equal(raw.status?.controlledIPPools, undefined);
  });
});

async function metric(c: SpiderpoolController, prefix: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${c.ports.metrics}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

const uidOf = (o: unknown): string => String((o as KubeObject).metadata?.uid);
