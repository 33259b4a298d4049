// AC-49: an IPv6 pool of more than 2^63 addresses has totalIPCount 9223372036854775807
// exactly (the controller caps at int64), through the client, the embedded API server, its
// watches and patches, kubectl and spiderpoolctl check. Records and endpoints are written
// the way the agent writes them, one per replica of a 2-replica Deployment.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderSubnet } from "../../src/api/subnet.ts";
import { runCheck } from "../../src/cli/check.ts";
import { ENDPOINTS, SpiderpoolController, SUBNETS } from "../../src/controller/controller.ts";
import { reconcilePool } from "../../src/controller/pool-status.ts";
import { reconcileSubnet } from "../../src/controller/subnet-status.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { NS, runningPod, testController, writeRecord } from "../support/controller.ts";

const MAX = "9223372036854775807";
const KUBECTL = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));

describe("AC-49: totalIPCount beyond 2^53 is exact", () => {
  let h: Harness;
  let ctrl: SpiderpoolController;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    h = await startApiServer();
    await h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node1" },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    ctrl = testController(h, "ctrl-int64");
    await ctrl.start();
    dir = mkdtempSync(join(tmpdir(), "int64-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, h.server.kubeconfig());
  });
  after(async () => {
    await ctrl?.stop();
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** The object as the API server writes it on the wire. */
  const raw = async (path: string): Promise<string> => (await fetch(`${h.url}${path}`)).text();
  const poolPath = "/apis/spiderpool.spidernet.io/v2beta1/spiderippools/ac49";

  it("AC-49: a v6 pool fd12:3456:789a:baba::1-…:ffff, 16 excluded, then a 2-replica Deployment", async () => {
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "ac49" },
      spec: {
        subnet: "fd12:3456:789a::/48",
        ips: ["fd12:3456:789a:baba::1-fd12:3456:789a:ffff:ffff:ffff:ffff:ffff"],
        excludeIPs: ["fd12:3456:789a:baba::1-fd12:3456:789a:baba::10"],
      },
    });
    await eventually(
      async () => (await h.client.get<SpiderIPPool>(POOLS, "ac49")).status?.totalIPCount !== undefined,
      5000,
      "the controller to set totalIPCount",
    );
    assert.equal((await h.client.get<SpiderIPPool>(POOLS, "ac49")).status?.totalIPCount, BigInt(MAX));
    assert.match(await raw(poolPath), new RegExp(`"totalIPCount":${MAX}[,}]`));

    // Two replicas: each a running pod, its record in the pool and its endpoint.
    for (const [i, name] of ["web-0", "web-1"].entries()) {
      const ip = `fd12:3456:789a:baba::${(0x11 + i).toString(16)}`;
      const p = await runningPod(h, name, ip);
      const uid = String(p.metadata?.uid);
      await writeRecord(h, "ac49", ip, `${NS}/${name}`, uid);
      await h.client.create<SpiderEndpoint>(ENDPOINTS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderEndpoint",
        metadata: {
          name,
          namespace: NS,
          finalizers: ["spiderpool.spidernet.io"],
          ownerReferences: [{ apiVersion: "v1", kind: "Pod", name, uid, controller: true, blockOwnerDeletion: true }],
        },
        status: {
          current: { uid, node: "node1", ips: [{ interface: "eth0", ipv6: `${ip}/48`, ipv6Pool: "ac49" }] },
          ownerControllerType: "Pod",
          ownerControllerName: name,
        },
      });
    }
    const p = await h.client.get<SpiderIPPool>(POOLS, "ac49");
    assert.equal(p.status?.allocatedIPCount, 2);
    assert.equal(p.status?.totalIPCount, BigInt(MAX), "the agent's status write kept it");
    assert.match(await raw(poolPath), new RegExp(`"totalIPCount":${MAX},"allocatedIPCount":2[,}]`));

    // The controller sees its own value on the watch and writes nothing more.
    await eventually(() => ctrl.pools.getByName("ac49")?.status?.allocatedIPCount === 2, 5000, "the informer");
    assert.equal(ctrl.pools.getByName("ac49")?.status?.totalIPCount, BigInt(MAX));
    // Once it holds the server's version, its planner must find nothing to write.
    const rv = (await h.client.get<SpiderIPPool>(POOLS, "ac49")).metadata.resourceVersion;
    await eventually(() => ctrl.pools.getByName("ac49")?.metadata.resourceVersion === rv, 5000, "the version seen");
    assert.equal(reconcilePool(ctrl.pools.getByName("ac49")!).kind, "none", "no status loop");
    assert.equal((await h.client.get<SpiderIPPool>(POOLS, "ac49")).metadata.resourceVersion, rv, "no status loop");

    let text = "";
    const code = await runCheck(["--kubeconfig", kubeconfig], { write: (s: string) => (text += s) });
    assert.equal(code, 0, text);
    assert.match(text, /^consistent: 1 pools, 2 records, 2 endpoints, 2 pods/);
  });

  it("AC-49: merge, strategic and JSON patches keep the exact value, and a JSON patch can test it", async () => {
    const patch = async (type: string, body: string, sub = ""): Promise<string> => {
      const res = await fetch(`${h.url}${poolPath}${sub}`, {
        method: "PATCH",
        headers: { "content-type": type },
        body,
      });
      const t = await res.text();
      assert.equal(res.status, 200, t);
      return t;
    };
    const kept = new RegExp(`"totalIPCount":${MAX}[,}]`);
    assert.match(await patch("application/merge-patch+json", '{"metadata":{"labels":{"a":"1"}}}'), kept);
    assert.match(await patch("application/strategic-merge-patch+json", '{"metadata":{"labels":{"b":"2"}}}'), kept);
    assert.match(
      await patch(
        "application/json-patch+json",
        `[{"op":"test","path":"/status/totalIPCount","value":${MAX}},{"op":"add","path":"/metadata/labels/c","value":"3"}]`,
      ),
      kept,
    );
    const res = await fetch(`${h.url}${poolPath}`, {
      method: "PATCH",
      headers: { "content-type": "application/json-patch+json" },
      // 2^63 as a double is 9223372036854775808: not the stored value.
      body: '[{"op":"test","path":"/status/totalIPCount","value":9223372036854775808}]',
    });
    assert.notEqual(res.status, 200, await res.text());
    // A status write of the exact value through the status subresource.
    assert.match(await patch("application/merge-patch+json", `{"status":{"totalIPCount":${MAX}}}`, "/status"), kept);
  });

  it("AC-49: a watch carries it exactly", async () => {
    const ac = new AbortController();
    const res = await fetch(
      `${h.url}/apis/spiderpool.spidernet.io/v2beta1/spiderippools?watch=true&fieldSelector=metadata.name%3Dac49`,
      { signal: ac.signal },
    );
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    ac.abort();
    assert.match(new TextDecoder().decode(value), new RegExp(`"totalIPCount":${MAX}[,}]`));
  });

  it("AC-49: a SpiderSubnet of more than 2^63 addresses has totalIPCount 9223372036854775807", async () => {
    await h.client.create(SUBNETS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "ac49-subnet" },
      spec: { subnet: "fd12:3456:789b::/48", ips: ["fd12:3456:789b:baba::1-fd12:3456:789b:ffff:ffff:ffff:ffff:ffff"] },
    });
    await eventually(
      async () => (await h.client.get<SpiderSubnet>(SUBNETS, "ac49-subnet")).status?.totalIPCount !== undefined,
      5000,
      "the controller to set the subnet's totalIPCount",
    );
    const s = await h.client.get<SpiderSubnet>(SUBNETS, "ac49-subnet");
    assert.equal(s.status?.totalIPCount, BigInt(MAX));
    assert.equal(s.status?.allocatedIPCount, 0);
    const rv = s.metadata.resourceVersion;
    await eventually(
      () => ctrl.subnets.getByName("ac49-subnet")?.metadata.resourceVersion === rv,
      5000,
      "the version seen",
    );
    assert.equal(reconcileSubnet(ctrl.subnets.getByName("ac49-subnet")!, ctrl.pools.list()).kind, "none", "no loop");
    assert.equal((await h.client.get<SpiderSubnet>(SUBNETS, "ac49-subnet")).metadata.resourceVersion, rv, "no loop");
  });

  it("AC-49: kubectl shows 9223372036854775807", { skip: KUBECTL === undefined ? "no kubectl" : false }, async () => {
    const run = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile(
          KUBECTL as string,
          args,
          { env: { PATH: process.env["PATH"] ?? "", HOME: dir, KUBECONFIG: kubeconfig }, timeout: 20_000 },
          (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`))),
        ),
      );
    const json = await run(["get", "spiderippool", "ac49", "-o", "json"]);
    assert.match(json, new RegExp(`"totalIPCount": ${MAX}\\n`));
    assert.match(json, /"allocatedIPCount": 2,\n/);
    assert.equal(await run(["get", "sp", "ac49", "-o", "jsonpath={.status.totalIPCount}"]), MAX);
    const table = (await run(["get", "sp", "ac49"])).trim().split("\n");
    assert.ok(table[1]?.split(/\s+/).includes(MAX), table.join("\n"));
    const subnet = await run(["get", "spidersubnet", "ac49-subnet", "-o", "json"]);
    assert.match(subnet, new RegExp(`"totalIPCount": ${MAX}\\n`));
  });
});
