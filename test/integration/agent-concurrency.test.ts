// Many agents, one pool of exactly N addresses, N pods at once: every pod gets an address, no
// address twice, the consistency check passes, and after every DEL the pool is empty.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { Resources } from "../../src/kube/index.ts";
import { cni, consistency, createPod, createPool, records, shimBuilt, startCluster } from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";
const AGENTS = 20;
const N = 500;
const PER_NODE_CONCURRENCY = 5;

/** Runs `work` over items with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        await work(items[i] as T);
      }
    }),
  );
}

describe(`${AGENTS} agents allocating from one pool of exactly ${N} addresses`, { skip }, () => {
  it(`every one of ${N} pods gets a distinct address; all DELs empty the pool`, { timeout: 300_000 }, async () => {
    const c = await startCluster({ nodes: AGENTS });
    try {
      // 198.51.100.0/23 holds 512 addresses; exactly N of them are allocatable.
      await createPool(c.h, "shared", {
        subnet: "198.51.100.0/23",
        ips: ["198.51.100.0-198.51.101.255"],
        excludeIPs: [`198.51.101.${256 - (512 - N)}-198.51.101.255`],
        default: true,
      });
      const pods = Array.from({ length: N }, (_, i) => ({ name: `pod-${i}`, node: `node${(i % AGENTS) + 1}` }));
      await pool(pods, 20, async (p) => {
        await createPod(c.h, p);
      });
      const uids = new Map<string, string>();
      for (const p of (await c.h.client.listAll(Resources.pods, { namespace: "default" })).items)
        uids.set(p.metadata?.name ?? "", p.metadata?.uid ?? "");

      const byNode = new Map<string, typeof pods>();
      for (const p of pods) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p]);
      const got = new Map<string, string>();
      const t0 = performance.now();
      let done = 0;
      await Promise.all(
        c.nodes.map((n) =>
          pool(byNode.get(n.name) ?? [], PER_NODE_CONCURRENCY, async (p) => {
            const r = await cni({
              command: "ADD",
              socket: n.socket,
              pod: { name: p.name, uid: uids.get(p.name) as string },
            });
            assert.equal(r.code, 0, `${p.name}: ${r.stdout}`);
            got.set(p.name, String((r.json?.["ips"] as Array<{ address: string }>)[0]?.address));
            done++;
            if (done % 100 === 0) process.stdout.write(`# ${done}/${N} ADDs done\n`);
          }),
        ),
      );
      const addSeconds = (performance.now() - t0) / 1000;
      assert.equal(got.size, N);
      assert.equal(new Set(got.values()).size, N, "no address handed out twice");
      const shared = await c.h.client.get<SpiderIPPool>(POOLS, "shared");
      assert.equal(Object.keys(records(shared)).length, N);
      assert.equal(shared.status?.allocatedIPCount, N);
      assert.deepEqual((await consistency(c.h)).problems, []);
      process.stdout.write(`# ${N} ADDs over ${AGENTS} agents in ${addSeconds.toFixed(1)} s\n`);

      // Release: pods are deleted first (DEL keeps a live pod's address), then every DEL.
      await pool(pods, 20, async (p) => {
        await c.h.client.delete(Resources.pods, p.name, { namespace: "default" });
      });
      await Promise.all(
        c.nodes.map((n) =>
          pool(byNode.get(n.name) ?? [], PER_NODE_CONCURRENCY, async (p) => {
            const r = await cni({
              command: "DEL",
              socket: n.socket,
              pod: { name: p.name, uid: uids.get(p.name) as string },
            });
            assert.equal(r.code, 0, r.stdout);
          }),
        ),
      );
      const after = await c.h.client.get<SpiderIPPool>(POOLS, "shared");
      assert.deepEqual(records(after), {});
      assert.equal(after.status?.allocatedIPCount ?? 0, 0);
      assert.deepEqual((await consistency(c.h)).problems, []);
    } finally {
      await c.close();
    }
  });
});
