// `spiderpoolctl check` against the embedded API server: each kind of inconsistency a
// test plants is reported precisely, and a consistent cluster exits 0.
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { runCheck } from "../../src/cli/check.ts";
import { ENDPOINTS } from "../../src/controller/controller.ts";
import { Resources, resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { SpiderSubnetKind, type SpiderSubnet } from "../../src/api/subnet.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";

describe("spiderpoolctl check", () => {
  let h: Harness;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "check-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, h.server.kubeconfig());
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function check(): Promise<{ code: number; text: string }> {
    let text = "";
    const out = { write: (s: string) => ((text += s), true) };
    const code = await runCheck(["--kubeconfig", kubeconfig], out);
    return { code, text };
  }

  async function reset(): Promise<void> {
    for (const rt of [POOLS, ENDPOINTS, Resources.pods]) {
      for (const o of (await h.client.listAll(rt)).items) {
        const ns = o.metadata?.namespace as string | undefined;
        if ((o.metadata?.finalizers as string[] | undefined)?.length)
          await h.client.update(rt, { ...o, metadata: { ...o.metadata, finalizers: [] } });
        await h.client.delete(rt, String(o.metadata?.name), ns !== undefined ? { namespace: ns } : {});
      }
    }
  }
  beforeEach(reset);

  async function pool(name: string, recs: Record<string, [string, string]>, count?: number): Promise<void> {
    const p = await h.client.create<SpiderIPPool>(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], ipVersion: 4 },
    } as SpiderIPPool);
    const allocated = Object.fromEntries(Object.entries(recs).map(([ip, [pod, podUid]]) => [ip, { pod, podUid }]));
    await h.client.updateStatus(POOLS, {
      ...p,
      status: { allocatedIPs: JSON.stringify(allocated), allocatedIPCount: count ?? Object.keys(recs).length },
    });
  }
  async function pod(name: string): Promise<string> {
    const p: KubeObject = await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { containers: [{ name: "c", image: "pause" }] },
    });
    return String(p.metadata?.uid);
  }
  async function endpoint(name: string, uid: string, ip: string, poolName: string): Promise<void> {
    await h.client.create(ENDPOINTS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderEndpoint",
      metadata: { name, namespace: "default" },
      status: {
        current: { uid, node: "n1", ips: [{ interface: "eth0", ipv4: `${ip}/24`, ipv4Pool: poolName }] },
        ownerControllerType: "Pod",
        ownerControllerName: name,
      },
    });
  }

  it("a consistent cluster exits 0", async () => {
    const uid = await pod("a");
    await pool("p1", { "192.0.2.10": ["default/a", uid] });
    await endpoint("a", uid, "192.0.2.10", "p1");
    const r = await check();
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /^consistent: 1 pools, 1 records, 1 endpoints, 1 pods/);
  });

  it("a record whose pod does not exist", async () => {
    await pool("p1", { "192.0.2.10": ["default/ghost", "u-ghost"] });
    const r = await check();
    assert.equal(r.code, 1);
    assert.match(r.text, /pool p1: 192\.0\.2\.10 \(default\/ghost, uid u-ghost\): no such pod/);
  });

  it("a record whose pod has another UID", async () => {
    const uid = await pod("a");
    await pool("p1", { "192.0.2.10": ["default/a", "old-uid"] });
    await endpoint("a", "old-uid", "192.0.2.10", "p1");
    const r = await check();
    assert.match(r.text, new RegExp(`pool p1: 192\\.0\\.2\\.10 \\(default/a, uid old-uid\\): pod has uid ${uid}`));
  });

  it("one address recorded by two pools of the same subnet", async () => {
    const uid = await pod("a");
    const uid2 = await pod("b");
    await pool("p1", { "192.0.2.10": ["default/a", uid] });
    await pool("p2", { "192.0.2.10": ["default/b", uid2] });
    const r = await check();
    assert.match(r.text, /pool p2: 192\.0\.2\.10 \(default\/b, uid [^)]+\): address also recorded by p1:default\/a/);
  });

  it("a pod UID twice in one pool, and a count that does not match the records", async () => {
    const uid = await pod("a");
    await pool("p1", { "192.0.2.10": ["default/a", uid], "192.0.2.11": ["default/a", uid] }, 5);
    const r = await check();
    assert.match(r.text, /pool p1: allocatedIPCount 5 but 2 records/);
    assert.match(r.text, /pod UID also holds 192\.0\.2\.10 in this pool/);
  });

  it("an endpoint address the pool does not record (it could be handed out again)", async () => {
    const uid = await pod("a");
    await pool("p1", {});
    await endpoint("a", uid, "192.0.2.12", "p1");
    const r = await check();
    assert.equal(r.code, 1);
    assert.match(r.text, /endpoint default\/a: eth0 192\.0\.2\.12 from pool p1: not recorded in the pool/);
  });

  it("a subnet entry that disagrees with its pool, overlapping entries, and a wrong count", async () => {
    await pool("p1", {});
    const SUBNETS = resourceTypeOf(SpiderSubnetKind);
    const sub = await h.client.create<SpiderSubnet>(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s1" },
      spec: { subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.1-192.0.2.100"] },
    } as SpiderSubnet);
    await h.client.updateStatus(SUBNETS, {
      ...sub,
      status: {
        controlledIPPools: JSON.stringify({ p1: { ips: ["192.0.2.10-192.0.2.15"] }, gone: { ips: ["192.0.2.12"] } }),
        allocatedIPCount: 3,
      },
    });
    const r = await check();
    assert.equal(r.code, 1);
    assert.match(
      r.text,
      /subnet s1: entry p1 is \["192\.0\.2\.10-192\.0\.2\.15"\] but the pool has \["192\.0\.2\.10-192\.0\.2\.20"\]/,
    );
    assert.match(r.text, /subnet s1: entry gone overlaps another entry in \["192\.0\.2\.12"\]/);
    assert.match(r.text, /subnet s1: entry gone names no existing pool/);
    assert.match(r.text, /subnet s1: allocatedIPCount 3 but its entries hold 7 addresses/);
    await h.client.delete(SUBNETS, "s1");
  });
});
