// Every manifest under examples/ applied to the sandbox's simulated cluster (controller,
// agents, kubelets; IPAM only), each checked for what its feature promises.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderSubnet } from "../../src/api/subnet.ts";
import { applyManifests, readManifests } from "../../src/cli/sandbox/manifests.ts";
import { SimulatedCluster } from "../../src/cli/sandbox/simulated-cluster.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { checkConsistency } from "../../src/ipam/consistency.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { SUBNETS } from "../../src/poolstore/auto-pool.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { SHIM, shimBuilt } from "../support/cluster.ts";
import { testController } from "../support/controller.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EXAMPLES = join(ROOT, "examples");

interface Pod extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { annotations?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { phase?: string; podIPs?: Array<{ ip: string }> };
}

describe("examples/ applied to the sandbox", { skip: shimBuilt() ? false : "the shim is not built" }, () => {
  let h: Harness;
  let controller: SpiderpoolController;
  let cluster: SimulatedCluster;
  let dir: string;
  before(async () => {
    h = await startApiServer({ podDeletion: "graceful" });
    dir = mkdtempSync(join(tmpdir(), "sandbox-examples-"));
    // The SpiderMultusConfig → NAD and SpiderCoordinator reconcilers, as the sandbox runs them.
    controller = testController(h, "ctl", {
      SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true",
      SPIDERPOOL_COORDINATOR_ENABLED: "true",
      SPIDERPOOL_CNI_CONFIG_DIR: dir,
    });
    await controller.start();
    cluster = new SimulatedCluster({
      server: h.url,
      nodes: ["node1", "node2", "node3"],
      mode: "ipam",
      shimDir: dirname(SHIM),
      workDir: dir,
      defaultNetwork: {
        cniVersion: "1.0.0",
        name: "macvlan-eth-m",
        plugins: [{ type: "macvlan", master: "eth-m", ipam: { type: "spiderpool" } }],
      },
      log: pino({ level: process.env["AGENT_LOG"] ?? "silent" }),
      agentEnv: { SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: "100" },
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    await cluster.start();
  });
  after(async () => {
    await cluster?.stop();
    await controller?.stop();
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const apply = async (file: string): Promise<string[]> =>
    applyManifests(h.client, readManifests([join(EXAMPLES, file)]));
  async function runningPods(namespace: string, n: number): Promise<Pod[]> {
    let pods: Pod[] = [];
    await eventually(
      async () => {
        pods = (await h.client.listAll<Pod>(Resources.pods, { namespace })).items.filter(
          (p) => p.status?.phase === "Running" && p.metadata["deletionTimestamp"] === undefined,
        );
        return pods.length === n;
      },
      20_000,
      `${n} Running pods in ${namespace}`,
    );
    return pods;
  }
  const ips = (p: Pod): string[] => (p.status?.podIPs ?? []).map((x) => x.ip);

  it("SB-9 (AC-01): default-pools.yaml — pods naming no pool get one address of each family from the default pools", async () => {
    assert.deepEqual(await apply("default-pools.yaml"), [
      "namespaces/example-default created",
      "spiderippools.spiderpool.spidernet.io/default-v4 created",
      "spiderippools.spiderpool.spidernet.io/default-v6 created",
      "deployments.apps/plain created",
    ]);
    for (const p of await runningPods("example-default", 2)) {
      const [v4, v6] = ips(p);
      assert.match(v4 ?? "", /^203\.0\.113\.([2-9]|[12]\d|30)$/);
      assert.match(v6 ?? "", /^2001:db8:10::[0-9a-f]+$/);
    }
  });

  it("SB-10: namespace-pool.yaml — the namespace's annotation picks its pool", async () => {
    await apply("namespace-pool.yaml");
    const pods = await runningPods("team-a", 3);
    for (const p of pods) assert.match(ips(p)[0] ?? "", /^203\.0\.113\.(3[4-9]|[45]\d|6[0-2])$/);
    assert.equal(new Set(pods.map((p) => ips(p)[0])).size, 3);
  });

  it("SB-11 (AC-58): statefulset.yaml — a replica deleted and re-created keeps its addresses", async () => {
    await apply("statefulset.yaml");
    const pods = await runningPods("example-sts", 3);
    const db1 = pods.find((p) => p.metadata.name === "db-1");
    assert.ok(db1 !== undefined);
    const before = ips(db1);
    assert.equal(before.length, 2);
    await h.client.delete(Resources.pods, "db-1", { namespace: "example-sts" });
    await eventually(
      async () => {
        const p = await h.client.get<Pod>(Resources.pods, "db-1", "example-sts").catch(() => undefined);
        return p !== undefined && p.metadata.uid !== db1.metadata.uid && p.status?.phase === "Running";
      },
      20_000,
      "db-1 re-created and Running",
    );
    assert.deepEqual(ips(await h.client.get<Pod>(Resources.pods, "db-1", "example-sts")), before);
  });

  it("SB-12: subnet.yaml — the controller carves the Deployment a pool of two from the subnet", async () => {
    await apply("subnet.yaml");
    const pods = await runningPods("example-subnet", 2);
    const pool = (await h.client.listAll<SpiderIPPool>(POOLS)).items.find(
      (p) => p.metadata.labels?.["ipam.spidernet.io/owner-application-name"] === "shop",
    );
    assert.ok(pool !== undefined, "an auto pool for shop");
    assert.equal(pool.spec.subnet, "203.0.113.96/27");
    for (const p of pods) assert.match(ips(p)[0] ?? "", /^203\.0\.113\.(9[8-9]|1[01]\d|12[0-6])$/);
    const sub = await h.client.get<SpiderSubnet>(SUBNETS, "apps-v4");
    assert.equal(sub.status?.allocatedIPCount, 2);
  });

  it("SB-13 (AC-21): reserved-ips.yaml — reserved addresses are never handed out", async () => {
    await apply("reserved-ips.yaml");
    const got = (await runningPods("example-reserved", 3)).map((p) => ips(p)[0]).sort();
    assert.deepEqual(got, ["203.0.113.133", "203.0.113.134", "203.0.113.135"]);
  });

  it("SB-14 (AC-33): node-affinity.yaml — node1 draws from its rack's pool, the others from theirs", async () => {
    await apply("node-affinity.yaml");
    const pods = await runningPods("example-affinity", 3);
    for (const p of pods) {
      const ip = ips(p)[0] ?? "";
      if (p.spec?.nodeName === "node1")
        assert.match(ip, /^203\.0\.113\.(16[2-9]|17[0-4])$/, `${p.metadata.name} on node1`);
      else assert.match(ip, /^203\.0\.113\.(17[89]|18\d|190)$/, `${p.metadata.name} on ${p.spec?.nodeName}`);
    }
  });

  it("SB-15 (AC-17): multi-nic.yaml — the SpiderMultusConfig's NAD gives each pod net1 from its own pool", async () => {
    await apply("multi-nic.yaml");
    for (const p of await runningPods("example-multi", 2)) {
      const status = JSON.parse(p.metadata.annotations?.["k8s.v1.cni.cncf.io/network-status"] ?? "[]") as Array<{
        name: string;
        interface: string;
        ips: string[];
      }>;
      assert.deepEqual(
        status.map((s) => [s.name, s.interface]),
        [
          ["macvlan-eth-m", "eth0"],
          ["example-multi/macvlan-net1", "net1"],
        ],
      );
      assert.match(status[0]?.ips[0] ?? "", /^203\.0\.113\.(19[4-9]|20[0-6])$/);
      assert.match(status[1]?.ips[0] ?? "", /^203\.0\.113\.(21\d|22[0-2])$/);
    }
  });

  it("SB-16: coordinator.yaml — the settings are stored as written, and a second apply configures", async () => {
    assert.deepEqual(await apply("coordinator.yaml"), ["spidercoordinators.spiderpool.spidernet.io/default created"]);
    const c = await h.client.get<KubeObject & { spec?: Record<string, unknown> }>(
      {
        group: "spiderpool.spidernet.io",
        version: "v2beta1",
        plural: "spidercoordinators",
        kind: "SpiderCoordinator",
        namespaced: false,
      },
      "default",
    );
    assert.deepEqual(c.spec?.["hijackCIDR"], ["198.51.100.128/25"]);
    assert.equal(c.spec?.["podMACPrefix"], "0a:1b");
    assert.equal(c.spec?.["podCIDRType"], "none");
    assert.deepEqual(await apply("coordinator.yaml"), [
      "spidercoordinators.spiderpool.spidernet.io/default configured",
    ]);
  });

  it("SB-17: after every example, the IPAM state is consistent", async () => {
    const r = checkConsistency({
      pools: (await h.client.listAll<SpiderIPPool>(POOLS)).items,
      subnets: (await h.client.listAll<SpiderSubnet>(SUBNETS)).items,
      pods: (await h.client.listAll(Resources.pods)).items as never,
      endpoints: (await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items,
    });
    assert.ok(r.ok, r.problems.join("\n"));
    assert.ok(r.records >= 16, `records: ${r.records}`);
  });
});
