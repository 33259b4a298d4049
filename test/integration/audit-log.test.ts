// The controller's audit log end to end on the embedded API server: with SPIDERPOOL_TS_AUDIT_LOG
// set, the allocations, releases and GC reclaims the controller sees become lines, and once
// the Events are gone (expired) `spiderpoolctl history --audit FILE` still tells the
// timeline the Events told.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { runHistory } from "../../src/cli/history.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import type { Cluster } from "../support/cluster.ts";
import { historyFixture, type HistoryFixture } from "../support/history-fixture.ts";
import { testController } from "../support/controller.ts";
import { until as untilHolds } from "../support/wait.ts";
import { addRequestFor } from "../support/add-request.ts";

describe("audit log: history that outlives the Events", () => {
  let f: HistoryFixture;
  let c: Cluster;
  let ctrl: SpiderpoolController | undefined;
  let dir: string;
  let kubeconfig: string;
  let auditFile: string;
  let pod: (name: string) => Promise<KubeObject>;
  const silent = pino({ level: "silent" });

  before(async () => {
    f = await historyFixture("audit-it-");
    ({ c, dir, kubeconfig, pod } = f);
    auditFile = join(dir, "audit.jsonl");
  });
  after(async () => {
    await ctrl?.stop();
    await f?.close();
  });

  const req = (pod: KubeObject) => addRequestFor(pod);
  const agent = () => c.nodes[0]!.agent;

  const until = (cond: () => Promise<boolean> | boolean, what: string): Promise<void> =>
    untilHolds(cond, what, { timeoutMs: 15_000, intervalMs: 20, detail: () => `the audit log:\n${auditText()}` });

  async function rows(arg: string, ...extra: string[]): Promise<string[][]> {
    let text = "";
    assert.equal(
      await runHistory([arg, "--kubeconfig", kubeconfig, ...extra], { write: (s: string) => (text += s) }),
      0,
    );
    return text
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s{2,}/).slice(1, 3));
  }

  const auditText = (): string => {
    try {
      return readFileSync(auditFile, "utf8");
    } catch {
      return "";
    }
  };

  it("allocate, release, allocate again, GC-reclaim: the audit replays the Events' timeline", async () => {
    // First a controller whose GC is off, so that a's address goes back by the DEL alone (with
    // the GC on, its reclaim of the deleted pod races the DEL); then, on the same file, one
    // with the GC on: a restart continues the log.
    ctrl = testController(c.h, "audit1", { SPIDERPOOL_TS_AUDIT_LOG: auditFile, SPIDERPOOL_GC_IP_ENABLED: "false" });
    await ctrl.start();
    const a = await pod("a");
    assert.equal((await agent().service.allocate(req(a), silent)).ips[0]?.address, "192.0.2.10/24");
    await c.h.client.delete(Resources.pods, "a", { namespace: "default" });
    assert.equal(await agent().service.release(req(a), silent), "released");
    await until(() => auditText().includes('"action":"release"'), "a's release line");
    const b = await pod("b");
    assert.equal((await agent().service.allocate(req(b), silent)).ips[0]?.address, "192.0.2.10/24");
    await until(() => auditText().split("\n").length === 4, "b's allocation line");
    await ctrl.stop();
    ctrl = testController(c.h, "audit2", { SPIDERPOOL_TS_AUDIT_LOG: auditFile });
    await ctrl.start();
    await until(() => ctrl?.isLeader === true, "leadership");
    const d = await pod("d");
    assert.equal((await agent().service.allocate(req(d), silent)).ips[0]?.address, "192.0.2.11/24");
    // d's node never sends the DEL: the GC reclaims its address.
    await c.h.client.delete(Resources.pods, "d", { namespace: "default" });
    await until(() => auditText().includes('"action":"reclaim"'), "the reclaim line");
    await until(async () => (await rows("192.0.2.11")).some((r) => r[0] === "reclaimed"), "the IPReclaimed Event");
    await until(
      async () => (await rows("192.0.2.10")).some((r) => r[1] === "default/b" && r[0] === "allocated"),
      "b's IPAllocated Event",
    );

    const queries = ["192.0.2.10", "192.0.2.11", "default/a", "default/d", "web"];
    const fromEvents = new Map<string, string[][]>();
    for (const q of queries) fromEvents.set(q, await rows(q));
    assert.deepEqual(fromEvents.get("192.0.2.10"), [
      ["allocated", "default/a"],
      ["released", "default/a"],
      ["allocated", "default/b"],
      ["holds now", "default/b"],
    ]);
    // Both sources: each change once.
    for (const q of queries) assert.deepEqual(await rows(q, "--audit", auditFile), fromEvents.get(q), q);

    // The Events expire.
    const events = await c.h.client.list<KubeObject>(Resources.events, { namespace: "default" });
    for (const e of events.items)
      await c.h.client.delete(Resources.events, String(e.metadata?.name), { namespace: "default" });
    assert.deepEqual(await rows("192.0.2.10"), [["holds now", "default/b"]]);
    for (const q of queries) assert.deepEqual(await rows(q, "--audit", auditFile), fromEvents.get(q), q);
  });
});
