import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { SpiderIPPool } from "../api/ippool.ts";
import { IPRangeSet, parseCIDR } from "../ip/index.ts";
import { parseAllocatedIPs } from "../ipam/pool-state.ts";
import type { KubeClient } from "../kube/client.ts";
import { ApiError } from "../kube/errors.ts";
import { PoolWriter, type WriterDeps } from "./pool-writer.ts";

function pool(rv: number, records: Record<string, { pod: string; podUid: string }>): SpiderIPPool {
  return {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name: "p", uid: "pool-uid", resourceVersion: String(rv), generation: 1 },
    spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"] },
    status: { allocatedIPs: JSON.stringify(records), allocatedIPCount: Object.keys(records).length },
  } as SpiderIPPool;
}

/** Resolves once `cond` holds, checked after each turn of the event loop; fails after 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 5_000;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * The API as the writer uses it: GETs counted, and each status write held until the test
 * answers it, so a test decides which write wins and what the watch shows meanwhile.
 */
function harness(first: SpiderIPPool) {
  let cached: SpiderIPPool | undefined = first;
  let api: SpiderIPPool = first;
  const gets: string[] = [];
  const writes: Array<{ body: SpiderIPPool; text: string; answer: (r: SpiderIPPool | Error) => void }> = [];
  let wrote: (() => void) | undefined;
  const client = {
    get: async () => {
      gets.push("GET");
      return structuredClone(api);
    },
    updateStatusEncoded: (_rt: unknown, _name: string, _ns: unknown, pieces: Buffer[]) =>
      new Promise<SpiderIPPool["metadata"]>((resolve, reject) => {
        const text = Buffer.concat(pieces).toString("utf8");
        const body = JSON.parse(text) as SpiderIPPool;
        writes.push({ body, text, answer: (r) => (r instanceof Error ? reject(r) : resolve(r.metadata)) });
        wrote?.();
      }),
  } as unknown as KubeClient;
  const deps: WriterDeps = {
    client,
    cached: () => cached,
    reserved: (f) => IPRangeSet.empty(f),
    maxRecords: 100,
    maxRetries: 10,
    deadlineMs: 5_000,
    conflictWaitMs: 2_000,
    metrics: { queueDepth: () => {}, batch: () => {}, conflict: () => {} },
    log: pino({ level: "silent" }),
  };
  return {
    deps,
    gets,
    writes,
    /** Resolves once the writer has sent its n-th write. */
    write: (n: number): Promise<void> =>
      new Promise((r) => {
        const check = (): void => {
          if (writes.length >= n) r();
          else wrote = check;
        };
        check();
      }),
    /** Another agent's version reaches the API server. */
    store: (p: SpiderIPPool) => {
      api = p;
    },
    /** ... and the informer's store. */
    cache: (p: SpiderIPPool) => {
      api = p;
      cached = p;
    },
  };
}

const conflict = (): ApiError =>
  new ApiError({ status: 409, reason: "Conflict", message: "the object has been modified", method: "PUT", path: "p" });

const recordsOf = (p: SpiderIPPool): Map<string, { pod: string; podUid: string }> =>
  parseAllocatedIPs(p.status?.allocatedIPs);

const TURNS = { seniority: 0.7, weight: 1, idleGaps: 4, idleFloorMs: 5, idleCeilingMs: 250 };

/**
 * A writer on a clock the test moves (`clock.t`), whose first batch won at the age of
 * `winAgeMs` and whose second batch (b, sent at once) has just lost to version 7: where the
 * tests of turns start.
 */
async function wonThenLost(turns: typeof TURNS, winAgeMs: number) {
  const h = harness(pool(5, {}));
  const clock = { t: 0, now: () => clock.t };
  const w = new PoolWriter("p", { ...h.deps, turns, clock });
  const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
  await h.write(1);
  clock.t = winAgeMs;
  const first = h.writes[0]?.body as SpiderIPPool;
  h.writes[0]?.answer({ ...first, metadata: { ...first.metadata, resourceVersion: "6" } });
  assert.equal((await a).ip, "192.0.2.10");
  const b = w.submit({ kind: "allocate", podUid: "ub", podRef: "ns/b" });
  await h.write(2);
  const v7 = pool(7, { "192.0.2.10": { pod: "ns/a", podUid: "ua" }, "192.0.2.11": { pod: "ns/x", podUid: "ux" } });
  h.cache(v7);
  w.observe(v7);
  h.writes[1]?.answer(conflict());
  await until(() => w.awaitingVersion, "the second batch waiting its turn after its loss");
  return { h, w, clock, b, v7 };
}

