// Transient API failures are retried per operation (issue 16): one 500 on a pool status
// write made a third of 100 concurrent ADDs fail with 999. Now one such failure costs a
// retry, and only a spent budget reaches the runtime, as 11 ("try again later").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Resources } from "../../src/kube/index.ts";
import { cni, consistency, createPod, createPool, shimBuilt, startCluster, type Cluster } from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";
const N = 40;

describe("transient API failures on the ADD path", { skip }, () => {
  let c: Cluster;
  const uids = new Map<string, string>();
  before(async () => {
    c = await startCluster({ nodes: 2 });
    await createPool(c.h, "v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.200"], default: true });
    for (let i = 0; i < N + 1; i++) await createPod(c.h, { name: `t-${i}`, node: `node${(i % 2) + 1}` });
    for (const p of (await c.h.client.listAll(Resources.pods, { namespace: "default" })).items)
      uids.set(p.metadata?.name ?? "", p.metadata?.uid ?? "");
  });
  after(() => c.close());

  it("AC-19: one 500 on a pool write fails no ADD of a concurrent batch", async () => {
    c.h.server.injectFault({ verb: "update", resource: "spiderippools", status: 500, message: "injected", count: 1 });
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const node = c.nodes[i % 2];
        return cni({
          command: "ADD",
          socket: node?.socket as string,
          pod: { name: `t-${i}`, uid: uids.get(`t-${i}`) ?? "" },
        });
      }),
    );
    const failed = results.filter((r) => r.code !== 0).map((r) => r.stdout);
    assert.deepEqual(failed, []);
    const ips = results.map((r) => String((r.json?.["ips"] as Array<{ address: string }>)[0]?.address));
    assert.equal(new Set(ips).size, N, "no address twice");
    assert.deepEqual((await consistency(c.h)).problems, []);
  });

  it("a pool write that keeps failing answers 11 once the retries are spent, and nothing is recorded", async () => {
    const name = `t-${N}`;
    c.h.server.injectFault({ verb: "update", resource: "spiderippools", status: 503, message: "down", count: 1000 });
    try {
      const r = await cni({
        command: "ADD",
        socket: c.nodes[0]?.socket as string,
        pod: { name, uid: uids.get(name) ?? "" },
      });
      assert.equal(r.code, 1);
      assert.equal(r.json?.["code"], 11, r.stdout);
      assert.match(String(r.json?.["msg"]), /^spiderpool IP allocation error: .*gave up after 5 attempts/);
    } finally {
      c.h.server.clearFaults();
    }
    const r = await cni({
      command: "ADD",
      socket: c.nodes[0]?.socket as string,
      pod: { name, uid: uids.get(name) ?? "" },
    });
    assert.equal(r.code, 0, r.stdout);
  });
});
