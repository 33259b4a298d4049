// The pod-event GC path handles a traced pod when its stop time comes, not at the next
// poll of the trace database: with the poll set to a minute, deleted pods (no CNI DEL)
// still get their addresses back at once, one alone and a burst of them, and the
// addresses of live pods are kept.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { records } from "../support/cluster.ts";
import { NS, runningPod, testController, writeEndpoint, writeRecord } from "../support/controller.ts";

describe("GC pod-event path timing", () => {
  let h: Harness;
  let c: SpiderpoolController;

  before(async () => {
    h = await startApiServer();
    await h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node1" },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    // Upstream's poll is 5 s; a minute makes a release that waited for it impossible to miss.
    c = testController(h, "ctrl-wake", { SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS: "60000" });
    await c.start();
    await eventually(() => c.isLeader, 5000, "leader");
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "wake-pool" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.60"] },
    });
  });
  after(async () => {
    await c?.stop();
    await h?.close();
  });

  const allocate = async (name: string, ip: string): Promise<void> => {
    const p = await runningPod(h, name, ip);
    await writeRecord(h, "wake-pool", ip, `${NS}/${name}`, String(p.metadata?.uid));
    await writeEndpoint(h, { name, uid: String(p.metadata?.uid), ip, pool: "wake-pool" });
    await eventually(() => c.pods.getByName(name, NS) !== undefined, 5000, `${name} seen`);
  };
  const held = async (): Promise<Record<string, unknown>> =>
    records(await h.client.get<SpiderIPPool>(POOLS, "wake-pool"));

  it("a deleted pod's address is free long before the next poll of the trace database", async () => {
    await allocate("alone", "192.0.2.10");
    await allocate("kept", "192.0.2.11");
    await h.client.delete(Resources.pods, "alone", { namespace: NS });
    await eventually(async () => (await held())["192.0.2.10"] === undefined, 10_000, "released before the poll");
    assert.ok((await held())["192.0.2.11"] !== undefined, "the live pod keeps its address");
  });

  it("a burst of deletions is released together, by the bounded workers", async () => {
    const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${20 + i}`);
    for (const [i, ip] of ips.entries()) await allocate(`burst-${i}`, ip);
    await Promise.all(ips.map((_, i) => h.client.delete(Resources.pods, `burst-${i}`, { namespace: NS })));
    await eventually(
      async () => {
        const r = await held();
        return ips.every((ip) => r[ip] === undefined);
      },
      10_000,
      "all released before the poll",
    );
    assert.ok((await held())["192.0.2.11"] !== undefined, "the live pod keeps its address");
  });
});