describe("PoolWriter writes", () => {
  it("write a big IPv6 pool's totalIPCount (a bigint) exactly, and keep it a bigint in the held pool", async () => {
    const p = pool(5, {});
    p.spec = { subnet: "2001:db8:64::/64", ips: ["2001:db8:64::1-2001:db8:64::ffff:ffff:ffff:fffe"] };
    (p.status as Record<string, unknown>)["totalIPCount"] = 9223372036854775807n;
    const h = harness(p);
    const w = new PoolWriter("p", h.deps);
    const a = w.submit({ kind: "allocate", podUid: "u1", podRef: "ns/a" });
    await h.write(1);
    assert.match(h.writes[0]?.text ?? "", /"totalIPCount":9223372036854775807[,}]/);
    h.writes[0]?.answer({ ...p, metadata: { ...p.metadata, resourceVersion: "6" } });
    assert.equal((await a).ip, "2001:db8:64::1");
    const held = w.held({ uid: "pool-uid", resourceVersion: "6" }) as SpiderIPPool;
    assert.equal((held.status as Record<string, unknown>)["totalIPCount"], 9223372036854775807n);
  });

  it("send the records as JSON any server reads, and hold the version they made without decoding it", async () => {
    const h = harness(pool(5, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } }));
    const w = new PoolWriter("p", h.deps);
    // Text that must be escaped twice, and text outside ASCII, survive the byte-level splice.
    const a = w.submit({ kind: "allocate", podUid: 'u"\\', podRef: "ns/é漢🌐" });
    await h.write(1);
    const body = h.writes[0]?.body as SpiderIPPool;
    assert.deepEqual(
      recordsOf(body),
      new Map([
        ["192.0.2.10", { pod: "ns/x", podUid: "ux" }],
        ["192.0.2.11", { pod: "ns/é漢🌐", podUid: 'u"\\' }],
      ]),
    );
    assert.equal(body.status?.allocatedIPCount, 2);
    assert.equal(body.spec.subnet, "192.0.2.0/24");
    // The watch may bring the write's event before its answer: a newer version waits for it.
    assert.equal(w.held({ uid: "pool-uid", resourceVersion: "5" }), undefined, "the planned-on version is not ours");
    assert.equal(w.held({ uid: "other", resourceVersion: "6" }), undefined);
    const early = w.held({ uid: "pool-uid", resourceVersion: "6" });
    assert.ok(early instanceof Promise);
    h.writes[0]?.answer({ ...body, metadata: { ...body.metadata, resourceVersion: "6" } });
    assert.equal((await a).ip, "192.0.2.11");
    assert.equal((await early)?.metadata.resourceVersion, "6");
    assert.equal(w.held({ uid: "pool-uid", resourceVersion: "5" }), undefined);
    const held = w.held({ uid: "pool-uid", resourceVersion: "6" });
    assert.ok(held !== undefined && !(held instanceof Promise));
    assert.equal(held.metadata.resourceVersion, "6");
    assert.deepEqual(recordsOf(held), recordsOf(body), "the held pool reads as what was written");
    assert.deepEqual(JSON.parse(JSON.stringify(held)), {
      ...body,
      metadata: { ...body.metadata, resourceVersion: "6" },
    });
    // Releasing every record writes a status without allocatedIPs.
    const r1 = w.submit({ kind: "release", podUid: "ux", ips: ["192.0.2.10"] });
    await h.write(2);
    h.writes[1]?.answer({
      ...(h.writes[1]?.body as SpiderIPPool),
      metadata: { ...body.metadata, resourceVersion: "7" },
    });
    await r1;
    const r2 = w.submit({ kind: "release", podUid: 'u"\\', ips: ["192.0.2.11"] });
    await h.write(3);
    const last = h.writes[2]?.body as SpiderIPPool;
    h.writes[2]?.answer({ ...last, metadata: { ...body.metadata, resourceVersion: "8" } });
    assert.deepEqual(await r2, { released: ["192.0.2.11"] });
    assert.equal(last.status?.allocatedIPs, undefined);
    assert.equal(last.status?.allocatedIPCount, 0);
  });
});

