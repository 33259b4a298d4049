// `spiderpoolctl explain` and the agent's `GET /v1/explain` against the embedded API server:
// for a pod that fails and one that succeeds, both say what the agent's ADD then does —
// the same error text, the same address — and the two answers agree.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { runExplain } from "../../src/cli/explain.ts";
import type { Explanation } from "../../src/ipam/explain.ts";
import { createPod, createPool, startCluster, type Cluster } from "../support/cluster.ts";
import { addRequest } from "../support/add-request.ts";

function agentExplain(socket: string, ns: string, name: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, path: `/v1/explain?podNamespace=${ns}&podName=${name}`, method: "GET" },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("explain against the embedded API server", () => {
  let c: Cluster;
  let dir: string;
  let kubeconfig: string;
  const silent = pino({ level: "silent" });

  before(async () => {
    c = await startCluster({ nodes: 1 });
    dir = mkdtempSync(join(tmpdir(), "explain-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, c.h.server.kubeconfig());
    await createPool(c.h, "here", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.11"], nodeName: ["node1"] });
    await createPool(c.h, "elsewhere", { subnet: "198.51.100.0/24", ips: ["198.51.100.10"], nodeName: ["node2"] });
  });
  after(async () => {
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ctl(pod: string): Promise<{ code: number; text: string; json: Explanation }> {
    let text = "";
    const out = { write: (s: string) => ((text += s), true) };
    const code = await runExplain([pod, "--kubeconfig", kubeconfig], out);
    let json = "";
    await runExplain([pod, "--kubeconfig", kubeconfig, "-o", "json"], { write: (s: string) => ((json += s), true) });
    return { code, text, json: JSON.parse(json) as Explanation };
  }

  async function add(name: string, uid: string): Promise<{ ip?: string; error?: string }> {
    const req = addRequest(name, uid, { netns: `/var/run/netns/${name}` });
    try {
      const r = await c.nodes[0]!.agent.service.allocate(req, silent);
      return { ip: r.ips[0]?.address.split("/")[0] as string };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  async function waitForPod(name: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while ((await c.nodes[0]!.agent.cache.getPod("default", name)) === undefined) {
      if (Date.now() > deadline) throw new Error(`the agent's cache never saw ${name}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  it("a pod whose only pool serves another node: the filter's words, the fix, and the ADD's own error", async () => {
    const pod = await createPod(c.h, {
      name: "stuck",
      node: "node1",
      phase: "Pending",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["elsewhere"]}' },
    });
    await waitForPod("stuck");
    const r = await ctl("default/stuck");
    assert.equal(r.code, 1);
    assert.match(r.text, /✗ elsewhere: removed: unmatched Node name of IPPool elsewhere/);
    assert.match(r.text, /fix first: add node node1 to spec.nodeName of IPPool elsewhere/);
    const api = await agentExplain(c.nodes[0]!.socket, "default", "stuck");
    assert.equal(api.status, 200);
    assert.deepEqual(api.body, r.json);
    const done = await add("stuck", String(pod.metadata?.uid));
    assert.equal(done.error, r.json.error);
  });

  it("a pod that gets its address: the address explain named, then held", async () => {
    const pod = await createPod(c.h, {
      name: "fine",
      node: "node1",
      phase: "Pending",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["here"]}' },
    });
    await waitForPod("fine");
    const before = await ctl("default/fine");
    assert.equal(before.code, 0, before.text);
    assert.match(before.text, /✓ #1 here: kept, would get 192.0.2.10/);
    const api = await agentExplain(c.nodes[0]!.socket, "default", "fine");
    assert.deepEqual(api.body, before.json);
    const done = await add("fine", String(pod.metadata?.uid));
    assert.equal(done.ip, before.json.nics[0]?.families[0]?.address);
    const afterAdd = await ctl("default/fine");
    assert.match(afterAdd.text, /✓ #1 here: kept, holds 192.0.2.10/);
  });

  it("a pod the agent does not know answers 404; the CLI says not found", async () => {
    const api = await agentExplain(c.nodes[0]!.socket, "default", "ghost");
    assert.equal(api.status, 404);
    assert.equal(await runExplain(["default/ghost", "--kubeconfig", kubeconfig], { write: () => true }), 1);
  });
});
