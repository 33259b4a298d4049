// The sandbox's scheduler and workload controllers with a kubelet per node (IPAM only): what
// kubectl apply / scale / rollout restart / delete do on a cluster happens here too.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { isNodeReady } from "../../src/cli/sandbox/node-status.ts";
import { SimulatedCluster } from "../../src/cli/sandbox/simulated-cluster.ts";
import { checkConsistency } from "../../src/ipam/consistency.ts";
import { Resources, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool, SHIM, shimBuilt } from "../support/cluster.ts";

interface Pod extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { labels?: Record<string, string>; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string; message?: string }> };
}

const NS = "wl";
const pods = async (h: Harness, label: string): Promise<Pod[]> =>
  (await h.client.listAll<Pod>(Resources.pods, { namespace: NS, labelSelector: label })).items;
const running = (ps: Pod[]): Pod[] =>
  ps.filter((p) => p.status?.phase === "Running" && p.metadata["deletionTimestamp"] === undefined);

async function consistent(h: Harness): Promise<void> {
  const r = checkConsistency({
    pools: (await h.client.listAll<SpiderIPPool>(POOLS)).items,
    pods: (await h.client.listAll(Resources.pods)).items as never,
    endpoints: (await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items,
  });
  assert.ok(r.ok, r.problems.join("\n"));
}

const allocated = async (h: Harness, pool: string): Promise<number> =>
  Number((await h.client.get<SpiderIPPool>(POOLS, pool)).status?.allocatedIPCount ?? 0);

function workload(
  rt: ResourceType,
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: rt.group === "" ? rt.version : `${rt.group}/${rt.version}`,
    kind: rt.kind,
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name: "app", image: "pause" }] },
      },
      ...spec,
    },
  };
}

