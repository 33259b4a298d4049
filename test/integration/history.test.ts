// Address history end to end on the embedded API server: an agent's ADD and DEL record
// IPAllocated/IPReleased on the pod, the controller's GC records IPReclaimed, and
// `spiderpoolctl history` puts them with the current holder into one ordered timeline.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { runHistory } from "../../src/cli/history.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { createPod, createStatefulSet, type Cluster } from "../support/cluster.ts";
import { historyFixture, WEB_ANNOTATIONS, type HistoryFixture } from "../support/history-fixture.ts";
import { testController } from "../support/controller.ts";
import { until as untilHolds } from "../support/wait.ts";
import { addRequestFor } from "../support/add-request.ts";

describe("address history: Events on the pod and spiderpoolctl history", () => {
  let f: HistoryFixture;
  let c: Cluster;
  let ctrl: SpiderpoolController;
  let kubeconfig: string;
  let pod: (name: string) => Promise<KubeObject>;
  const silent = pino({ level: "silent" });

  before(async () => {
    f = await historyFixture("history-");
    ({ c, kubeconfig, pod } = f);
  });
  after(async () => {
    await ctrl?.stop();
    await f?.close();
  });

  const req = (pod: KubeObject) => addRequestFor(pod);
  const agent = () => c.nodes[0]!.agent;

  async function history(arg: string): Promise<string> {
    let text = "";
    assert.equal(await runHistory([arg, "--kubeconfig", kubeconfig], { write: (s: string) => (text += s) }), 0);
    return text;
  }

  async function historyJson(arg: string): Promise<string> {
    let text = "";
    await runHistory([arg, "--kubeconfig", kubeconfig, "-o", "json"], { write: (s: string) => (text += s) });
    return text;
  }

  const until = (cond: () => Promise<boolean>, what: string): Promise<void> =>
    untilHolds(cond, what, { timeoutMs: 10_000, intervalMs: 20 });

  it("allocate, release, allocate again, GC-reclaim: complete and ordered", async () => {
    const a = await pod("a");
    assert.equal((await agent().service.allocate(req(a), silent)).ips[0]?.address, "192.0.2.10/24");
    // The kubelet's DEL of a deleted pod releases its address.
    await c.h.client.delete(Resources.pods, "a", { namespace: "default" });
    assert.equal(await agent().service.release(req(a), silent), "released");
    const b = await pod("b");
    assert.equal((await agent().service.allocate(req(b), silent)).ips[0]?.address, "192.0.2.10/24");
    const d = await pod("d");
    assert.equal((await agent().service.allocate(req(d), silent)).ips[0]?.address, "192.0.2.11/24");
    // d's node never sends the DEL: the controller's GC reclaims the address. (It starts
    // only now, so that a's address went back by the DEL alone.)
    ctrl = testController(c.h, "hist");
    await ctrl.start();
    await c.h.client.delete(Resources.pods, "d", { namespace: "default" });
    await until(async () => (await history("192.0.2.11")).includes("reclaimed"), "the IPReclaimed Event");
    await until(async () => (await history("192.0.2.10")).includes("default/b"), "b's IPAllocated Event");

    const rows = (await history("192.0.2.10"))
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s{2,}/).slice(1, 3));
    assert.deepEqual(rows, [
      ["allocated", "default/a"],
      ["released", "default/a"],
      ["allocated", "default/b"],
      ["holds now", "default/b"],
    ]);
    const gc = await history("192.0.2.11");
    assert.match(gc, /allocated\s+default\/d\s+eth0 192\.0\.2\.11\/24 from SpiderIPPool web/);
    assert.match(gc, /reclaimed\s+default\/d\s+- 192\.0\.2\.11 from SpiderIPPool web; reclaimed by GC: \w+/);
    assert.doesNotMatch(gc, /holds now/);
    const byPod = await history("default/a");
    assert.match(byPod, /allocated[\s\S]*released/);
  });

  it("a StatefulSet pod re-created: its address stays, and both pods' allocations are in its history", async () => {
    const owner = await createStatefulSet(c.h, "db");
    const first = await createPod(c.h, {
      name: "db-0",
      node: "node1",
      phase: "Pending",
      annotations: WEB_ANNOTATIONS,
      owner,
    });
    await until(
      async () => (await agent().cache.getPod("default", "db-0"))?.metadata.uid === first.metadata?.uid,
      "db-0",
    );
    const ip = (await agent().service.allocate(req(first), silent)).ips[0]?.address.split("/")[0] ?? "";
    await c.h.client.delete(Resources.pods, "db-0", { namespace: "default" });
    // The StatefulSet still wants db-0: the DEL keeps its address for the next db-0.
    assert.equal(await agent().service.release(req(first), silent), "kept");
    const second = await createPod(c.h, {
      name: "db-0",
      node: "node1",
      phase: "Pending",
      annotations: WEB_ANNOTATIONS,
      owner,
    });
    await until(
      async () => (await agent().cache.getPod("default", "db-0"))?.metadata.uid === second.metadata?.uid,
      "the new db-0",
    );
    assert.equal((await agent().service.allocate(req(second), silent)).ips[0]?.address.split("/")[0], ip);
    await until(async () => ((await history("default/db-0")).match(/allocated/g) ?? []).length === 2, "both Events");
    const rows = (await history(ip))
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((l) => l.split(/\s{2,}/).slice(1, 3));
    // The address was d's before (reclaimed by the GC in the test above), then each db-0's.
    assert.deepEqual(rows, [
      ["allocated", "default/d"],
      ["reclaimed", "default/d"],
      ["allocated", "default/db-0"],
      ["allocated", "default/db-0"],
      ["holds now", "default/db-0"],
    ]);
    const json = JSON.parse(await historyJson("default/db-0")) as { entries: Array<{ podUid: string }> };
    assert.deepEqual(
      json.entries.map((e) => e.podUid),
      [first.metadata?.uid, second.metadata?.uid, second.metadata?.uid],
    );
  });
});
