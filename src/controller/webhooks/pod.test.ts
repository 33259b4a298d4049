import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import { mutateMultusConfig } from "./multusconfig.ts";
import { injectGroup, injectPod, type PodLike } from "./pod.ts";
import { AdmissionDenied } from "./verdict.ts";

const RDMA = "cni.spidernet.io/rdma-resource-inject";
const NET = "cni.spidernet.io/network-resource-inject";
const smc = (ns: string, name: string, spec: SpiderMultusConfig["spec"]) =>
  mutateMultusConfig({ apiVersion: "x", kind: "SpiderMultusConfig", metadata: { name, namespace: ns }, spec });
const pool = { ipv4: ["p"] };
const pod = (annotations?: Record<string, string>, limits?: Record<string, string>[]): PodLike => ({
  metadata: { name: "p", namespace: "app", ...(annotations ? { annotations } : {}) },
  spec: { containers: (limits ?? [{}]).map((l) => ({ resources: { limits: l } })) },
});
const denied = (fn: () => unknown, message: string) =>
  assert.throws(fn, (e: unknown) => e instanceof AdmissionDenied && e.message === message);

describe("pod webhook: group injection (spiderpool-api §2.6)", () => {
  it("the pod's annotation wins over the namespace's; the rdma key over the network key", () => {
    assert.deepEqual(injectGroup(pod({ [NET]: "a" }), { [RDMA]: "b" }), { key: RDMA, value: "b" });
    assert.deepEqual(injectGroup(pod({ [RDMA]: "a" }), { [RDMA]: "b" }), { key: RDMA, value: "a" });
    assert.deepEqual(injectGroup(pod({ [NET]: "a" }), undefined), { key: NET, value: "a" });
    assert.equal(injectGroup(pod(), {}), undefined);
  });

  it("networks sorted by master/bond/resource then ns/name; each resource once, in the first container", () => {
    const group = { key: RDMA, value: "g" } as const;
    const out = injectPod(pod({ [RDMA]: "g" }, [{}, { "spidernet.io/already": "1" }]), group, [
      smc("b", "m2", {
        cniType: "macvlan",
        macvlan: { master: ["ens2"], rdmaResourceName: "spidernet.io/r1", ippools: pool },
      }),
      smc("a", "m1", {
        cniType: "macvlan",
        macvlan: { master: ["ens1"], rdmaResourceName: "spidernet.io/r1", ippools: pool },
      }),
      smc("a", "s1", { cniType: "sriov", sriov: { resourceName: "spidernet.io/already", ippools: pool } }),
      smc("a", "i1", {
        cniType: "ipvlan",
        ipvlan: {
          master: ["x", "y"],
          bond: { name: "bond0", mode: 1 },
          rdmaResourceName: "spidernet.io/r2",
          ippools: pool,
        },
      }),
    ]);
    assert.equal(out.metadata.annotations?.["k8s.v1.cni.cncf.io/networks"], "a/i1,a/m1,b/m2,a/s1");
    assert.deepEqual(out.spec?.containers?.[0]?.resources?.limits, { "spidernet.io/r2": "1", "spidernet.io/r1": "1" });
    assert.deepEqual(out.spec?.containers?.[1]?.resources?.limits, { "spidernet.io/already": "1" });
  });

  it("overwrites an existing networks annotation", () => {
    const out = injectPod(pod({ "k8s.v1.cni.cncf.io/networks": "x/y" }), { key: NET, value: "g" }, [
      smc("a", "m", { cniType: "macvlan", macvlan: { master: ["e"] } }),
    ]);
    assert.equal(out.metadata.annotations?.["k8s.v1.cni.cncf.io/networks"], "a/m");
  });

  const errors: [string, "rdma" | "net", SpiderMultusConfig[], string][] = [
    ["empty group", "rdma", [], `no spidermultusconfigs with annotation: ${RDMA}:g found`],
    [
      "ovs",
      "net",
      [smc("a", "o", { cniType: "ovs", ovs: { bridge: "br0" } })],
      "RDMA resource injection does not support cniType: ovs",
    ],
    [
      "rdma without resource",
      "rdma",
      [smc("a", "m", { cniType: "macvlan", macvlan: { master: ["e"], ippools: pool } })],
      "rdmaResourceName can not empty for spidermultusconfig a/m",
    ],
    [
      "rdma without pools",
      "rdma",
      [smc("a", "m", { cniType: "macvlan", macvlan: { master: ["e"], rdmaResourceName: "r" } })],
      "no any ippools configured for spidermultusconfig a/m",
    ],
    [
      "network key, resource without pools",
      "net",
      [smc("a", "s", { cniType: "sriov", sriov: { resourceName: "r" } })],
      "no any ippools configured for spidermultusconfig a/s",
    ],
  ];
  for (const [what, k, smcs, message] of errors)
    it(`refuses: ${what}`, () =>
      denied(
        () => injectPod(pod(), { key: k === "rdma" ? RDMA : NET, value: "g" }, smcs),
        message.replace(`${RDMA}:g`, `${k === "rdma" ? RDMA : NET}:g`),
      ));

  it("network key without resource needs no pools", () => {
    const out = injectPod(pod(), { key: NET, value: "g" }, [
      smc("a", "m", { cniType: "macvlan", macvlan: { master: ["e"] } }),
    ]);
    assert.deepEqual(out.spec?.containers?.[0]?.resources?.limits, {});
  });
});
