// `kubectl apply --dry-run=server` of a SpiderIPPool change, through the embedded API server
// and the controller's webhooks: a change that would strand running pods or a StatefulSet
// prints admission warnings naming them and changes nothing; a harmless change prints none;
// a change that frees an address in use stays refused. The same for a SpiderSubnet shrunk
// below what its auto-created pools need.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { registerWebhooks } from "../../src/controller/webhooks/registration.ts";
import { webhookRoutes } from "../../src/controller/webhooks/routes.ts";
import { WebhookServer } from "../../src/controller/webhooks/server.ts";
import { loadOrGenerateTls } from "../../src/controller/webhooks/tls.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { SUBNETS } from "../../src/poolstore/auto-pool.ts";
import type { SpiderSubnet } from "../../src/api/subnet.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { createPod } from "../support/cluster.ts";
import { writeRecord } from "../support/controller.ts";

const KUBECTL = [process.env["SPIDERPOOL_KUBECTL"], "/usr/bin/kubectl", "/usr/local/bin/kubectl"].find(
  (p) => p !== undefined && p !== "" && existsSync(p),
);
const skip = KUBECTL === undefined ? "kubectl is not installed (package kubernetes-client)" : false;

const poolYaml = (extra: string): string => `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: web
spec:
  subnet: 192.0.2.0/24
  ipVersion: 4
  ips: ["192.0.2.10-192.0.2.19"]
${extra}`;

describe("SpiderIPPool changes that would strand workloads: warnings on kubectl --dry-run=server", { skip }, () => {
  let h: Harness;
  let hooks: WebhookServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    h = await startApiServer();
    const tls = loadOrGenerateTls({ ipAddresses: ["127.0.0.1"] });
    hooks = new WebhookServer(
      tls.serving,
      webhookRoutes(h.client, {
        enableIPv4: true,
        enableIPv6: true,
        enableSpiderSubnet: true,
        enableValidatingResourcesDeletedWebhook: true,
      }),
      () => undefined,
    );
    await registerWebhooks(h.client, { url: await hooks.listen(), caPem: tls.caPem });
    dir = mkdtempSync(join(tmpdir(), "strand-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, h.server.kubeconfig());
    for (const [name, zone] of [
      ["node1", "a"],
      ["node2", "b"],
    ] as const)
      await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name, labels: { zone } } });
    assert.equal((await kubectl(["apply", "-f", file("pool.yaml", poolYaml(""))])).code, 0);
    const a = await createPod(h, { name: "web-a", node: "node1", labels: { app: "web" } });
    const b = await createPod(h, { name: "web-b", node: "node2", labels: { app: "web" } });
    await writeRecord(h, "web", "192.0.2.10", "default/web-a", String(a.metadata?.uid));
    await writeRecord(h, "web", "192.0.2.11", "default/web-b", String(b.metadata?.uid));
    await h.client.create(Resources.statefulsets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "pg", namespace: "default" },
      spec: {
        replicas: 8,
        serviceName: "pg",
        selector: { matchLabels: { app: "pg" } },
        template: {
          metadata: { labels: { app: "pg" }, annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["web"]}' } },
          spec: { containers: [{ name: "c", image: "pause" }] },
        },
      },
    });
  });
  after(async () => {
    await hooks?.close();
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        KUBECTL as string,
        args,
        { env: { PATH: process.env["PATH"] ?? "", HOME: dir, KUBECONFIG: kubeconfig }, timeout: 20_000 },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : Number((err as { code?: unknown }).code ?? 1) || 1, stdout, stderr }),
      );
    });
  }
  function file(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }
  const dryRun = (name: string, extra: string) =>
    kubectl(["apply", "--dry-run=server", "-f", file(name, poolYaml(extra))]);

  it("node affinity that leaves a running pod out: a warning naming it; the pool is unchanged", async () => {
    const r = await dryRun("affinity.yaml", "  nodeAffinity:\n    matchLabels:\n      zone: a\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Warning: SpiderIPPool web: 1 running pod\(s\) holding its addresses no longer match it \("unmatched Node affinity of IPPool web"\); their next sandbox fails: default\/web-b/,
    );
    assert.match(r.stdout, /spiderippool.spiderpool.spidernet.io\/web configured \(server dry run\)/);
    const now = await h.client.get<SpiderIPPool>(POOLS, "web");
    assert.equal(now.spec.nodeAffinity, undefined);
  });

  it("ips shrunk below the StatefulSet's replicas: a warning naming it", async () => {
    const r = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file("shrink.yaml", poolYaml("").replace('["192.0.2.10-192.0.2.19"]', '["192.0.2.10-192.0.2.15"]')),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Warning: SpiderIPPool web: .*leaves 6 addresses, but StatefulSet default\/pg \(8 replicas\) need 8/,
    );
  });

  it("a harmless change: no warning", async () => {
    const r = await dryRun("route.yaml", "  routes:\n    - dst: 203.0.113.0/24\n      gw: 192.0.2.1\n");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/);
  });

  it("a SpiderSubnet shrunk below what its auto-created pool's application needs: a warning naming both", async () => {
    const subnetYaml = (ips: string): string => `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderSubnet
metadata:
  name: s
spec:
  subnet: 198.51.100.0/24
  ipVersion: 4
  ips: ["${ips}"]
`;
    assert.equal(
      (await kubectl(["apply", "-f", file("subnet.yaml", subnetYaml("198.51.100.10-198.51.100.40"))])).code,
      0,
    );
    await h.client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "default" },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: "api" } },
        template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "pause" }] } },
      },
    });
    // The subnet controller records an auto-pool's addresses before the pool is created.
    const sub = await h.client.get<SpiderSubnet>(SUBNETS, "s");
    await h.client.updateStatus(SUBNETS, {
      ...sub,
      status: {
        controlledIPPools: JSON.stringify({
          "auto4-api-eth0-12345": {
            ips: ["198.51.100.10-198.51.100.12"],
            application: "apps_v1_Deployment_default_api",
          },
        }),
        allocatedIPCount: 3,
      },
    });
    await h.client.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: {
        name: "auto4-api-eth0-12345",
        labels: {
          "ipam.spidernet.io/owner-spider-subnet": "s",
          "ipam.spidernet.io/owner-application-gv": "apps_v1",
          "ipam.spidernet.io/owner-application-kind": "Deployment",
          "ipam.spidernet.io/owner-application-namespace": "default",
          "ipam.spidernet.io/owner-application-name": "api",
        },
        annotations: { "ipam.spidernet.io/ippool-ip-number": "+2" },
      },
      spec: { subnet: "198.51.100.0/24", ipVersion: 4, ips: ["198.51.100.10-198.51.100.12"] },
    } as SpiderIPPool);
    const r = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file("subnet-shrunk.yaml", subnetYaml("198.51.100.10-198.51.100.14")),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Warning: SpiderSubnet s: leaves 2 free addresses, but its auto-created pools need 5 more to reach their applications' sizes: auto4-api-eth0-12345 of Deployment default\/api \(3 of 8\)/,
    );
    const roomy = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file("subnet-ok.yaml", subnetYaml("198.51.100.10-198.51.100.30")),
    ]);
    assert.equal(roomy.code, 0, roomy.stderr);
    assert.doesNotMatch(roomy.stderr, /Warning/);
  });

  it("freeing an address in use stays refused", async () => {
    const r = await dryRun("exclude.yaml", '  excludeIPs: ["192.0.2.10"]\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /192\.0\.2\.10 that is being used by Pod default\/web-a/);
  });
});
