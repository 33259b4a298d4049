// The pod mutating webhook through the embedded API server (spiderpool-api §2.6,
// node-networking §3.6): registered only with podResourceInject enabled, outside the
// excluded namespaces; it writes the Multus networks and device resources of the group the
// pod or its namespace names, and refuses a pod whose group is empty or unfit.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../../src/api/multusconfig.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { ApiError, Resources, resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { testController } from "../support/controller.ts";

const SMCS = resourceTypeOf(SpiderMultusConfigKind);
const RDMA = "cni.spidernet.io/rdma-resource-inject";
const NET = "cni.spidernet.io/network-resource-inject";

type Pod = KubeObject & {
  metadata: { annotations?: Record<string, string> };
  spec: {
    containers: {
      name: string;
      image?: string;
      resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
    }[];
  };
};

async function rejected(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail("expected the API server to reject the request");
}

describe("pod mutating webhook (spiderpool-api §2.6)", () => {
  let h: Harness;
  let c: SpiderpoolController;
  let dir: string;

  const pod = (ns: string, name: string, annotations?: Record<string, string>) =>
    h.client.create<Pod>(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
      spec: {
        containers: [
          { name: "c", image: "pause" },
          { name: "d", image: "pause" },
        ],
      },
    } as Pod);
  const namespace = (name: string, annotations?: Record<string, string>) =>
    h.client.create(Resources.namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "kubernetes.io/metadata.name": name }, ...(annotations ? { annotations } : {}) },
    } as KubeObject);
  // The group is an annotation, which the SMC webhook checks and copies to the label the pod
  // webhook selects; `labelOnly` plants an SMC that the SMC webhook never saw as grouped.
  const smc = (name: string, group: [string, string], spec: SpiderMultusConfig["spec"], labelOnly = false) =>
    h.client.create(SMCS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderMultusConfig",
      metadata: { name, namespace: "default", [labelOnly ? "labels" : "annotations"]: { [group[0]]: group[1] } },
      spec,
    } as SpiderMultusConfig);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "spt-mu-podwh-"));
    // The device plugin advertises master NICs and, with an IaaS provider, sub-ENI slots (steps 2 and 3).
    writeFileSync(
      join(dir, "conf.yml"),
      [
        "podResourceInject:\n  enabled: true",
        "agent:\n  networkResourcePlugin:\n    enabled: true\n    resourceAdvertisement:",
        "      masterNIC:\n        rules: [{}]\n      subENI:\n        rules: [{resourceName: example.io/eni}]",
        "iaasNetworkProvider:\n  serverUrl: http://127.0.0.1:9\n",
      ].join("\n"),
    );
    h = await startApiServer();
    c = testController(h, "ctrl-podwh", { SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true" }, join(dir, "conf.yml"));
    await c.start();
    await eventually(() => c.isLeader, 5000, "leadership");
    await namespace("app");
    await namespace("grouped", { [NET]: "net-g" });
    const pools = { ipv4: ["v4"] };
    await smc("rdma-b", [RDMA, "rdma-g"], {
      cniType: "macvlan",
      macvlan: { master: ["ens2"], rdmaResourceName: "spidernet.io/hca", ippools: pools },
    });
    await smc("rdma-a", [RDMA, "rdma-g"], {
      cniType: "sriov",
      sriov: { resourceName: "spidernet.io/vf", ippools: pools },
    });
    await smc("net-a", [NET, "net-g"], { cniType: "ipvlan", ipvlan: { master: ["ens3"] } });
    await smc("unfit", [NET, "unfit-g"], { cniType: "sriov", sriov: { resourceName: "spidernet.io/vf" } }, true);
  });
  after(async () => {
    await c?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is registered for pod CREATE with the chart's namespace exclusions", async () => {
    const cfg = await h.client.get<KubeObject>(Resources.mutatingwebhookconfigurations, "spiderpool-controller");
    const hook = (cfg["webhooks"] as { name: string; namespaceSelector?: unknown; rules: unknown[] }[]).find(
      (w) => w.name === "pods.spiderpool.spidernet.io",
    );
    assert.ok(hook, "the pod webhook is registered");
    assert.deepEqual(hook.namespaceSelector, {
      matchExpressions: [
        {
          key: "kubernetes.io/metadata.name",
          operator: "NotIn",
          values: ["kube-system", "spiderpool", "metallb-system", "istio-system"],
        },
      ],
    });
    assert.deepEqual(hook.rules, [
      { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "*" },
    ]);
  });

  it("rdma group from the pod: networks in the spec's order, each resource once in the first container", async () => {
    const p = await pod("app", "p1", { [RDMA]: "rdma-g" });
    assert.equal(p.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"], "default/rdma-b,default/rdma-a");
    assert.deepEqual(p.spec.containers[0]?.resources?.limits, {
      "spidernet.io/hca": "1",
      "spidernet.io/vf": "1",
      "spidernet.io/ens2-nic": "1",
    });
    assert.equal(p.spec.containers[1]?.resources?.limits, undefined);
  });

  it("network group from the namespace's annotation", async () => {
    const p = await pod("grouped", "p2");
    assert.equal(p.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"], "default/net-a");
    // Step 2 reads the networks step 1 wrote.
    assert.deepEqual(p.spec.containers[0]?.resources?.limits, { "spidernet.io/ens3-nic": "1" });
  });

  it("refuses a pod whose group is empty, or holds an SMC without pools", async () => {
    const e = await rejected(pod("app", "p3", { [RDMA]: "nobody" }));
    assert.match(
      e.message,
      /no spidermultusconfigs with annotation: cni\.spidernet\.io\/rdma-resource-inject:nobody found/,
    );
    const f = await rejected(pod("app", "p4", { [NET]: "unfit-g" }));
    assert.match(f.message, /no any ippools configured for spidermultusconfig default\/unfit/);
  });

  it("leaves pods of excluded namespaces and pods without a group alone", async () => {
    const p = await pod("kube-system", "p5", { [RDMA]: "nobody" });
    assert.equal(p.metadata?.annotations?.["k8s.v1.cni.cncf.io/networks"], undefined);
    const q = await pod("app", "p6");
    assert.equal(q.metadata?.annotations, undefined);
  });

  it("master-NIC resources and sub-ENI slots from the networks the pod names (§2.6 steps 2, 3)", async () => {
    await smc("vlan-auto", [NET, "unused-g"], { cniType: "vlan", vlan: { master: ["ens7"], vlanMode: "auto" } });
    const p = await pod("app", "p7", {
      "k8s.v1.cni.cncf.io/networks": "default/vlan-auto@net1,default/net-a,default/vlan-auto@net3,default/absent",
    });
    const want = { "spidernet.io/ens3-nic": "1", "spidernet.io/ens7-nic": "1", "example.io/eni": "2" };
    assert.deepEqual(p.spec.containers[0]?.resources?.requests, want);
    assert.deepEqual(p.spec.containers[0]?.resources?.limits, want);
    assert.equal(p.spec.containers[1]?.resources, undefined);
    const e = await rejected(pod("app", "p8", { "k8s.v1.cni.cncf.io/networks": "[{" }));
    assert.match(e.message, /k8s\.v1\.cni\.cncf\.io\/networks/);
  });
});