describe(
  "sandbox control plane: scheduler and workload controllers",
  { skip: shimBuilt() ? false : "the shim is not built" },
  () => {
    let h: Harness;
    let cluster: SimulatedCluster;
    let dir: string;
    before(async () => {
      h = await startApiServer({ podDeletion: "graceful" });
      dir = mkdtempSync(join(tmpdir(), "sandbox-wl-"));
      await h.client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      await createPool(h, "wl-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.60"], gateway: "192.0.2.1" });
      await createPool(h, "wl-sts", { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.60"] });
      cluster = new SimulatedCluster({
        server: h.url,
        nodes: ["node1", "node2"],
        mode: "ipam",
        shimDir: dirname(SHIM),
        workDir: dir,
        defaultNetwork: {
          cniVersion: "1.0.0",
          name: "macvlan-eth-m",
          plugins: [{ type: "macvlan", master: "eth-m", ipam: { type: "spiderpool" } }],
        },
        log: pino({ level: process.env["AGENT_LOG"] ?? "silent" }),
        nodeLabels: { node2: { zone: "b" } },
        heartbeatMs: 100,
        backoff: { initialMs: 50, maxMs: 500 },
      });
      await cluster.start();
    });
    after(async () => {
      await cluster?.stop();
      await h?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("SB-5: Deployment apply, scale up and down, rollout restart and delete; every pod a unique address of its pool", async () => {
      const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["wl-v4"]}' };
      await h.client.create(Resources.deployments, workload(Resources.deployments, "web", { replicas: 2 }, ann));
      await eventually(async () => running(await pods(h, "app=web")).length === 2, 20_000, "2 web pods Running");
      await h.client.patchMerge(Resources.deployments, "web", { spec: { replicas: 5 } }, { namespace: NS });
      await eventually(async () => running(await pods(h, "app=web")).length === 5, 20_000, "5 web pods Running");
      let ps = running(await pods(h, "app=web"));
      assert.equal(new Set(ps.map((p) => p.status?.podIP)).size, 5, "unique addresses");
      for (const p of ps) assert.match(p.status?.podIP ?? "", /^192\.0\.2\.\d+$/);
      assert.deepEqual(
        [...new Set(ps.map((p) => p.spec?.nodeName))].sort(),
        ["node1", "node2"],
        "spread over both nodes",
      );
      await eventually(async () => (await allocated(h, "wl-v4")) === 5, 10_000, "5 allocated");

      // kubectl rollout restart: a template annotation; every pod is replaced.
      const before = new Set(ps.map((p) => p.metadata.name));
      await h.client.patchMerge(
        Resources.deployments,
        "web",
        {
          spec: {
            template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-07T00:00:00Z" } } },
          },
        },
        { namespace: NS },
      );
      await eventually(
        async () => {
          const all = await pods(h, "app=web");
          return all.length === 5 && running(all).length === 5 && all.every((p) => !before.has(p.metadata.name));
        },
        30_000,
        "5 new web pods after the restart",
      );
      const d = await h.client.get<KubeObject & { status?: Record<string, unknown> }>(Resources.deployments, "web", NS);
      await eventually(
        async () => {
          const s = (
            await h.client.get<KubeObject & { status?: Record<string, number> }>(Resources.deployments, "web", NS)
          ).status;
          return s?.["updatedReplicas"] === 5 && s?.["availableReplicas"] === 5 && s?.["replicas"] === 5;
        },
        10_000,
        `deployment status 5/5 (${JSON.stringify(d.status)})`,
      );

      await h.client.patchMerge(Resources.deployments, "web", { spec: { replicas: 1 } }, { namespace: NS });
      await eventually(async () => (await pods(h, "app=web")).length === 1, 20_000, "scaled to 1");
      await consistent(h);
      await h.client.delete(Resources.deployments, "web", { namespace: NS, propagationPolicy: "Background" });
      await eventually(async () => (await pods(h, "app=web")).length === 0, 20_000, "web pods gone");
      await eventually(async () => (await allocated(h, "wl-v4")) === 0, 10_000, "addresses freed");
      ps = (await h.client.listAll<Pod>(Resources.replicasets, { namespace: NS })).items;
      assert.equal(ps.length, 0, "the ReplicaSets went with the Deployment");
      await consistent(h);
    });

    it("SB-6: StatefulSet from ordinals.start in order, scale-down from the highest ordinal, fixed names", async () => {
      const seen: string[] = [];
      const abort = new AbortController();
      const watching = (async () => {
        for await (const ev of h
          .newClient()
          .watch<Pod>(Resources.pods, { namespace: NS, labelSelector: "app=db", signal: abort.signal })) {
          const p = ev.object as Pod;
          if (ev.type === "ADDED") seen.push(`+${p.metadata.name}`);
          if (ev.type === "DELETED") seen.push(`-${p.metadata.name}`);
        }
      })();
      const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["wl-sts"]}' };
      await h.client.create(
        Resources.statefulsets,
        workload(Resources.statefulsets, "db", { replicas: 3, serviceName: "db", ordinals: { start: 3 } }, ann),
      );
      await eventually(async () => running(await pods(h, "app=db")).length === 3, 20_000, "3 db pods Running");
      assert.deepEqual((await pods(h, "app=db")).map((p) => p.metadata.name).sort(), ["db-3", "db-4", "db-5"]);
      await h.client.patchMerge(Resources.statefulsets, "db", { spec: { replicas: 1 } }, { namespace: NS });
      await eventually(async () => (await pods(h, "app=db")).length === 1, 20_000, "scaled to 1");
      await eventually(() => seen.length === 5, 5000, "events seen");
      abort.abort();
      await watching;
      assert.deepEqual(seen, ["+db-3", "+db-4", "+db-5", "-db-5", "-db-4"]);
      await h.client.delete(Resources.statefulsets, "db", { namespace: NS });
      await eventually(async () => (await pods(h, "app=db")).length === 0, 20_000, "db pods gone");
      await eventually(async () => (await allocated(h, "wl-sts")) === 0, 10_000, "addresses freed");
    });

    it("SB-7: a DaemonSet's pod on every node, a Job to completion, nodeSelector honoured", async () => {
      const ann = { "ipam.spidernet.io/ippool": '{"ipv4":["wl-v4"]}' };
      await h.client.create(Resources.daemonsets, workload(Resources.daemonsets, "ds", {}, ann));
      await eventually(async () => running(await pods(h, "app=ds")).length === 2, 20_000, "a ds pod per node");
      assert.deepEqual((await pods(h, "app=ds")).map((p) => p.spec?.nodeName).sort(), ["node1", "node2"]);

      const job = workload(Resources.jobs, "batch", { completions: 2, parallelism: 1 }, ann);
      const spec = job["spec"] as { selector?: unknown; template: { spec: Record<string, unknown> } };
      delete spec.selector;
      spec.template.spec["restartPolicy"] = "Never";
      spec.template.spec["nodeSelector"] = { zone: "b" };
      await h.client.create(Resources.jobs, job);
      await eventually(
        async () => {
          const j = await h.client.get<
            KubeObject & { status?: { succeeded?: number; conditions?: Array<{ type: string }> } }
          >(Resources.jobs, "batch", NS);
          return j.status?.succeeded === 2 && (j.status.conditions ?? []).some((c) => c.type === "Complete");
        },
        20_000,
        "job Complete",
      );
      const jobPods = await pods(h, "app=batch");
      assert.equal(jobPods.length, 2);
      for (const p of jobPods) {
        assert.equal(p.status?.phase, "Succeeded");
        assert.equal(p.spec?.nodeName, "node2", "the nodeSelector's node");
      }
      await eventually(async () => (await allocated(h, "wl-v4")) === 2, 10_000, "only the daemon pods hold addresses");
      await consistent(h);
      await h.client.delete(Resources.daemonsets, "ds", { namespace: NS });
      await h.client.delete(Resources.jobs, "batch", { namespace: NS, propagationPolicy: "Background" });
      await eventually(
        async () => (await h.client.listAll(Resources.pods, { namespace: NS })).items.length === 0,
        20_000,
        "all gone",
      );
    });

    it("SB-8: a node whose agent stops turns NotReady and gets no new pods", async () => {
      await cluster.stopAgent("node2");
      await eventually(
        async () => !isNodeReady(await h.client.get<KubeObject>(Resources.nodes, "node2")),
        5000,
        "node2 NotReady",
      );
      await h.client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "pinned", namespace: NS, annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["wl-v4"]}' } },
        spec: { nodeSelector: { zone: "b" }, containers: [{ name: "app", image: "pause" }] },
      });
      await eventually(
        async () => {
          const p = await h.client.get<Pod>(Resources.pods, "pinned", NS);
          return (p.status?.conditions ?? []).some((c) => c.type === "PodScheduled" && c.status === "False");
        },
        5000,
        "pinned Unschedulable",
      );
      const p = await h.client.get<Pod>(Resources.pods, "pinned", NS);
      assert.equal(p.spec?.nodeName, undefined);
      assert.match(
        p.status?.conditions?.[0]?.message ?? "",
        /0\/2 nodes are available: 1 node\(s\) had untolerated taint/,
      );
      await cluster.startAgent("node2");
      await eventually(
        async () => (await h.client.get<Pod>(Resources.pods, "pinned", NS)).status?.phase === "Running",
        10_000,
        "pinned Running on node2 once Ready",
      );
      await h.client.delete(Resources.pods, "pinned", { namespace: NS });
    });
  },
);
