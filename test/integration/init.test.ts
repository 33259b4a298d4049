// spiderpool-init against the embedded API server with the controller and its webhooks
// (node-networking §2.2, §6; spiderpool-api §6.4): it waits for the controller, creates
// the default SpiderCoordinator, default subnets and pools, and the default-CNI SMC (whose
// NAD the controller then writes); a second run changes nothing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { SpiderCoordinator } from "../../src/api/coordinator.ts";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../../src/api/multusconfig.ts";
import { SpiderSubnetKind } from "../../src/api/subnet.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { COORDINATORS } from "../../src/controller/coordinator/controller.ts";
import { NADS } from "../../src/controller/multus/controller.ts";
import { loadInitConfig } from "../../src/init/config.ts";
import { runInit } from "../../src/init/run.ts";
import { resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { testController } from "../support/controller.ts";

const SMCS = resourceTypeOf(SpiderMultusConfigKind);
const SUBNETS = resourceTypeOf(SpiderSubnetKind);

describe("spiderpool-init (node-networking §2.2, §6)", () => {
  let h: Harness;
  let c: SpiderpoolController;
  let dir: string;
  const warnings: string[] = [];
  const log = pino(
    { level: "info" },
    {
      write(line: string) {
        const j = JSON.parse(line) as { level: number; msg: string };
        if (j.level >= 40) warnings.push(j.msg);
      },
    },
  );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "spt-mu-init-"));
    writeFileSync(join(dir, "00-multus.conf"), JSON.stringify({ name: "multus-cni-network", type: "multus" }));
    writeFileSync(
      join(dir, "10-calico.conflist"),
      JSON.stringify({ name: "k8s-pod-network", plugins: [{ type: "calico" }] }),
    );
    h = await startApiServer();
  });
  after(async () => {
    await c?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () =>
    loadInitConfig({
      SPIDERPOOL_NAMESPACE: "kube-system",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "default",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_MODE: "",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POD_CIDR_TYPE: "auto",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_TUNE_POD_ROUTES: "true",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_DETECT_GATEWAY: "false",
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_HIJACK_CIDR: '["169.254.0.0/16","198.51.100.7"]',
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POLICY_ROUTES: '[{"dst":"203.0.113.9","gw":"192.0.2.1"}]',
      SPIDERPOOL_INIT_DEFAULT_COORDINATOR_VETH_MTU: "1400",
      SPIDERPOOL_INIT_DEFAULT_IPV4_SUBNET_NAME: "default-v4-subnet",
      SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_NAME: "default-v4-ippool",
      SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_SUBNET: "192.0.2.0/24",
      SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_IPRANGES: '["192.0.2.10-192.0.2.20"]',
      SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_GATEWAY: "192.0.2.1",
      SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_NAME: "default-v6-ippool",
      SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_SUBNET: "2001:db8::/64",
      SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_IPRANGES: '["2001:db8::10-2001:db8::20"]',
      SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "true",
      SPIDERPOOL_INIT_DEFAULT_CNI_DIR: dir,
      SPIDERPOOL_INIT_DEFAULT_CNI_NAMESPACE: "kube-system",
      SPIDERPOOL_INIT_READINESS_FILE: join(dir, "ready"),
    });

  const snapshot = async () => {
    const pick = (o: KubeObject) => ({
      name: o.metadata?.name,
      annotations: o.metadata?.annotations,
      labels: o.metadata?.labels,
      spec: o["spec"],
    });
    return {
      coordinators: (await h.client.listAll(COORDINATORS)).items.map(pick),
      subnets: (await h.client.listAll(SUBNETS)).items.map(pick),
      pools: (await h.client.listAll(POOLS)).items.map(pick),
      smcs: (await h.client.listAll(SMCS)).items.map(pick),
    };
  };

  it("waits for the controller, then creates the coordinator, subnet, pools and the default-CNI SMC", async () => {
    const run = runInit({ client: h.newClient(), config: config(), log, backoff: { initialMs: 50, maxMs: 200 } });
    await eventually(
      () => warnings.some((w) => w.includes("waiting for spiderpool-controller")),
      5000,
      "a logged wait",
    );
    c = testController(h, "ctrl-init", {
      SPIDERPOOL_COORDINATOR_ENABLED: "true",
      SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true",
      SPIDERPOOL_CNI_CONFIG_DIR: dir,
    });
    await c.start();
    const r = await run;
    assert.deepEqual(r.created, [
      "SpiderCoordinator default",
      "SpiderSubnet default-v4-subnet",
      "SpiderIPPool default-v4-ippool",
      "SpiderIPPool default-v6-ippool",
      "SpiderMultusConfig kube-system/calico",
    ]);
    const coord = await h.client.get<SpiderCoordinator>(COORDINATORS, "default");
    assert.equal(coord.spec.mode, "auto");
    assert.equal(coord.spec.podCIDRType, "auto");
    assert.equal(coord.spec.vethMTU, 1400);
    assert.deepEqual(coord.spec.hijackCIDR, ["169.254.0.0/16", "198.51.100.7/32"]);
    assert.deepEqual(coord.spec.policyRoutes, [{ dst: "203.0.113.9/32", gw: "192.0.2.1" }]);
    const pool = await h.client.get<KubeObject>(POOLS, "default-v4-ippool");
    assert.equal((pool["spec"] as { default?: boolean }).default, true);
    const smc = await h.client.get<SpiderMultusConfig>(SMCS, "calico", "kube-system");
    assert.equal(smc.spec.cniType, "custom");
    assert.equal(smc.spec.enableCoordinator, false);
    assert.equal(smc.metadata.annotations?.["multus.spidernet.io/cr-name"], "k8s-pod-network");
    await eventually(
      async () => (await h.client.get(NADS, "k8s-pod-network", "kube-system").catch(() => undefined)) !== undefined,
      5000,
      "the NAD of the default CNI",
    );
    const nad = await h.client.get<KubeObject>(NADS, "k8s-pod-network", "kube-system");
    assert.equal((nad["spec"] as { config?: string }).config, undefined, "Multus reads the same-named file");
  });

  it("a second run creates nothing and changes nothing", async () => {
    const before = await snapshot();
    const r = await runInit({ client: h.newClient(), config: config(), log, backoff: { initialMs: 50, maxMs: 200 } });
    assert.deepEqual(r.created, []);
    assert.equal(r.existing.length, 5);
    assert.deepEqual(await snapshot(), before);
  });

  it("with the chart's Multus (SPIDERPOOL_INIT_INSTALL_MULTUS) the SMC is named as the agents' sidecar names clusterNetwork; a Multus ConfigMap is reported unused", async () => {
    const dir2 = mkdtempSync(join(tmpdir(), "spt-mu-init2-"));
    try {
      writeFileSync(join(dir2, "05-flannel.json"), JSON.stringify({ name: "cbr0", plugins: [{ type: "flannel" }] }));
      writeFileSync(join(dir2, "10-calico.conflist"), JSON.stringify({ name: "k8s-pod-network", plugins: [] }));
      const env = {
        SPIDERPOOL_NAMESPACE: "kube-system",
        SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "true",
        SPIDERPOOL_INIT_DEFAULT_CNI_DIR: dir2,
        SPIDERPOOL_INIT_DEFAULT_CNI_NAMESPACE: "default",
      };
      const run = (extra: Record<string, string>) =>
        runInit({
          client: h.newClient(),
          config: loadInitConfig({ ...env, ...extra }),
          log,
          backoff: { initialMs: 50, maxMs: 200 },
        });
      // Without it, upstream's rule: the .json file is not a candidate.
      assert.deepEqual((await run({ SPIDERPOOL_INIT_INSTALL_MULTUS: "false" })).created, [
        "SpiderMultusConfig default/calico",
      ]);
      warnings.length = 0;
      const r = await run({
        SPIDERPOOL_INIT_INSTALL_MULTUS: "true",
        SPIDERPOOL_INIT_MULTUS_CONFIGMAP: "spiderpool-multus",
      });
      assert.deepEqual(r.created, ["SpiderMultusConfig default/cbr0"]);
      assert.ok(
        warnings.some((w) => w.includes("SPIDERPOOL_INIT_MULTUS_CONFIGMAP has no effect")),
        JSON.stringify(warnings),
      );
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
