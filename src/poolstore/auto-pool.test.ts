import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { SpiderIPPool } from "../api/ippool.ts";
import { parseControlledPools, type SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import { autoPoolName, autoPoolSelector } from "../ipam/index.ts";
import { ApiError } from "../kube/errors.ts";
import type { KubeClient } from "../kube/client.ts";
import { reconcileAutoPool } from "./auto-pool.ts";

const APP = { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web", uid: "u-abcdef012" };
const NAME = autoPoolName(4, "web", "eth0", APP.uid);
const OWN = { ...autoPoolSelector("s1", APP, "eth0", 4), "ipam.spidernet.io/owner-application-uid": APP.uid };

/**
 * The API as far as the reconcile uses it, recording every write with the state of the
 * subnet entry and the pool at that moment, so tests can check the invariant "the pool
 * never holds an address its entry does not" at every step.
 */
function fakeApi(sub: SpiderSubnet, pool: SpiderIPPool | undefined) {
  const state = { sub: structuredClone(sub), pool: pool === undefined ? undefined : structuredClone(pool), rv: 10 };
  const writes: string[] = [];
  const entryOf = (): IPRangeSet =>
    IPRangeSet.parse(4, parseControlledPools(state.sub.status?.controlledIPPools).get(NAME)?.ips ?? []);
  const check = (): void => {
    const p = state.pool === undefined ? IPRangeSet.empty(4) : IPRangeSet.parse(4, state.pool.spec.ips ?? []);
    assert.ok(
      entryOf().containsAll(p),
      `after ${writes.at(-1)}: pool ${p.toStrings()} ⊄ entry ${entryOf().toStrings()}`,
    );
  };
  const client = {
    get: async (rt: { plural: string }, name: string) => {
      if (rt.plural === "spidersubnets") return structuredClone(state.sub);
      if (state.pool !== undefined && name === state.pool.metadata.name) return structuredClone(state.pool);
      throw new ApiError({ status: 404, reason: "NotFound", message: "not found", method: "GET", path: name });
    },
    listAll: async (rt: { plural: string }) => ({
      metadata: {},
      items: rt.plural === "spiderippools" && state.pool !== undefined ? [structuredClone(state.pool)] : [],
    }),
    updateStatus: async (_rt: unknown, obj: SpiderSubnet) => {
      assert.equal(obj.metadata.resourceVersion, state.sub.metadata.resourceVersion, "preconditioned");
      state.sub = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++state.rv) } };
      writes.push("subnet");
      check();
      return state.sub;
    },
    update: async (_rt: unknown, obj: SpiderIPPool) => {
      assert.equal(obj.metadata.resourceVersion, state.pool?.metadata.resourceVersion, "preconditioned");
      state.pool = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++state.rv) } };
      writes.push(`pool ${JSON.stringify(obj.spec.ips)}`);
      check();
      return state.pool;
    },
    create: async (_rt: unknown, obj: SpiderIPPool) => {
      state.pool = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++state.rv) } };
      writes.push(`create ${JSON.stringify(obj.spec.ips)}`);
      check();
      return state.pool;
    },
  };
  return { client: client as unknown as KubeClient, state, writes };
}

const subnet = (entryIps: string[] | undefined): SpiderSubnet =>
  ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderSubnet",
    metadata: { name: "s1", uid: "s-uid", resourceVersion: "1" },
    spec: { ipVersion: 4, subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.50"] },
    status:
      entryIps === undefined
        ? {}
        : {
            controlledIPPools: JSON.stringify({
              [NAME]: { ips: entryIps, application: "apps_v1_Deployment_default_web" },
            }),
          },
  }) as SpiderSubnet;

const req = (desired: number) => ({
  subnet: "s1",
  app: APP,
  iface: "eth0",
  family: 4 as const,
  desired,
  ipNumber: String(desired),
  reclaim: true,
});

describe("reconcileAutoPool write order", () => {
  it("a new pool: the entry first, then the pool", async () => {
    const api = fakeApi(subnet(undefined), undefined);
    const out = await reconcileAutoPool({ client: api.client, log: pino({ level: "silent" }) }, req(3));
    assert.equal(out.action, "created");
    assert.deepEqual(api.writes, ["subnet", 'create ["192.0.2.10-192.0.2.12"]']);
  });

  it("a shrink: the pool gives the addresses up before the entry does, keeping the held ones", async () => {
    const existing = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: NAME, resourceVersion: "5", labels: OWN },
      spec: { ipVersion: 4, subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.13"] },
      status: {
        allocatedIPs: JSON.stringify({ "192.0.2.13": { pod: "default/a", podUid: "pa" } }),
        allocatedIPCount: 1,
      },
    } as SpiderIPPool;
    const api = fakeApi(subnet(["192.0.2.10-192.0.2.13"]), existing);
    await reconcileAutoPool({ client: api.client, log: pino({ level: "silent" }) }, req(2));
    assert.equal(api.writes[0], 'pool ["192.0.2.12-192.0.2.13"]', "the pool shrinks first");
    assert.equal(api.writes[1], "subnet");
    assert.deepEqual(parseControlledPools(api.state.sub.status?.controlledIPPools).get(NAME)?.ips, [
      "192.0.2.12-192.0.2.13",
    ]);
  });

  it("a shrink interrupted after its pool write finishes by dropping what the pool gave up", async () => {
    const existing = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: NAME, resourceVersion: "5", labels: OWN },
      // The pool already gave up .10 and .11; the entry still holds them.
      spec: { ipVersion: 4, subnet: "192.0.2.0/24", ips: ["192.0.2.12-192.0.2.13"] },
    } as SpiderIPPool;
    const api = fakeApi(subnet(["192.0.2.10-192.0.2.13"]), existing);
    await reconcileAutoPool({ client: api.client, log: pino({ level: "silent" }) }, req(2));
    assert.deepEqual(parseControlledPools(api.state.sub.status?.controlledIPPools).get(NAME)?.ips, [
      "192.0.2.12-192.0.2.13",
    ]);
  });
});
