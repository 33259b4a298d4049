// The chart's spiderpool-init Job (issue 21): the command it runs is the bundle the image
// installs as /usr/bin/spiderpool-init (scripts/build-image.sh), and that bundle, run with
// exactly the environment the Job renders, waits for the controller and then creates the
// default SpiderCoordinator, subnet, pool and the default CNI's SpiderMultusConfig.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SpiderCoordinatorKind } from "../../src/api/coordinator.ts";
import { SpiderIPPoolKind } from "../../src/api/ippool.ts";
import { SpiderMultusConfigKind } from "../../src/api/multusconfig.ts";
import { SpiderSubnetKind } from "../../src/api/subnet.ts";
import { resourceTypeOf, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { NAMESPACE, objects, ROOT, template } from "../support/chart.ts";

const ENDPOINTS: ResourceType = { group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true };

interface Container {
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

describe("the chart's spiderpool-init Job (issue 21)", () => {
  let h: Harness;
  let dir: string;
  let job: Container;

  before(async () => {
    const rendered = objects(
      template([
        "--set=clusterDefaultPool.installIPv4IPPool=true",
        "--set=clusterDefaultPool.ipv4Subnet=192.0.2.0/24",
        "--set=clusterDefaultPool.ipv4IPRanges={192.0.2.10-192.0.2.20}",
        "--set=clusterDefaultPool.ipv4Gateway=192.0.2.1",
      ]),
    ) as Array<Record<string, unknown>>;
    const j = rendered.find(
      (o) => o["kind"] === "Job" && (o["metadata"] as { name: string }).name === "spiderpool-init",
    );
    assert.ok(j !== undefined, "the chart renders the Job");
    job = (j["spec"] as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-dist.ts"), "spiderpool-init"], { stdio: "inherit" });
    dir = mkdtempSync(join(tmpdir(), "chart-init-"));
    h = await startApiServer();
  });

  after(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("issue 21: the Job's command is what the image installs, from the bundle build-dist makes", () => {
    assert.deepEqual(job.command, ["/usr/bin/spiderpool-init"]);
    const script = readFileSync(join(ROOT, "scripts", "build-image.sh"), "utf8");
    assert.match(script, /dist\/spiderpool-init\.mjs/, "the image carries the bundle");
    assert.match(script, /for daemon in [^;]*\bspiderpool-init\b/, "and a /usr/bin launcher for it");
  });

  it("issue 21: the bundle, with the Job's environment, waits for the controller and creates the defaults", async () => {
    // The node's CNI directory, which the Job mounts at the path it names.
    const cniDir = job.env?.find((e) => e.name === "SPIDERPOOL_INIT_DEFAULT_CNI_DIR")?.value;
    assert.equal(job.volumeMounts?.find((m) => m.name === "cni-conf-path")?.mountPath, cniDir);
    const netd = join(dir, "net.d");
    mkdirSync(netd);
    writeFileSync(join(netd, "10-calico.conflist"), JSON.stringify({ name: "k8s-pod-network", plugins: [] }));
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, h.server.kubeconfig(), { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], KUBECONFIG: kubeconfig };
    for (const e of job.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env["SPIDERPOOL_INIT_DEFAULT_CNI_DIR"] = netd;

    const child = execFile(process.execPath, [join(ROOT, "dist", "spiderpool-init.mjs")], { env });
    let stderr = "";
    let stdout = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let code: number | null | undefined;
    child.on("exit", (c) => (code = c));
    try {
      // Nothing is created before the controller serves: its Service's Endpoints have an address.
      await eventually(() => stdout.includes("waiting for spiderpool-controller"), 10_000, "a logged wait");
      assert.equal((await h.client.listAll(resourceTypeOf(SpiderCoordinatorKind))).items.length, 0);
      await h.client.create(ENDPOINTS, {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "spiderpool-controller", namespace: NAMESPACE },
        subsets: [{ addresses: [{ ip: "192.0.2.5" }], ports: [{ name: "webhook", port: 5722 }] }],
      } as KubeObject);
      await eventually(() => code !== undefined, 20_000, "spiderpool-init done");
      assert.equal(code, 0, stdout + stderr);
    } finally {
      child.kill();
    }
    const names = async (k: Parameters<typeof resourceTypeOf>[0]) =>
      (await h.client.listAll(resourceTypeOf(k))).items.map((o) => o.metadata?.name);
    assert.deepEqual(await names(SpiderCoordinatorKind), ["default"]);
    assert.deepEqual(await names(SpiderIPPoolKind), ["default-v4-ippool"]);
    assert.deepEqual(await names(SpiderSubnetKind), ["default-v4-subnet"]);
    assert.deepEqual(await names(SpiderMultusConfigKind), ["calico"]);
  });
});