describe("PoolWriter after a lost write", () => {
  it("replans on the winner's version from the watch, with no read, and carries the ops queued meanwhile", async () => {
    const h = harness(pool(5, {}));
    const w = new PoolWriter("p", h.deps);
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    // B arrives while A's write is in flight.
    const b = w.submit({ kind: "allocate", podUid: "ub", podRef: "ns/b" });
    // Another agent wins with 192.0.2.10; our write on version 5 loses.
    const winner = pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } });
    h.writes[0]?.answer(conflict());
    await until(() => w.awaitingVersion, "the writer waiting for a newer version");
    assert.equal(h.writes.length, 1, "no second write before a newer version is seen");
    h.cache(winner);
    w.observe(winner);
    await h.write(2);
    const second = h.writes[1]?.body as SpiderIPPool;
    assert.equal(second.metadata.resourceVersion, "6", "planned on the observed version");
    assert.deepEqual(
      recordsOf(second),
      new Map([
        ["192.0.2.10", { pod: "ns/x", podUid: "ux" }],
        ["192.0.2.11", { pod: "ns/a", podUid: "ua" }],
        ["192.0.2.12", { pod: "ns/b", podUid: "ub" }],
      ]),
      "the winner's record kept, A and B in one write",
    );
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    // Each allocation comes with its pool's subnet, as the writer parsed it for the version.
    const subnet = parseCIDR("192.0.2.0/24");
    assert.deepEqual(await a, { ip: "192.0.2.11", reused: false, subnet });
    assert.deepEqual(await b, { ip: "192.0.2.12", reused: false, subnet });
    assert.equal(h.gets.length, 0, "the watch replaced the read after the conflict");
    assert.equal(h.writes.length, 2);
  });

  it("an event that arrives while a write is in flight is held only if the write made it", async () => {
    const h = harness(pool(5, {}));
    const w = new PoolWriter("p", h.deps);
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    // Another agent's version 6 arrives on the watch; ours is still unanswered.
    const foreign = w.held({ uid: "pool-uid", resourceVersion: "6" });
    assert.ok(foreign instanceof Promise);
    h.writes[0]?.answer(conflict());
    assert.equal(await foreign, undefined, "a version our write lost to is decoded, not held");
    const winner = pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } });
    h.cache(winner);
    w.observe(winner);
    await h.write(2);
    const second = h.writes[1]?.body as SpiderIPPool;
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    assert.equal((await a).ip, "192.0.2.11");
  });

  it("reads the pool when no newer version is observed in time", async () => {
    const h = harness(pool(5, {}));
    const w = new PoolWriter("p", { ...h.deps, conflictWaitMs: 30 });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    // The winner's version is in the API only: the watch has stalled.
    h.store(pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } }));
    h.writes[0]?.answer(conflict());
    await h.write(2);
    assert.equal(h.gets.length, 1);
    const second = h.writes[1]?.body as SpiderIPPool;
    assert.equal(second.metadata.resourceVersion, "6");
    assert.equal(recordsOf(second).get("192.0.2.10")?.podUid, "ux");
    assert.equal(recordsOf(second).get("192.0.2.11")?.podUid, "ua");
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    assert.equal((await a).ip, "192.0.2.11");
  });

  it("a batch younger than its writer's batches at a win lets versions go by, and races once old enough", async () => {
    // The first batch won at the age of 1 s: batches younger than 0.7 s now wait their turn.
    const { h, w, clock, b, v7 } = await wonThenLost(TURNS, 1000);
    for (const rv of [8, 9]) {
      clock.t += 1;
      const v = pool(rv, Object.fromEntries(recordsOf(v7)));
      h.cache(v);
      w.observe(v);
      await until(() => w.awaitingVersion, `the batch letting version ${String(rv)} go by`);
      assert.equal(h.writes.length, 2, "no write while younger than its turn");
    }
    clock.t = 1000 + 700;
    const v10 = pool(10, Object.fromEntries(recordsOf(v7)));
    h.cache(v10);
    w.observe(v10);
    await h.write(3);
    const third = h.writes[2]?.body as SpiderIPPool;
    assert.equal(third.metadata.resourceVersion, "10", "planned on the newest version once its turn came");
    h.writes[2]?.answer({ ...third, metadata: { ...third.metadata, resourceVersion: "11" } });
    assert.equal((await b).ip, "192.0.2.12");
    assert.equal(h.gets.length, 0);
  });

  it("a new batch waits its turn while the pool is contended, and never when no one else writes it", async () => {
    // wonThenLost's second batch wrote at once, though far younger than the win: uncontended.
    const { h, w, clock, b, v7 } = await wonThenLost(TURNS, 1000);
    clock.t += 700;
    const v8 = pool(8, Object.fromEntries(recordsOf(v7)));
    h.cache(v8);
    w.observe(v8);
    await h.write(3);
    const third = h.writes[2]?.body as SpiderIPPool;
    h.writes[2]?.answer({ ...third, metadata: { ...third.metadata, resourceVersion: "9" } });
    assert.equal((await b).ip, "192.0.2.12");
    // Contended (a loss within the last second): a new, young batch lets versions go by.
    const c = w.submit({ kind: "allocate", podUid: "uc", podRef: "ns/c" });
    await until(() => w.awaitingVersion, "c waiting its turn before its first write");
    assert.equal(h.writes.length, 3);
    clock.t += 600;
    const v10 = pool(10, Object.fromEntries(recordsOf(third)));
    h.cache(v10);
    w.observe(v10);
    await h.write(4);
    assert.equal(h.writes[3]?.body.metadata.resourceVersion, "10");
    const fourth = h.writes[3]?.body as SpiderIPPool;
    h.writes[3]?.answer({ ...fourth, metadata: { ...fourth.metadata, resourceVersion: "11" } });
    assert.equal((await c).ip, "192.0.2.13");
  });

  it("a young batch races when the pool goes quiet: nobody older is writing", async () => {
    const { h, clock, b } = await wonThenLost({ ...TURNS, idleCeilingMs: 50 }, 10_000);
    // No version comes; once the idle bound has passed on the writer's clock, it races.
    clock.t += 51;
    await h.write(3);
    const third = h.writes[2]?.body as SpiderIPPool;
    assert.equal(third.metadata.resourceVersion, "7");
    h.writes[2]?.answer({ ...third, metadata: { ...third.metadata, resourceVersion: "8" } });
    assert.equal((await b).ip, "192.0.2.12");
  });

  it("logs a losing streak every 25 losses in a row, with where the last attempt spent its time", async () => {
    const h = harness(pool(5, {}));
    const lines: Array<Record<string, unknown>> = [];
    const log = pino(
      { level: "info" },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const w = new PoolWriter("p", { ...h.deps, maxRetries: 100, log });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    for (let n = 1; n <= 25; n++) {
      await h.write(n);
      const v = pool(5 + n, { [`192.0.2.${String(9 + n)}`]: { pod: "ns/x", podUid: `ux${String(n)}` } });
      h.cache(v);
      h.writes[n - 1]?.answer(conflict());
      w.observe(v);
    }
    await h.write(26);
    const streak = lines.filter((l) => l["msg"] === "pool status write keeps losing to other writers");
    assert.equal(streak.length, 1);
    assert.equal(streak[0]?.["losses"], 25);
    assert.equal(typeof streak[0]?.["readPlanMs"], "number");
    assert.equal(typeof streak[0]?.["writeMs"], "number");
    const last = h.writes[25]?.body as SpiderIPPool;
    h.writes[25]?.answer({ ...last, metadata: { ...last.metadata, resourceVersion: "31" } });
    assert.ok((await a).ip);
  });

  it("each op has its own deadline: one that joined a losing batch late is not failed with the oldest", async () => {
    const h = harness(pool(5, {}));
    let now = 0;
    const w = new PoolWriter("p", { ...h.deps, deadlineMs: 5_000, clock: { now: () => now } });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    const aFailed = assert.rejects(a, /exhaust all retries \(1 times\)/);
    await h.write(1);
    now = 4_000;
    const b = w.submit({ kind: "allocate", podUid: "ub", podRef: "ns/b" });
    now = 5_001;
    const v6 = pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } });
    h.cache(v6);
    h.writes[0]?.answer(conflict());
    w.observe(v6);
    await aFailed;
    await h.write(2);
    const second = h.writes[1]?.body as SpiderIPPool;
    assert.deepEqual([...recordsOf(second).keys()].sort(), ["192.0.2.10", "192.0.2.11"]);
    assert.equal(recordsOf(second).get("192.0.2.11")?.podUid, "ub");
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    assert.equal((await b).ip, "192.0.2.11");
  });

  it(
    "an old batch is not deferred: its priority rises with its age, and its age is reported",
    { timeout: 5000 },
    async () => {
      const h = harness(pool(5, {}));
      let now = 1000;
      // The batch has waited 2 s by its first loss: older than any win this writer has seen.
      const w = new PoolWriter("p", { ...h.deps, clock: { now: () => now } });
      const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
      await h.write(1);
      now += 2000;
      assert.equal(w.oldestAgeMs, 2000);
      h.writes[0]?.answer(conflict());
      const v6 = pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } });
      h.cache(v6);
      w.observe(v6);
      await h.write(2);
      assert.equal(
        h.writes[1]?.body.metadata.resourceVersion,
        "6",
        "planned on the first version seen, none let go by",
      );
      const second = h.writes[1]?.body as SpiderIPPool;
      h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
      assert.equal((await a).ip, "192.0.2.11");
      await new Promise((r) => setImmediate(r));
      assert.equal(w.oldestAgeMs, 0, "nothing waits once the batch is written");
    },
  );
});

