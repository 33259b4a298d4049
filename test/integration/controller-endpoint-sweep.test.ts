// AC-84: with enableCleanOutdatedEndpoint, the GC scan deletes endpoints whose addresses
// no pool records any more, and keeps the ones a record still refers to.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ENDPOINTS, type SpiderpoolController } from "../../src/controller/controller.ts";
import { ApiError } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { NS, runningPod, testController, writeEndpoint, writeRecord } from "../support/controller.ts";

describe("outdated endpoint sweep", () => {
  let h: Harness;
  let c: SpiderpoolController;
  let dir: string;

  before(async () => {
    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "sweep-"));
    const conf = join(dir, "conf.yml");
    writeFileSync(conf, "enableCleanOutdatedEndpoint: true\n");
    c = testController(h, "ctrl", {}, conf);
    await c.start();
    await eventually(() => c.isLeader, 5000, "leader");
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "sweep-pool" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"] },
    });
  });
  after(async () => {
    await c?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("AC-84: an endpoint no record refers to is deleted; one with its record is kept", async () => {
    const live = await runningPod(h, "live", "192.0.2.10");
    const uid = String(live.metadata?.uid);
    await writeRecord(h, "sweep-pool", "192.0.2.10", `${NS}/live`, uid);
    await writeEndpoint(h, { name: "live", uid, ip: "192.0.2.10", pool: "sweep-pool" });
    const stale = await runningPod(h, "stale", "192.0.2.11");
    await writeEndpoint(h, { name: "stale", uid: String(stale.metadata?.uid), ip: "192.0.2.11", pool: "sweep-pool" });
    await eventually(() => c.endpoints.size === 2, 5000, "endpoints in the cache");
    const sum = await c.gc.scanAll();
    assert.equal(sum.endpointsDeleted, 1);
    await assert.rejects(
      h.client.get(ENDPOINTS, "stale", NS),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    );
    assert.ok(await h.client.get(ENDPOINTS, "live", NS), "the endpoint with a record stays");
  });
});
