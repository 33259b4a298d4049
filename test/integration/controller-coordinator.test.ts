// The SpiderCoordinator status controller against the embedded API server (node-networking
// §2.4): CIDR discovery for each podCIDRType from objects the test creates — kubeadm-config,
// kube-controller-manager pods, Calico IPPools, Cilium's ConfigMap and CiliumPodIPPools,
// ServiceCIDRs — with the third-party CRDs applied from YAML written here; phases, reasons,
// Events; and a controller that stays quiet while those kinds are not installed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { parse } from "yaml";
import type { SpiderCoordinator } from "../../src/api/coordinator.ts";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { SpiderpoolController } from "../../src/controller/controller.ts";
import { COORDINATORS } from "../../src/controller/coordinator/controller.ts";
import { ApiError, Resources, type KubeObject, type ResourceType } from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";

const crdYaml = (group: string, kind: string, plural: string, version: string, scope: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: ${scope}
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
    - name: ${version}
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
const CALICO: ResourceType = {
  group: "crd.projectcalico.org",
  version: "v1",
  plural: "ippools",
  kind: "IPPool",
  namespaced: false,
};
const CILIUM: ResourceType = {
  group: "cilium.io",
  version: "v2alpha1",
  plural: "ciliumpodippools",
  kind: "CiliumPodIPPool",
  namespaced: false,
};
const SVC_CIDRS: ResourceType = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "servicecidrs",
  kind: "ServiceCIDR",
  namespaced: false,
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

describe("SpiderCoordinator status controller (node-networking §2.4)", () => {
  let h: Harness;
  let c: SpiderpoolController;
  let dir: string;
  const logs: { level: number; msg: string }[] = [];

  const status = async () => (await h.client.get<SpiderCoordinator>(COORDINATORS, "default")).status;
  const settled = (want: (s: NonNullable<SpiderCoordinator["status"]>) => boolean, what: string) =>
    eventually(
      async () => {
        const s = await status();
        return s !== undefined && want(s);
      },
      5000,
      what,
    );
  const setType = async (t: string) => {
    await h.client.patchMerge(COORDINATORS, "default", { spec: { podCIDRType: t } });
  };
  const apply = async (yaml: string) => h.client.create(Resources.customresourcedefinitions, parse(yaml) as never);
  const events = async (reason: string) =>
    (await h.client.list<KubeObject>(Resources.events, { namespace: "default" })).items.filter(
      (e) => (e as { reason?: string }).reason === reason,
    );
  const configMap = (name: string, data: Record<string, string>) =>
    h.client.create(Resources.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "kube-system" },
      data,
    } as KubeObject);
  const replaceData = async (name: string, data: Record<string, string>) => {
    const cur = await h.client.get<KubeObject>(Resources.configmaps, name, "kube-system");
    await h.client.update(Resources.configmaps, { ...cur, data } as KubeObject);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "spt-mu-cni-"));
    h = await startApiServer();
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk
          .toString()
          .split("\n")
          .filter((l) => l !== "")) {
          const j = JSON.parse(line) as { level: number; msg: string };
          logs.push({ level: j.level, msg: j.msg });
        }
        cb();
      },
    });
    c = new SpiderpoolController({
      config: loadControllerConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "ctrl-coord",
        SPIDERPOOL_COORDINATOR_ENABLED: "true",
        SPIDERPOOL_CNI_CONFIG_DIR: dir,
        SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS: "100",
        SPIDERPOOL_TS_GC_INTERVAL_MS: "600000",
        SPIDERPOOL_TS_LEADER_DURATION_MS: "1500",
        SPIDERPOOL_TS_LEADER_RENEW_DEADLINE_MS: "1000",
        SPIDERPOOL_TS_LEADER_RETRY_PERIOD_MS: "100",
      }),
      client: h.newClient(),
      logger: pino({ level: "info" }, sink),
      ports: { health: 0, metrics: 0, webhook: 0 },
    });
    await c.start();
    await eventually(() => c.isLeader, 5000, "leadership");
  });
  after(async () => {
    await c?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("NN-36 the webhook requires podCIDRType, writes hijack IPs as prefixes and adds the finalizer", async () => {
    const base = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
    };
    const e = await rejected(h.client.create(COORDINATORS, { ...base, spec: {} } as SpiderCoordinator));
    assert.match(e.statusMessage, /spec\.podCIDRType: Unsupported value/);
    const created = await h.client.create<SpiderCoordinator>(COORDINATORS, {
      ...base,
      spec: { podCIDRType: "cluster", hijackCIDR: ["10.0.0.1"] },
    } as SpiderCoordinator);
    assert.deepEqual(created.spec.hijackCIDR, ["10.0.0.1/32"]);
    assert.deepEqual(created.metadata.finalizers, ["spiderpool.spidernet.io"]);
  });

  it("NN-33 no kubeadm-config and no kube-controller-manager pod: NotReady, both lists empty", async () => {
    await settled((s) => s.phase === "NotReady", "NotReady");
    assert.deepEqual(await status(), {
      phase: "NotReady",
      reason: "No kube-controller-manager pod found, unable to get clusterCIDR",
      overlayPodCIDR: [],
      serviceCIDR: [],
    });
  });

  it("NN-32 kubeadm-config gives both lists for podCIDRType cluster, without the controller-manager", async () => {
    await configMap("kubeadm-config", {
      ClusterConfiguration: "networking:\n  podSubnet: 10.233.64.0/18\n  serviceSubnet: 10.233.0.0/18\n",
    });
    await settled((s) => s.phase === "Synced", "Synced");
    assert.deepEqual(await status(), {
      phase: "Synced",
      overlayPodCIDR: ["10.233.64.0/18"],
      serviceCIDR: ["10.233.0.0/18"],
    });
  });

  it("NN-34 podCIDRType none: no overlay CIDRs, Service CIDR still found; the change is an Event", async () => {
    await setType("none");
    await settled((s) => s.overlayPodCIDR?.length === 0 && s.phase === "Synced", "none");
    assert.deepEqual((await status())?.serviceCIDR, ["10.233.0.0/18"]);
    await eventually(async () => (await events("PodCIDRTypeChanged")).length > 0, 5000, "PodCIDRTypeChanged");
    await setType("cluster");
    await settled((s) => s.overlayPodCIDR?.[0] === "10.233.64.0/18", "cluster again");
  });

  it("kube-controller-manager flags stand in when kubeadm-config has no subnets", async () => {
    await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kcm", namespace: "kube-system", labels: { component: "kube-controller-manager" } },
      spec: {
        containers: [
          {
            name: "kcm",
            image: "kcm",
            command: ["kube-controller-manager", "--cluster-cidr=10.244.0.0/16,fd00:10:244::/56"],
            args: ["--service-cluster-ip-range=10.96.0.0/12,not-a-cidr"],
          },
        ],
      },
    } as KubeObject);
    // Pods are no trigger; the ConfigMap's data change is.
    await replaceData("kubeadm-config", { ClusterConfiguration: "networking: {}\n" });
    await settled((s) => s.overlayPodCIDR?.[0] === "10.244.0.0/16", "kcm CIDRs");
    assert.deepEqual(await status(), {
      phase: "Synced",
      overlayPodCIDR: ["10.244.0.0/16", "fd00:10:244::/56"],
      serviceCIDR: ["10.96.0.0/12"],
    });
  });

  it("calico while its CRD is missing: NotReady with the list error, and no error logged", async () => {
    const before = logs.filter((l) => l.level >= 40).length;
    await setType("calico");
    await settled((s) => s.phase === "NotReady", "NotReady without Calico");
    assert.match((await status())?.reason ?? "", /not found|could not find/i);
    assert.equal(logs.filter((l) => l.level >= 40).length, before, "no warnings or errors logged");
  });

  it("NN-31 auto with Calico's conflist: non-disabled IPPools by creation time; IPPool events re-reconcile", async () => {
    writeFileSync(join(dir, "00-multus.conf"), JSON.stringify({ name: "multus-cni-network", type: "multus" }));
    writeFileSync(join(dir, "10-calico.conflist"), JSON.stringify({ name: "k8s-pod-network", plugins: [] }));
    writeFileSync(join(dir, "20-flannel.conflist"), JSON.stringify({ name: "flannel", plugins: [] }));
    await apply(crdYaml("crd.projectcalico.org", "IPPool", "ippools", "v1", "Cluster"));
    const pool = (name: string, cidr: string, disabled = false) =>
      h.client.create(CALICO, {
        apiVersion: "crd.projectcalico.org/v1",
        kind: "IPPool",
        metadata: { name },
        spec: { cidr, disabled },
      } as KubeObject);
    // "off" first: within one second, names break the tie, and "off" sorts first either way.
    await pool("off", "10.30.0.0/16", true);
    await pool("z-first", "10.10.0.0/16");
    const second = new Date().toISOString().slice(0, 19);
    await eventually(() => new Date().toISOString().slice(0, 19) !== second, 3000, "the next second");
    await pool("a-second", "10.20.0.0/16");
    await setType("auto");
    await settled((s) => s.phase === "Synced" && s.overlayPodCIDR?.length === 2, "Calico pools");
    assert.deepEqual((await status())?.overlayPodCIDR, ["10.10.0.0/16", "10.20.0.0/16"]);
    const off = await h.client.get<KubeObject>(CALICO, "off");
    await h.client.update(CALICO, { ...off, spec: { cidr: "10.30.0.0/16", disabled: false } } as KubeObject);
    await settled((s) => s.overlayPodCIDR?.length === 3, "the enabled pool");
    assert.deepEqual((await status())?.overlayPodCIDR, ["10.30.0.0/16", "10.10.0.0/16", "10.20.0.0/16"]);
  });

  it("cilium: ConfigMap modes, the missing-ConfigMap Event, CiliumPodIPPools once their CRD exists", async () => {
    unlinkSync(join(dir, "10-calico.conflist"));
    await setType("cilium");
    await settled((s) => s.phase === "NotReady" && (s.reason ?? "").includes("cilium-config"), "no ConfigMap");
    await eventually(async () => (await events("CiliumNotReady")).length > 0, 5000, "CiliumNotReady");
    await configMap("cilium-config", {
      ipam: "cluster-pool",
      "cluster-pool-ipv4-cidr": "10.0.0.0/8 172.16.0.0/12",
      "cluster-pool-ipv6-cidr": "fd00::/104",
    });
    await settled((s) => s.phase === "Synced", "cluster-pool");
    assert.deepEqual((await status())?.overlayPodCIDR, ["10.0.0.0/8", "172.16.0.0/12", "fd00::/104"]);
    await replaceData("cilium-config", { ipam: "multi-pool" });
    await settled((s) => s.reason === "the cilium multi-pool feature is unavailable", "multi-pool without its CRD");
    await apply(crdYaml("cilium.io", "CiliumPodIPPool", "ciliumpodippools", "v2alpha1", "Cluster"));
    await h.client.create(CILIUM, {
      apiVersion: "cilium.io/v2alpha1",
      kind: "CiliumPodIPPool",
      metadata: { name: "p1" },
      spec: { ipv4: { cidrs: ["10.50.0.0/16"] }, ipv6: { cidrs: ["fd50::/96"] } },
    } as KubeObject);
    await settled((s) => s.phase === "Synced" && s.overlayPodCIDR?.[0] === "10.50.0.0/16", "multi-pool");
    assert.deepEqual((await status())?.overlayPodCIDR, ["10.50.0.0/16", "fd50::/96"]);
    await replaceData("cilium-config", { ipam: "kubernetes" });
    await settled((s) => s.overlayPodCIDR?.[0] === "10.244.0.0/16", "kubernetes mode");
    await replaceData("cilium-config", { ipam: "eni" });
    await settled((s) => s.reason === "unsupported CIlium IPAM mode: eni", "unsupported mode");
  });

  it("ServiceCIDRs, once served, give the Service CIDRs in creation order", async () => {
    await setType("cluster");
    await settled((s) => s.phase === "Synced" && s.serviceCIDR?.[0] === "10.96.0.0/12", "kcm service CIDR");
    await apply(crdYaml("networking.k8s.io", "ServiceCIDR", "servicecidrs", "v1", "Cluster"));
    await h.client.create(SVC_CIDRS, {
      apiVersion: "networking.k8s.io/v1",
      kind: "ServiceCIDR",
      metadata: { name: "kubernetes" },
      spec: { cidrs: ["10.100.0.0/16", "fd00:100::/108"] },
    } as KubeObject);
    await settled((s) => s.serviceCIDR?.[0] === "10.100.0.0/16", "ServiceCIDR");
    assert.deepEqual((await status())?.serviceCIDR, ["10.100.0.0/16", "fd00:100::/108"]);
    await h.client.delete(SVC_CIDRS, "kubernetes");
    await settled((s) => s.serviceCIDR?.length === 0, "ServiceCIDR deleted");
  });

  it("a deleted coordinator goes: the controller releases the webhook's finalizer", async () => {
    await h.client.delete(COORDINATORS, "default");
    await eventually(
      async () => {
        try {
          await h.client.get(COORDINATORS, "default");
          return false;
        } catch (err) {
          return err instanceof ApiError && err.status === 404;
        }
      },
      5000,
      "the coordinator gone",
    );
  });
});
