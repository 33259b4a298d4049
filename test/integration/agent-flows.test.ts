// The ADD and DEL flows against the in-memory seams (test/support/agent-fakes.ts): no API
// server, every read and write observable.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { fakeAgent } from "../support/agent-fakes.ts";
import { AddFlow, type AddRequest } from "../../src/agent/add-flow.ts";
import { DelFlow } from "../../src/agent/del-flow.ts";
import { PodMemo } from "../../src/agent/flow-deps.ts";
import { addRequest } from "../support/add-request.ts";

const log = pino({ level: "silent" });

function setup() {
  const f = fakeAgent();
  f.pool("v4", "192.0.2.0/24", "192.0.2.10-192.0.2.12", { gateway: "192.0.2.1" });
  return { ...f, add: new AddFlow(f.deps, f.memo), del: new DelFlow(f.deps, f.memo) };
}

const req = (name: string, uid: string, ifName = "eth0"): AddRequest =>
  addRequest(name, uid, { containerID: `c-${name}`, ifName, defaultIPv4IPPool: ["v4"] });

const delReq = (name: string, uid: string) => ({
  containerID: `c-${name}`,
  ifName: "eth0",
  podName: name,
  podNamespace: "default",
  podUid: uid,
});

const sts = (name: string) => ({
  metadata: {
    ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name, uid: `${name}-uid`, controller: true }],
  },
});

describe("ADD flow", () => {
  it("a new stateless pod: one record, an endpoint owned by the pod, the address answered", async () => {
    const f = setup();
    f.pod("default", "web", "u1");
    const out = await f.add.add(req("web", "u1"), log);
    assert.deepEqual(
      out.ips.map((i) => [i.nic, i.address, i.gateway]),
      [["eth0", "192.0.2.10/24", "192.0.2.1"]],
    );
    assert.deepEqual(f.writers.held("u1"), ["192.0.2.10"]);
    const ep = await f.endpoints.get("default", "web");
    assert.equal(ep?.status?.current.uid, "u1");
    assert.equal(ep?.metadata.ownerReferences?.[0]?.uid, "u1");
    assert.deepEqual(ep?.metadata.finalizers, ["spiderpool.spidernet.io"]);
  });

  it("a repeated ADD answers from the endpoint without drawing again", async () => {
    const f = setup();
    f.pod("default", "web", "u1");
    await f.add.add(req("web", "u1"), log);
    const before = f.writers.ops.length;
    const again = await f.add.add(req("web", "u1"), log);
    assert.equal(again.ips[0]?.address, "192.0.2.10/24");
    assert.equal(f.writers.ops.length, before);
  });

  it("a first ADD that meets an endpoint left by an agent restart starts again from it", async () => {
    const f = setup();
    f.pod("default", "web", "u1");
    await f.add.add(req("web", "u1"), log);
    // A new agent process: it has not seen the pod, takes it for new, and the create says "exists".
    const g = new AddFlow(f.deps, new PodMemo());
    const out = await g.add(req("web", "u1"), log);
    assert.equal(out.ips[0]?.address, "192.0.2.10/24");
    assert.deepEqual(f.writers.held("u1"), ["192.0.2.10"]);
  });

  it("the endpoint of a previous pod of the same name is deleted, and the new pod draws afresh", async () => {
    const f = setup();
    f.pod("default", "web", "old");
    await f.add.add(req("web", "old"), log);
    f.pod("default", "web", "new");
    f.memo.known(["new"]);
    const out = await f.add.add(req("web", "new"), log);
    assert.equal(out.ips[0]?.address, "192.0.2.11/24");
    assert.equal((await f.endpoints.get("default", "web"))?.status?.current.uid, "new");
  });

  it("two NICs drawing from the same pool get distinct addresses", async () => {
    const f = setup();
    f.pod("default", "twins", "u1", {
      metadata: {
        annotations: {
          "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["v4"]},{"interface":"net1","ipv4":["v4"]}]',
        },
      },
    });
    const out = await f.add.add(req("twins", "u1"), log);
    assert.deepEqual(
      out.ips.map((i) => [i.nic, i.address]),
      [
        ["eth0", "192.0.2.10/24"],
        ["net1", "192.0.2.11/24"],
      ],
    );
    assert.deepEqual(f.writers.held("u1"), ["192.0.2.10", "192.0.2.11"]);
  });

  it("a dead pod is refused", async () => {
    const f = setup();
    f.pod("default", "done", "u1", { spec: { restartPolicy: "Never" }, status: { phase: "Succeeded" } });
    await assert.rejects(f.add.add(req("done", "u1"), log), { code: "ERR_DEAD_POD" });
  });

  it("AC-58: a re-created StatefulSet pod takes its records and endpoint over", async () => {
    const f = setup();
    f.pod("default", "db-0", "u1", sts("db"));
    await f.add.add(req("db-0", "u1"), log);
    f.pod("default", "db-0", "u2", sts("db"));
    const out = await f.add.add(req("db-0", "u2"), log);
    assert.equal(out.ips[0]?.address, "192.0.2.10/24");
    assert.deepEqual(f.writers.held("u2"), ["192.0.2.10"]);
    const ep = await f.endpoints.get("default", "db-0");
    assert.equal(ep?.status?.current.uid, "u2");
    assert.equal(ep?.metadata.ownerReferences, undefined);
  });

  it("a used-out pool fails the ADD with upstream's message", async () => {
    const f = setup();
    for (const [i, n] of ["a", "b", "c"].entries()) {
      f.pod("default", n, `u${i}`);
      await f.add.add(req(n, `u${i}`), log);
    }
    f.pod("default", "d", "u9");
    await assert.rejects(f.add.add(req("d", "u9"), log), {
      code: "ERR_ALLOCATION_FAILED",
      message:
        "failed to allocate IP addresses in standard mode: failed to allocate any IPv4 IP address to NIC eth0 from IPPools [v4]: all IP addresses used out",
    });
  });
});

