import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CILIUM_MULTI_POOL_UNAVAILABLE,
  CLUSTER_NOT_READY,
  cniTypeFromConfigs,
  kcmCidrs,
  kubeadmCidrs,
  NO_KCM_POD,
  planCoordinatorStatus,
  type CoordinatorInputs,
} from "./discover.ts";

const conf = (name: string, cni: string) => ({ name, content: JSON.stringify({ name: cni }) });

describe("podCIDRType auto: the default CNI from the CNI directory", () => {
  const rows: [string, ReturnType<typeof conf>[], string][] = [
    ["no file", [], "none"],
    ["calico", [conf("10-calico.conflist", "calico")], "calico"],
    ["k8s-pod-network", [conf("10-calico.conflist", "k8s-pod-network")], "calico"],
    ["cilium", [conf("05-cilium.conf", "cilium")], "cilium"],
    ["flannel", [conf("10-flannel.conflist", "flannel")], "cluster"],
    ["other", [conf("10-x.conf", "weave")], "none"],
    ["multus skipped", [conf("00-multus.conf", "calico"), conf("10-f.conflist", "flannel")], "cluster"],
    ["first by name", [conf("20-a.conflist", "cilium"), conf("10-b.conflist", "flannel")], "cluster"],
    ["other suffixes ignored", [conf("01-a.json", "cilium")], "none"],
    ["not JSON", [{ name: "10-a.conf", content: "{" }], "none"],
  ];
  for (const [what, files, want] of rows) it(what, () => assert.equal(cniTypeFromConfigs(files), want));
});

describe("cluster CIDRs", () => {
  it("kubeadm-config: comma lists, invalid entries dropped", () => {
    assert.deepEqual(kubeadmCidrs("podSubnet: 10.244.0.0/16,fd00::/56\nserviceSubnet: 10.96.0.0/12,bogus\n"), {
      pod: ["10.244.0.0/16", "fd00::/56"],
      service: ["10.96.0.0/12"],
    });
    assert.deepEqual(kubeadmCidrs(undefined), { pod: [], service: [] });
  });
  it("kube-controller-manager: command then args of the first container", () => {
    assert.deepEqual(
      kcmCidrs({
        spec: {
          containers: [
            { command: ["kcm", "--cluster-cidr=10.1.0.0/16"], args: ["--service-cluster-ip-range=10.2.0.0/16"] },
          ],
        },
      }),
      { pod: ["10.1.0.0/16"], service: ["10.2.0.0/16"] },
    );
  });
});

describe("planCoordinatorStatus (node-networking §2.4)", () => {
  const base: CoordinatorInputs = {
    type: "cluster",
    kubeadm: { pod: ["10.244.0.0/16"], service: ["10.96.0.0/12"] },
    kcm: undefined,
    calico: undefined,
    cilium: undefined,
    serviceCidrs: undefined,
  };
  const rows: [
    string,
    Partial<CoordinatorInputs>,
    { phase: string; reason: string; overlay?: string[]; svc?: string[] },
  ][] = [
    ["cluster from kubeadm", {}, { phase: "Synced", reason: "", overlay: ["10.244.0.0/16"], svc: ["10.96.0.0/12"] }],
    [
      "type error",
      { type: { error: "open /etc/cni/net.d: no such file" } },
      { phase: "NotReady", reason: "open /etc/cni/net.d: no such file" },
    ],
    ["no kcm pod", { kubeadm: { pod: [], service: [] }, kcm: [] }, { phase: "NotReady", reason: NO_KCM_POD }],
    [
      "kcm list error",
      { kubeadm: { pod: [], service: [] }, kcm: { error: "forbidden" } },
      { phase: "NotReady", reason: "forbidden" },
    ],
    ["none", { type: "none" }, { phase: "Synced", reason: "", overlay: [], svc: ["10.96.0.0/12"] }],
    [
      "calico, disabled and deleting pools skipped",
      {
        type: "calico",
        calico: [
          { metadata: { name: "b", creationTimestamp: "2026-01-01T00:00:02Z" }, spec: { cidr: "10.2.0.0/16" } },
          { metadata: { name: "a", creationTimestamp: "2026-01-01T00:00:01Z" }, spec: { cidr: "10.1.0.0/16" } },
          { metadata: { name: "c" }, spec: { cidr: "10.3.0.0/16", disabled: true } },
          { metadata: { name: "d", deletionTimestamp: "x" }, spec: { cidr: "10.4.0.0/16" } },
        ],
      },
      { phase: "Synced", reason: "", overlay: ["10.1.0.0/16", "10.2.0.0/16"] },
    ],
    ["calico list error", { type: "calico", calico: { error: "404" } }, { phase: "NotReady", reason: "404" }],
    [
      "cilium cluster-pool without the CiliumPodIPPool kind",
      {
        type: "cilium",
        cilium: { data: { ipam: "cluster-pool", "cluster-pool-ipv4-cidr": "10.0.0.0/8" }, pools: undefined },
      },
      { phase: "Synced", reason: "", overlay: ["10.0.0.0/8"] },
    ],
    [
      "cilium multi-pool without the kind",
      { type: "cilium", cilium: { data: { ipam: "multi-pool" }, pools: undefined } },
      { phase: "NotReady", reason: CILIUM_MULTI_POOL_UNAVAILABLE },
    ],
    [
      "cilium kubernetes",
      { type: "cilium", cilium: { data: { ipam: "kubernetes" }, pools: [] } },
      { phase: "Synced", reason: "", overlay: ["10.244.0.0/16"] },
    ],
    [
      "cilium unknown mode",
      { type: "cilium", cilium: { data: { ipam: "eni" }, pools: [] } },
      { phase: "NotReady", reason: "unsupported CIlium IPAM mode: eni" },
    ],
    [
      "ServiceCIDRs served replace the kube Service CIDR",
      { serviceCidrs: [{ metadata: { name: "k" }, spec: { cidrs: ["10.100.0.0/16"] } }] },
      { phase: "Synced", reason: "", svc: ["10.100.0.0/16"] },
    ],
  ];
  for (const [what, over, want] of rows)
    it(what, () => {
      const p = planCoordinatorStatus({ ...base, ...over });
      assert.equal(p.phase, want.phase);
      assert.equal(p.reason, want.reason);
      if (want.overlay) assert.deepEqual(p.overlayPodCIDR, want.overlay);
      if (want.svc) assert.deepEqual(p.serviceCIDR, want.svc);
      if (p.phase === "NotReady") assert.deepEqual([p.overlayPodCIDR, p.serviceCIDR], [[], []]);
    });

  it("a failing kube-controller-manager list is a ClusterNotReady Warning", () => {
    const p = planCoordinatorStatus({ ...base, kubeadm: { pod: [], service: [] }, kcm: { error: "x" } });
    assert.deepEqual(p.events, [{ type: "Warning", reason: "ClusterNotReady", message: CLUSTER_NOT_READY }]);
  });
});
