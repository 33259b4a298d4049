import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import { mutateMultusConfig, validateMultusConfig } from "./multusconfig.ts";

const smc = (spec: SpiderMultusConfig["spec"], annotations?: Record<string, string>): SpiderMultusConfig => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderMultusConfig",
  metadata: { name: "net1", namespace: "kube-system", ...(annotations ? { annotations } : {}) },
  spec,
});
const check = (m: SpiderMultusConfig, extra: Partial<Parameters<typeof validateMultusConfig>[0]> = {}) =>
  validateMultusConfig({ operation: "CREATE", object: mutateMultusConfig(m), ...extra });

describe("SpiderMultusConfig webhook (spec §2.4)", () => {
  it("defaults per type, the coordinator for non-custom types, labels from inject annotations", () => {
    const m = mutateMultusConfig(
      smc({ cniType: "macvlan", macvlan: { master: ["eth0"] } }, { "cni.spidernet.io/rdma-resource-inject": "g1" }),
    );
    assert.deepEqual(m.spec?.macvlan, {
      master: ["eth0"],
      vlanID: 0,
      mtu: 0,
      rdmaResourceName: "",
      ippools: { ipv4: [], ipv6: [] },
    });
    assert.equal(m.spec?.coordinator?.tunePodRoutes, true);
    assert.deepEqual(m.spec?.chainCNIJsonData, []);
    assert.equal(m.metadata.labels?.["cni.spidernet.io/rdma-resource-inject"], "g1");
    const explicit = mutateMultusConfig(smc({ cniType: "macvlan", macvlan: { master: ["eth0"] }, coordinator: {} }));
    assert.equal(explicit.spec?.coordinator?.tunePodRoutes, false, "upstream's explicit-coordinator default");
    const custom = mutateMultusConfig(smc({ coordinator: { podRPFilter: 1 } }));
    assert.equal(custom.spec?.cniType, "custom");
    assert.equal(custom.spec?.coordinator, undefined);
    assert.equal(custom.spec?.customCNI, "");
    const vlan = mutateMultusConfig(smc({ cniType: "vlan", vlan: { master: ["eth0"] } }));
    assert.equal(vlan.spec?.vlan?.vlanMode, "manual");
    assert.equal(vlan.spec?.vlan?.vlanID, 0);
  });

  it("accepts valid configurations of each type", () => {
    assert.equal(check(smc({ cniType: "macvlan", macvlan: { master: ["eth0"] } })), undefined);
    assert.equal(
      check(smc({ cniType: "ipvlan", ipvlan: { master: ["eth0", "eth1"], bond: { name: "bond0", mode: 1 } } })),
      undefined,
    );
    assert.equal(check(smc({ cniType: "sriov", sriov: { resourceName: "vf" } })), undefined);
    assert.equal(check(smc({ cniType: "ib-sriov", ibsriov: { resourceName: "ib" } })), undefined);
    assert.equal(check(smc({ cniType: "ipoib", ipoib: { master: "ib0" } })), undefined);
    assert.equal(check(smc({ cniType: "ovs", ovs: { bridge: "br0", trunk: [{ minID: 10, maxID: 20 }] } })), undefined);
    assert.equal(check(smc({ cniType: "custom", customCNI: '{"type":"bridge"}' })), undefined);
  });

  it("refuses what the spec refuses, naming the field", () => {
    const field = (m: SpiderMultusConfig) => check(m)?.field;
    assert.equal(field(smc({ cniType: "macvlan" })), "spec.macvlan");
    assert.equal(field(smc({ cniType: "macvlan", macvlan: { master: [] } })), "spec.macvlan.master");
    assert.equal(field(smc({ cniType: "macvlan", macvlan: { master: ["a", "b"] } })), "spec.macvlan.bond");
    assert.equal(field(smc({ cniType: "macvlan", macvlan: { master: ["a"], vlanID: 5000 } })), "spec.macvlan.vlanID");
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"], ippools: { matchMasterSubnet: true } } })),
      "spec.macvlan.ippools.matchMasterSubnet",
    );
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] }, ipvlan: { master: ["b"] } })),
      "spec.cniType",
    );
    assert.equal(
      field(smc({ cniType: "vlan", vlan: { master: ["a"], vlanMode: "auto", vlanID: 3 } })),
      "spec.vlan.vlanID",
    );
    assert.equal(field(smc({ cniType: "sriov", sriov: {} })), "spec.sriov.resourceName");
    assert.equal(
      field(smc({ cniType: "sriov", sriov: { resourceName: "r", minTxRateMbps: 10, maxTxRateMbps: 5 } })),
      "spec.sriov.minTxRateMbps",
    );
    assert.equal(
      field(smc({ cniType: "ovs", ovs: { bridge: "br0", trunk: [{ minID: 20, maxID: 10 }] } })),
      "spec.ovs.trunk[0]",
    );
    assert.equal(field(smc({ cniType: "custom", customCNI: "{not json" })), "spec.customCNI");
    assert.equal(field(smc({ cniType: "custom", macvlan: { master: ["a"] } })), "spec.cniType");
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] } }, { "cni.spidernet.io/rdma-resource-inject": "g" })),
      "spec.macvlan.rdmaResourceName",
    );
    assert.equal(
      field(smc({ cniType: "ovs", ovs: { bridge: "b" } }, { "cni.spidernet.io/network-resource-inject": "g" })),
      "metadata.annotations",
    );
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] } }, { "multus.spidernet.io/cni-version": "0.2.0" })),
      "metadata.annotations",
    );
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] } }, { "multus.spidernet.io/cr-name": "Bad_Name" })),
      "metadata.annotations",
    );
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] }, chainCNIJsonData: ['{"x":1}'] })),
      "spec.chainCNIJsonData",
    );
    assert.equal(
      field(smc({ cniType: "macvlan", macvlan: { master: ["a"] }, coordinator: { podMACPrefix: "01:00" } })),
      "spec.coordinator.podMACPrefix",
    );
  });

  it("the NAD name is fixed once set, and a NAD managed by another config is not taken over", () => {
    const m = mutateMultusConfig(
      smc({ cniType: "macvlan", macvlan: { master: ["a"] } }, { "multus.spidernet.io/cr-name": "n2" }),
    );
    const old = mutateMultusConfig(smc({ cniType: "macvlan", macvlan: { master: ["a"] } }));
    assert.equal(
      validateMultusConfig({ operation: "UPDATE", object: m, oldObject: old })?.field,
      "metadata.annotations",
    );
    const v = validateMultusConfig({
      operation: "CREATE",
      object: m,
      existingNad: {
        metadata: {
          name: "n2",
          ownerReferences: [{ apiVersion: "v", kind: "SpiderMultusConfig", name: "other", uid: "u" }],
        },
      },
    });
    assert.equal(
      v?.detail,
      "the net-attach-def kube-system/n2 already exists and is managed by SpiderMultusConfig kube-system/other.",
    );
    assert.equal(
      validateMultusConfig({ operation: "CREATE", object: m, existingNad: { metadata: { name: "n2" } } }),
      undefined,
      "an unmanaged NAD is adopted",
    );
  });
});
