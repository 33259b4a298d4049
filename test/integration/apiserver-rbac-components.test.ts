// Issue 20: spiderpool-agent and spiderpool-controller run under deploy/rbac.yaml's
// ClusterRoles on an API server that enforces RBAC; any request either of them makes that
// RBAC refuses fails the test. The agent's allocation goes through the real CNI shim.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, serviceAccountClient, startApiServer, type Harness } from "../support/apiserver.ts";
import { runPod, shimBuilt, startAgent, type Node } from "../support/cluster.ts";
import { testController } from "../support/controller.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const KINDS: Record<string, ResourceType> = {
  ServiceAccount: Resources.serviceaccounts,
  ClusterRole: Resources.clusterroles,
  ClusterRoleBinding: Resources.clusterrolebindings,
};

describe("issue 20: the agent and the controller under the project's own ClusterRoles", () => {
  let h: Harness;
  let dir: string;
  const forbidden: string[] = [];
  const controllers: SpiderpoolController[] = [];
  let node: Node | undefined;

  before(async () => {
    h = await startApiServer({
      auth: true,
      onRequest: (r) => {
        if (r.status === 401 || r.status === 403) forbidden.push(`${r.method} ${r.path} ${r.status}`);
      },
    });
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, "deploy", "rbac.yaml"), "utf8"))) {
      const obj = doc.toJSON() as KubeObject | null;
      if (obj === null) continue;
      const rt = KINDS[String(obj.kind)];
      assert.ok(rt !== undefined, `deploy/rbac.yaml: unexpected kind ${String(obj.kind)}`);
      await h.client.create(
        rt,
        obj,
        obj.metadata?.namespace !== undefined ? { namespace: obj.metadata.namespace } : {},
      );
    }
    await h.client.create(Resources.nodes, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node1", labels: { "kubernetes.io/hostname": "node1" } },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    for (const name of ["ctrl-a", "ctrl-b"]) {
      const c = testController(
        h,
        name,
        {},
        undefined,
        await serviceAccountClient(h, "kube-system", "spiderpool-controller"),
      );
      controllers.push(c);
    }
    await Promise.all(controllers.map((c) => c.start()));
    dir = mkdtempSync(join(tmpdir(), "rbac-components-"));
    node = await startAgent(h, "node1", dir, {
      client: await serviceAccountClient(h, "kube-system", "spiderpool-agent"),
    });
  });
  after(async () => {
    await node?.agent.stop();
    for (const c of controllers) await c.stop();
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the controller elects a leader, serves its webhooks and keeps pool status", async () => {
    await eventually(() => controllers.some((c) => c.isLeader), 5000, "a leader");
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "rbac-pool" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"] },
    });
    await eventually(
      async () => (await h.client.get<SpiderIPPool>(POOLS, "rbac-pool")).status?.totalIPCount === 11,
      5000,
      "pool status",
    );
    assert.deepEqual(forbidden, []);
  });

  it(
    "the agent allocates through the shim, and the controller collects the pod's address",
    { skip: shimBuilt() ? false : "the CNI shim is not built" },
    async () => {
      const c = { h, nodes: node === undefined ? [] : [node], dir, close: async () => {} };
      const pod = await runPod(c, { name: "web-1", node: "node1", pool: "rbac-pool" });
      assert.match(pod.ip, /^192\.0\.2\./);
      await h.client.delete(Resources.pods, "web-1", { namespace: "default" });
      await eventually(
        async () => (await h.client.get<SpiderIPPool>(POOLS, "rbac-pool")).status?.allocatedIPCount === 0,
        10_000,
        "address released by the controller's GC",
      );
      assert.deepEqual(forbidden, []);
    },
  );
});
