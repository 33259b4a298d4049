// Pods of applications in SpiderSubnet mode, through the shim: the agent waits for the
// controller's auto pool of a Deployment (at the size its replicas ask for), and creates the
// pool itself for a third-party controller (ipam-behavior §5.5). The consistency check,
// subnet accounting included, runs after every test.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../../src/api/subnet.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { IPRangeSet, parseCIDR } from "../../src/ip/index.ts";
import type { OwnerReference } from "../../src/api/meta.ts";
import { ApiError, Resources, type KubeObject } from "../../src/kube/index.ts";
import { SUBNETS } from "../../src/poolstore/auto-pool.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually } from "../support/apiserver.ts";
import { cni, consistency, createPod, shimBuilt, startCluster, type Cluster } from "../support/cluster.ts";
import { testController } from "../support/controller.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";
const NS = "default";

const CLONESETS = {
  group: "apps.kruise.io",
  version: "v1alpha1",
  plural: "clonesets",
  kind: "CloneSet",
  namespaced: true,
} as const;

const free = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
const CLONESET_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "clonesets.apps.kruise.io" },
  spec: {
    group: "apps.kruise.io",
    scope: "Namespaced",
    names: { kind: "CloneSet", plural: "clonesets", singular: "cloneset" },
    versions: [
      {
        name: "v1alpha1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", properties: { spec: free, status: free } } },
      },
    ],
  },
};

/** A CloneSet object, as OpenKruise's API would hold it; no controller runs for it. */
function cloneSet(c: Cluster, name: string): Promise<KubeObject> {
  return c.h.client.create(CLONESETS, {
    apiVersion: "apps.kruise.io/v1alpha1",
    kind: "CloneSet",
    metadata: { name, namespace: NS },
    spec: {},
  });
}

function ipOf(r: { json?: Record<string, unknown> | undefined }): string {
  const ips = (r.json?.["ips"] ?? []) as Array<{ address: string }>;
  return ips[0]?.address.split("/")[0] ?? "";
}

const inPool = (p: SpiderIPPool, ip: string): boolean =>
  IPRangeSet.parse(4, p.spec.ips ?? []).has(parseCIDR(`${ip}/32`).ip);

const owner = (o: KubeObject, apiVersion: string, kind: string) => ({
  apiVersion,
  kind,
  name: String(o.metadata?.name),
  uid: String(o.metadata?.uid),
  controller: true,
});