describe("DEL flow", () => {
  it("AC-81: a live pod keeps its addresses", async () => {
    const f = setup();
    f.pod("default", "web", "u1");
    await f.add.add(req("web", "u1"), log);
    assert.equal(await f.del.release(delReq("web", "u1"), log), "kept");
    assert.deepEqual(f.writers.held("u1"), ["192.0.2.10"]);
  });

  it("AC-82: a pod that is gone gives its records back and its endpoint goes; twice is fine", async () => {
    const f = setup();
    f.pod("default", "web", "u1");
    await f.add.add(req("web", "u1"), log);
    f.view.podMap.clear();
    assert.equal(await f.del.release(delReq("web", "u1"), log), "released");
    assert.deepEqual(f.writers.held("u1"), []);
    assert.equal(await f.endpoints.get("default", "web"), undefined);
    assert.equal(await f.del.release(delReq("web", "u1"), log), "nothing");
  });

  it("another pod's endpoint of the same name is left alone", async () => {
    const f = setup();
    f.pod("default", "web", "u2");
    await f.add.add(req("web", "u2"), log);
    f.view.podMap.clear();
    assert.equal(await f.del.release(delReq("web", "u1"), log), "nothing");
    assert.deepEqual(f.writers.held("u2"), ["192.0.2.10"]);
  });

  it("a StatefulSet pod still wanted keeps its address; once scaled away it goes", async () => {
    const f = setup();
    f.pod("default", "db-0", "u1", sts("db"));
    await f.add.add(req("db-0", "u1"), log);
    f.view.podMap.clear();
    f.owners.wanted.add("statefulset/default/db/db-0");
    assert.equal(await f.del.release(delReq("db-0", "u1"), log), "kept");
    assert.deepEqual(f.writers.held("u1"), ["192.0.2.10"]);
    f.owners.wanted.clear();
    assert.equal(await f.del.release(delReq("db-0", "u1"), log), "released");
    assert.deepEqual(f.writers.held("u1"), []);
    assert.equal(await f.endpoints.get("default", "db-0"), undefined);
  });
});
