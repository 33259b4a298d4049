// The informer's metadata-only watch (InformerOptions.metadataWatch) against the embedded
// API server: status versions are seen without their bodies, spec changes are read whole.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { Informer, type ObjectMeta } from "../../src/kube/informer.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool } from "../support/cluster.ts";

/** A client on `h` and the reads it made: `reads(name)` counts the GETs of that pool. */
function countingClient(h: Harness): { client: KubeClient; reads: (name: string) => number } {
  const log: string[] = [];
  const client = h.newClient({ onRequest: (r) => log.push(`${r.method} ${r.path}`) });
  return {
    client,
    reads: (name) => log.filter((r) => r.startsWith("GET") && r.endsWith(`/spiderippools/${name}`)).length,
  };
}

describe("Informer with metadataWatch", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer();
  });
  after(async () => {
    await h.close();
  });

  it("keeps the listed body across status writes, reports each version, and reads a changed spec whole", async () => {
    const created = await createPool(h, "meta-watch", {
      subnet: "192.0.2.0/24",
      ips: ["192.0.2.10-192.0.2.20"],
      ipVersion: 4,
    });
    // Counts what the informer reads besides its list and watch.
    const { client, reads } = countingClient(h);
    // No re-read of stale bodies within the test: what is read is what the watch asked for.
    const inf = new Informer<SpiderIPPool>(client, POOLS, { metadataWatch: true, metadataRefreshMs: 600_000 });
    const versions: ObjectMeta[] = [];
    const updates: SpiderIPPool[] = [];
    const deletes: string[] = [];
    inf.onVersion((m) => versions.push(m));
    inf.addHandlers({
      onUpdate: (_o, p) => updates.push(p),
      onDelete: (p) => deletes.push(p.metadata.name ?? ""),
    });
    inf.start();
    try {
      await inf.waitForSync();
      assert.equal(inf.latestVersion("meta-watch"), Number(created.metadata.resourceVersion));

      // A status write: a version is reported, the body stays the listed one, nothing is read.
      const written = await h.client.updateStatus<SpiderIPPool>(POOLS, {
        ...created,
        status: { allocatedIPs: JSON.stringify({ "192.0.2.10": { pod: "ns/a", podUid: "ua" } }), allocatedIPCount: 1 },
      });
      const rv = Number(written.metadata.resourceVersion);
      await eventually(() => inf.latestVersion("meta-watch") === rv, 5000, "the status version seen");
      assert.ok(versions.some((m) => Number(m.resourceVersion) === rv));
      const kept = inf.getByName("meta-watch");
      assert.equal(
        kept?.metadata.resourceVersion,
        created.metadata.resourceVersion,
        "the stored body is the listed one",
      );
      assert.equal(kept?.spec.ips?.[0], "192.0.2.10-192.0.2.20", "with its spec");
      assert.equal(updates.length, 0, "no update handler for a version whose body was not read");
      assert.equal(reads("meta-watch"), 0, "no read of it");

      // A spec change (new generation): read whole, stored, handlers called.
      const changed = await h.client.update<SpiderIPPool>(POOLS, {
        ...written,
        spec: { ...written.spec, ips: ["192.0.2.10-192.0.2.30"] },
      });
      await eventually(
        () => inf.getByName("meta-watch")?.metadata.resourceVersion === changed.metadata.resourceVersion,
        5000,
        "the changed spec stored",
      );
      assert.equal(inf.getByName("meta-watch")?.spec.ips?.[0], "192.0.2.10-192.0.2.30");
      assert.equal(inf.getByName("meta-watch")?.kind, "SpiderIPPool");
      assert.equal(inf.getByName("meta-watch")?.status?.allocatedIPCount, 1, "the body read carries the status too");
      assert.equal(updates.at(-1)?.metadata.resourceVersion, changed.metadata.resourceVersion);
      assert.ok(reads("meta-watch") >= 1, "read");

      await h.client.delete(POOLS, "meta-watch");
      await eventually(() => deletes.includes("meta-watch"), 5000, "the deletion seen");
      assert.equal(inf.getByName("meta-watch"), undefined);
      assert.equal(inf.latestVersion("meta-watch"), undefined);
    } finally {
      await inf.stop();
    }
  });

  it("reads a stale body again after metadataRefreshMs, once for many versions", async () => {
    const created = await createPool(h, "meta-refresh", {
      subnet: "198.51.100.0/24",
      ips: ["198.51.100.10-198.51.100.20"],
      ipVersion: 4,
    });
    const { client, reads } = countingClient(h);
    const inf = new Informer<SpiderIPPool>(client, POOLS, { metadataWatch: true, metadataRefreshMs: 300 });
    const updates: SpiderIPPool[] = [];
    inf.addHandlers({ onUpdate: (_o, p) => updates.push(p) });
    inf.start();
    try {
      await inf.waitForSync();
      let cur = created;
      for (let i = 1; i <= 5; i++) {
        const recs = Object.fromEntries(
          Array.from({ length: i }, (_, k) => [`198.51.100.${10 + k}`, { pod: `ns/p${k}`, podUid: `u${k}` }]),
        );
        cur = await h.client.updateStatus<SpiderIPPool>(POOLS, {
          ...cur,
          status: { allocatedIPs: JSON.stringify(recs), allocatedIPCount: i },
        });
      }
      const last = cur.metadata.resourceVersion;
      await eventually(
        () => inf.getByName("meta-refresh")?.metadata.resourceVersion === last,
        5000,
        "the stale body read again",
      );
      assert.equal(inf.getByName("meta-refresh")?.status?.allocatedIPCount, 5);
      assert.equal(updates.at(-1)?.metadata.resourceVersion, last, "handlers see the body read");
      const gets = reads("meta-refresh");
      assert.ok(gets >= 1 && gets <= 2, `one read per period for five versions, not ${gets}`);
    } finally {
      await inf.stop();
    }
  });

  it("a read that fails is tried again: the event is not lost, and a label change is read too", async () => {
    const inf = new Informer<SpiderIPPool>(h.newClient(), POOLS, {
      metadataWatch: true,
      metadataRefreshMs: 600_000,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    inf.start();
    try {
      await inf.waitForSync();
      // The pool's ADDED event needs a read; the first one fails.
      h.server.injectFault({ verb: "get", resource: "spiderippools", count: 1, status: 500 });
      const created = await createPool(h, "meta-retry", {
        subnet: "203.0.113.0/24",
        ips: ["203.0.113.10-203.0.113.20"],
        ipVersion: 4,
      });
      await eventually(
        () => inf.getByName("meta-retry") !== undefined,
        5000,
        "the new pool stored after a failed read",
      );
      assert.equal(inf.getByName("meta-retry")?.metadata.uid, created.metadata.uid);

      // A label (no new generation) is read: auto-pools are found by their labels.
      const labelled = await h.client.update<SpiderIPPool>(POOLS, {
        ...created,
        metadata: { ...created.metadata, labels: { app: "x" } },
      });
      await eventually(
        () => inf.getByName("meta-retry")?.metadata.labels?.["app"] === "x",
        5000,
        "the label change stored",
      );
      assert.equal(inf.getByName("meta-retry")?.metadata.resourceVersion, labelled.metadata.resourceVersion);
    } finally {
      h.server.clearFaults();
      await inf.stop();
    }
  });
});