describe("agent: SpiderSubnet auto-pools", { skip }, () => {
  let c: Cluster;
  let ctrl: SpiderpoolController;
  const socket = (): string => c.nodes[0]!.socket;

  before(async () => {
    c = await startCluster({
      agentEnv: { SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: "50", SPIDERPOOL_WAIT_SUBNET_POOL_MAX_RETRIES: "100" },
    });
    ctrl = testController(c.h, "ctrl", {
      SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS: "50",
      // Far beyond any test: what is reclaimed here is reclaimed by events, not by the sweep.
      SPIDERPOOL_TS_SUBNET_RESYNC_MS: "600000",
    });
    await ctrl.start();
    await eventually(() => ctrl.isLeader, 5000, "leader");
    await c.h.client.create(Resources.customresourcedefinitions, CLONESET_CRD as never);
    await c.h.client.create(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s4" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.100"], gateway: "192.0.2.1" },
    });
  });
  afterEach(async () => {
    let problems: string[] = [];
    await eventually(
      async () => {
        problems = (await consistency(c.h)).problems;
        return problems.length === 0;
      },
      5000,
      "consistency",
    ).catch(() => assert.deepEqual(problems, []));
  });
  after(async () => {
    await ctrl?.stop();
    await c?.close();
  });

  it("a Deployment's pod waits for its auto pool, and a new replica waits for the pool to grow", async () => {
    const ann = { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}', "ipam.spidernet.io/ippool-ip-number": "+0" };
    const d = await c.h.client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "api" } },
        template: {
          metadata: { labels: { app: "api" }, annotations: ann },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
    const rs = await c.h.client.create(Resources.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "api-1", namespace: NS, ownerReferences: [owner(d, "apps/v1", "Deployment")] },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "api" } },
        template: {
          metadata: { labels: { app: "api" }, annotations: ann },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
    const rsOwner = owner(rs, "apps/v1", "ReplicaSet") as OwnerReference;
    await createPod(c.h, { name: "api-1-a", node: "node1", annotations: ann, owner: rsOwner });
    const r1 = await cni({ command: "ADD", socket: socket(), pod: { name: "api-1-a" } });
    assert.equal(r1.code, 0, r1.stdout);
    const pools = (await c.h.client.listAll<SpiderIPPool>(POOLS)).items.filter(
      (p) => p.metadata.labels?.["ipam.spidernet.io/owner-application-name"] === "api",
    );
    assert.equal(pools.length, 1);
    assert.ok(inPool(pools[0]!, ipOf(r1)), `${ipOf(r1)} in ${JSON.stringify(pools[0]!.spec.ips)}`);

    // Scaled to 2 ("+0": 2 addresses): the second pod's ADD must wait for the second address.
    await c.h.client.patchMerge(Resources.deployments, "api", { spec: { replicas: 2 } }, { namespace: NS });
    await createPod(c.h, { name: "api-1-b", node: "node1", annotations: ann, owner: rsOwner });
    const r2 = await cni({ command: "ADD", socket: socket(), pod: { name: "api-1-b" } });
    assert.equal(r2.code, 0, r2.stdout);
    assert.notEqual(ipOf(r2), ipOf(r1));
    const grown = await c.h.client.get<SpiderIPPool>(POOLS, pools[0]!.metadata.name!);
    assert.equal(IPRangeSet.parse(4, grown.spec.ips!).size, 2n);
    assert.ok(inPool(grown, ipOf(r2)));

    for (const n of ["api-1-a", "api-1-b"]) {
      assert.equal((await cni({ command: "DEL", socket: socket(), pod: { name: n } })).code, 0);
      await c.h.client.delete(Resources.pods, n, { namespace: NS, gracePeriodSeconds: 0 });
    }
    await c.h.client.delete(Resources.replicasets, "api-1", { namespace: NS });
    await c.h.client.delete(Resources.deployments, "api", { namespace: NS });
    await eventually(
      async () =>
        (await c.h.client.listAll<SpiderIPPool>(POOLS)).items.every((p) => p.metadata.name !== pools[0]!.metadata.name),
      5000,
      "the pool deleted with the Deployment",
    );
  });

  it("AC-106: the agent creates a third-party controller's pool; the controller deletes it with the app", async () => {
    const cs = await cloneSet(c, "cs");
    const ann = { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}', "ipam.spidernet.io/ippool-ip-number": "2" };
    const o = owner(cs, "apps.kruise.io/v1alpha1", "CloneSet") as OwnerReference;
    await createPod(c.h, { name: "cs-a", node: "node1", annotations: ann, owner: o });
    await createPod(c.h, { name: "cs-b", node: "node1", annotations: ann, owner: o });
    // Both pods at once: they meet in the same preconditioned writes and share one pool.
    const [ra, rb] = await Promise.all([
      cni({ command: "ADD", socket: socket(), pod: { name: "cs-a" } }),
      cni({ command: "ADD", socket: socket(), pod: { name: "cs-b" } }),
    ]);
    assert.equal(ra.code, 0, ra.stdout);
    assert.equal(rb.code, 0, rb.stdout);
    const pools = (await c.h.client.listAll<SpiderIPPool>(POOLS)).items.filter(
      (p) => p.metadata.labels?.["ipam.spidernet.io/owner-application-kind"] === "CloneSet",
    );
    assert.equal(pools.length, 1);
    const p = pools[0]!;
    assert.match(p.metadata.name!, /^auto4-cs-eth0-[0-9a-f]{5}$/);
    assert.equal(IPRangeSet.parse(4, p.spec.ips!).size, 2n);
    assert.ok(inPool(p, ipOf(ra)) && inPool(p, ipOf(rb)) && ipOf(ra) !== ipOf(rb));
    const sub = await c.h.client.get<SpiderSubnet>(SUBNETS, "s4");
    assert.equal(
      parseControlledPools(sub.status?.controlledIPPools).get(p.metadata.name!)?.application,
      "apps.kruise.io_v1alpha1_CloneSet_default_cs",
    );

    for (const n of ["cs-a", "cs-b"]) {
      assert.equal((await cni({ command: "DEL", socket: socket(), pod: { name: n } })).code, 0);
      await c.h.client.delete(Resources.pods, n, { namespace: NS, gracePeriodSeconds: 0 });
    }
    await c.h.client.delete(CLONESETS, "cs", { namespace: NS });
    await eventually(
      async () =>
        (await c.h.client.listAll<SpiderIPPool>(POOLS)).items.every((x) => x.metadata.name !== p.metadata.name),
      5000,
      "the third-party pool deleted after its CloneSet",
    );
    await eventually(
      async () =>
        !parseControlledPools((await c.h.client.get<SpiderSubnet>(SUBNETS, "s4")).status?.controlledIPPools).has(
          p.metadata.name!,
        ),
      5000,
      "its subnet entry dropped",
    );
  });

  it("AC-107: a retained third-party pool is reused by a new CloneSet of the same name, not by another kind", async () => {
    const ann = {
      "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}',
      "ipam.spidernet.io/ippool-ip-number": "1",
      "ipam.spidernet.io/ippool-reclaim": "false",
    };
    const removePod = async (pod: string) => {
      assert.equal((await cni({ command: "DEL", socket: socket(), pod: { name: pod } })).code, 0);
      // The owner's deletion may have taken the pod already (background propagation).
      await c.h.client.delete(Resources.pods, pod, { namespace: NS, gracePeriodSeconds: 0 }).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      });
    };
    const addPod = async (ownerObj: KubeObject, apiVersion: string, kind: string, pod: string, keep = false) => {
      await createPod(c.h, { name: pod, node: "node1", annotations: ann, owner: owner(ownerObj, apiVersion, kind) });
      const r = await cni({ command: "ADD", socket: socket(), pod: { name: pod } });
      assert.equal(r.code, 0, r.stdout);
      if (!keep) await removePod(pod);
    };
    const autoPools = async () =>
      (await c.h.client.listAll<SpiderIPPool>(POOLS)).items.filter(
        (p) => p.metadata.labels?.["ipam.spidernet.io/owner-application-name"] === "keep",
      );
    const first = await cloneSet(c, "keep");
    await addPod(first, "apps.kruise.io/v1alpha1", "CloneSet", "keep-a");
    const [retained] = await autoPools();
    await c.h.client.delete(CLONESETS, "keep", { namespace: NS });
    // The sweep, awaited once the controller holds the pool, is what would delete it.
    await eventually(() => ctrl.pools.getByName(retained!.metadata.name!) !== undefined, 5000, "the pool seen");
    await ctrl.autoPools!.sweep();
    assert.equal((await autoPools()).length, 1, "kept after its CloneSet is gone (the sweep ran meanwhile)");

    const second = await cloneSet(c, "keep");
    await addPod(second, "apps.kruise.io/v1alpha1", "CloneSet", "keep-b");
    const after = await autoPools();
    assert.equal(after.length, 1);
    assert.equal(after[0]!.metadata.name, retained!.metadata.name, "the retained pool is reused");
    assert.equal(
      after[0]!.metadata.labels?.["ipam.spidernet.io/owner-application-uid"],
      String((second as KubeObject).metadata?.uid),
    );

    // Another kind of the same name gets a pool of its own.
    const sts = await c.h.client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "keep", namespace: NS },
      spec: {
        replicas: 1,
        serviceName: "keep",
        selector: { matchLabels: { app: "keep" } },
        template: {
          metadata: { labels: { app: "keep" }, annotations: ann },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
    await addPod(sts, "apps/v1", "StatefulSet", "keep-0", true);
    const kinds = (await autoPools())
      .map((p) => p.metadata.labels?.["ipam.spidernet.io/owner-application-kind"])
      .sort();
    assert.deepEqual(kinds, ["CloneSet", "StatefulSet"]);
    // A StatefulSet pod keeps its address through DEL while its StatefulSet wants it.
    await c.h.client.delete(Resources.statefulsets, "keep", { namespace: NS });
    await removePod("keep-0");
    await c.h.client.delete(CLONESETS, "keep", { namespace: NS });
    for (const p of await autoPools()) await c.h.client.delete(POOLS, p.metadata.name!);
    await eventually(async () => (await autoPools()).length === 0, 5000, "pools deleted by hand");
  });

  it("AC-108: a third-party pod without ippool-ip-number is refused", async () => {
    const cs = await cloneSet(c, "cs2");
    await createPod(c.h, {
      name: "cs2-a",
      node: "node1",
      annotations: { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}' },
      owner: owner(cs, "apps.kruise.io/v1alpha1", "CloneSet") as OwnerReference,
    });
    const r = await cni({ command: "ADD", socket: socket(), pod: { name: "cs2-a" } });
    assert.notEqual(r.code, 0);
    assert.match(String(r.json?.["msg"]), /CloneSet\/default\/cs2 only supports fixed auto-created IPPool IP Number/);
    await c.h.client.delete(Resources.pods, "cs2-a", { namespace: NS, gracePeriodSeconds: 0 });
    await c.h.client.delete(CLONESETS, "cs2", { namespace: NS });
  });
});