describe("PoolWriter with bodies read on demand (metadata-only pool watch)", () => {
  it("reads the pool before planning when a version newer than the kept body is known", async () => {
    const h = harness(pool(5, {}));
    // The watch told of version 6 (metadata only); the cache still holds 5.
    h.store(pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } }));
    const w = new PoolWriter("p", { ...h.deps, latest: () => 6 });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    assert.equal(h.gets.length, 1, "one read for the newer version");
    const first = h.writes[0]?.body as SpiderIPPool;
    assert.equal(first.metadata.resourceVersion, "6", "planned on the version read, not the stale body");
    assert.equal(recordsOf(first).get("192.0.2.10")?.podUid, "ux");
    h.writes[0]?.answer({ ...first, metadata: { ...first.metadata, resourceVersion: "7" } });
    assert.equal((await a).ip, "192.0.2.11");
  });

  it("plans on the kept body with no read while no newer version is known", async () => {
    const h = harness(pool(5, {}));
    const w = new PoolWriter("p", { ...h.deps, latest: () => 5 });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    const first = h.writes[0]?.body as SpiderIPPool;
    h.writes[0]?.answer({ ...first, metadata: { ...first.metadata, resourceVersion: "6" } });
    assert.equal((await a).ip, "192.0.2.10");
    // Our own write is the newest version (the watch's latest may lag): the next batch plans
    // on it, still without a read.
    const b = w.submit({ kind: "allocate", podUid: "ub", podRef: "ns/b" });
    await h.write(2);
    assert.equal(h.gets.length, 0, "no read: the cache or our own write was the newest version");
    const second = h.writes[1]?.body as SpiderIPPool;
    assert.equal(second.metadata.resourceVersion, "6");
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    assert.equal((await b).ip, "192.0.2.11");
  });

  it("after a lost write reads the pool at once instead of waiting for the winner's body on the watch", async () => {
    const h = harness(pool(5, {}));
    let newest = 5;
    // A watch that never brings bodies: waiting for one would take the whole minute.
    const w = new PoolWriter("p", { ...h.deps, conflictWaitMs: 60_000, latest: () => newest });
    const a = w.submit({ kind: "allocate", podUid: "ua", podRef: "ns/a" });
    await h.write(1);
    h.store(pool(6, { "192.0.2.10": { pod: "ns/x", podUid: "ux" } }));
    newest = 6;
    h.writes[0]?.answer(conflict());
    await until(() => h.writes.length >= 2, "the second write, planned on a read");
    assert.equal(h.gets.length, 1);
    const second = h.writes[1]?.body as SpiderIPPool;
    assert.equal(second.metadata.resourceVersion, "6");
    assert.equal(recordsOf(second).get("192.0.2.10")?.podUid, "ux", "the winner's record kept");
    h.writes[1]?.answer({ ...second, metadata: { ...second.metadata, resourceVersion: "7" } });
    assert.equal((await a).ip, "192.0.2.11");
  });
});
