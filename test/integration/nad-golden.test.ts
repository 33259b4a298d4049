// Golden NAD configs (node-networking §3.5): each SMC goes through what the API server
// does to it on create (schema defaults, the mutating webhook, schema defaults again) and
// then the generator; the result must equal the golden file byte for byte. The files
// under test/golden/nad/ are written from the spec's text, not from the generator.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { openAPIV3Schema } from "../../src/api/crd.ts";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../../src/api/multusconfig.ts";
import { pruneAndDefault } from "../../src/apiserver/schema.ts";
import { desiredNad, NadConfigError } from "../../src/controller/multus/nad-config.ts";
import { mutateMultusConfig, validateMultusConfig } from "../../src/controller/webhooks/multusconfig.ts";

const schema = openAPIV3Schema(SpiderMultusConfigKind) as Record<string, unknown>;

function admitted(name: string, spec: unknown, annotations?: Record<string, string>): SpiderMultusConfig {
  const body = {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderMultusConfig",
    metadata: { name, namespace: "kube-system", ...(annotations ? { annotations } : {}) },
    spec: structuredClone(spec),
  };
  pruneAndDefault(body, schema, "", [], true);
  const m = mutateMultusConfig(body as SpiderMultusConfig);
  pruneAndDefault(m, schema, "", [], true);
  assert.equal(validateMultusConfig({ operation: "CREATE", object: m }), undefined, `${name} is admitted`);
  return m;
}

const golden = (file: string): string => readFileSync(new URL(`../golden/nad/${file}.golden`, import.meta.url), "utf8");

interface Row {
  id: string;
  file: string;
  name: string;
  spec: unknown;
  annotations?: Record<string, string>;
  nadName?: string;
  resourceName?: string;
}

const coordinatorFull = {
  mode: "underlay",
  txQueueLen: 100,
  vethLinkAddress: "169.254.100.1",
  vethMTU: 1400,
  tunePodRoutes: false,
  podMACPrefix: "0a:1b",
  podDefaultRouteNIC: "net1",
  podRPFilter: 2,
  hostRuleTable: 200,
  hijackCIDR: ["198.51.100.0/24"],
  policyRoutes: [{ dst: "203.0.113.0/24", gw: "192.0.2.1" }],
};

const ROWS: Row[] = [
  {
    id: "NN-37 spec canonical macvlan",
    file: "spec-macvlan-ens192",
    name: "macvlan-ens192",
    spec: { cniType: "macvlan", macvlan: { master: ["ens192"], ippools: { ipv4: ["v4-pool"] } } },
  },
  {
    id: "spec canonical ipvlan, 2 masters + bond + vlan 100",
    file: "spec-ipvlan-bond-vlan",
    name: "x",
    spec: {
      cniType: "ipvlan",
      ipvlan: { master: ["ens192", "ens224"], vlanID: 100, bond: { name: "bond0", mode: 1 } },
    },
  },
  {
    id: "spec canonical sriov: vlan 100, rdmaIsolation, mtu 8000",
    file: "spec-sriov-rdma-mtu",
    name: "s",
    spec: { cniType: "sriov", sriov: { resourceName: "spidernet.io/vf", vlanID: 100, rdmaIsolation: true, mtu: 8000 } },
    resourceName: "spidernet.io/vf",
  },
  {
    id: "NN-38 macvlan vlanID 100: ifacer first, master ens192.100",
    file: "macvlan-vlan-ifacer",
    name: "macvlan-vlan",
    spec: { cniType: "macvlan", macvlan: { master: ["ens192"], vlanID: 100 } },
  },
  {
    id: "NN-39 macvlan 2 masters + bond: ifacer with the bond, main on bond0, chain in order (Go map keys, HTML escapes)",
    file: "macvlan-bond-chain",
    name: "macvlan-bond",
    spec: {
      cniType: "macvlan",
      macvlan: {
        master: ["ens192", "ens224"],
        bond: { name: "bond0", mode: 1, options: "miimon=100" },
        mtu: 1400,
        ippools: { ipv4: ["v4a", "v4b"], ipv6: ["v6"] },
      },
      chainCNIJsonData: [
        '{"type":"tuning","sysctl":{"x":"<a&b>","net.core.somaxconn":"4096"}}',
        '{"type":"sbr","b":1}',
      ],
    },
  },
  {
    id: "ipvlan single master: no ifacer, no mode key",
    file: "ipvlan-single",
    name: "ipvlan-ens192",
    spec: { cniType: "ipvlan", ipvlan: { master: ["ens192"] } },
  },
  {
    id: "vlan manual 100: vlanId, no suffix on master",
    file: "vlan-manual",
    name: "vlan100",
    spec: { cniType: "vlan", vlan: { master: ["ens192"], vlanID: 100 } },
  },
  {
    id: "vlan 2 masters: ifacer without vlanID, main on bond0, chain before coordinator",
    file: "vlan-bond-ifacer",
    name: "vlan-bond",
    spec: {
      cniType: "vlan",
      vlan: { master: ["ens192", "ens224"], vlanID: 100, bond: { name: "bond0", mode: 0 } },
      chainCNIJsonData: ['{"type":"tuning"}'],
    },
  },
  {
    id: "vlan auto: no vlanId",
    file: "vlan-auto",
    name: "vlan-auto",
    spec: { cniType: "vlan", vlan: { master: ["ens192"], vlanMode: "auto" } },
  },
  {
    id: "sriov: main, rdma, chain, coordinator, tuning; match_master_subnet",
    file: "sriov-chain-order",
    name: "sriov-chain",
    spec: {
      cniType: "sriov",
      sriov: {
        resourceName: "spidernet.io/vf",
        rdmaIsolation: true,
        mtu: 9000,
        minTxRateMbps: 10,
        maxTxRateMbps: 100,
        ippools: { ipv4: ["p4"], matchMasterSubnet: true },
      },
      chainCNIJsonData: ['{"type":"sbr"}'],
    },
    resourceName: "spidernet.io/vf",
  },
  {
    id: "sriov without rdma and mtu: no rdma, no tuning",
    file: "sriov-plain",
    name: "sriov-plain",
    spec: { cniType: "sriov", sriov: { resourceName: "spidernet.io/vf" } },
    resourceName: "spidernet.io/vf",
  },
  {
    id: "ib-sriov defaults, chain before coordinator",
    file: "ib-sriov-default",
    name: "ib",
    spec: { cniType: "ib-sriov", ibsriov: { resourceName: "spidernet.io/ib" }, chainCNIJsonData: ['{"type":"sbr"}'] },
    resourceName: "spidernet.io/ib",
  },
  {
    id: "ipoib",
    file: "ipoib",
    name: "ipoib",
    spec: { cniType: "ipoib", ipoib: { master: "ibs5f0" } },
  },
  { id: "ovs", file: "ovs", name: "ovs", spec: { cniType: "ovs", ovs: { bridge: "br1" } } },
  {
    id: "ovs with deviceID and trunk: the ovs resource name",
    file: "ovs-device-trunk",
    name: "ovs-dev",
    spec: {
      cniType: "ovs",
      ovs: { bridge: "br1", deviceID: "0000:01:00.1", trunk: [{ minID: 10, maxID: 20 }, { id: 42 }] },
    },
    resourceName: "ovs-cni.network.kubevirt.io/br1",
  },
  {
    id: "NN-44 disableIPAM: no ipam key",
    file: "disable-ipam",
    name: "noipam",
    spec: { cniType: "macvlan", macvlan: { master: ["eth0"] }, disableIPAM: true },
  },
  {
    id: "enableCoordinator false: no coordinator entry",
    file: "no-coordinator",
    name: "nocoord",
    spec: { cniType: "macvlan", macvlan: { master: ["eth0"] }, enableCoordinator: false },
  },
  {
    id: "NN-43 annotations: NAD name, cniVersion, config name",
    file: "annotations",
    name: "smc43",
    spec: { cniType: "macvlan", macvlan: { master: ["eth0"] } },
    annotations: {
      "multus.spidernet.io/cr-name": "foo",
      "multus.spidernet.io/cni-version": "1.0.0",
      "cni.spidernet.io/cniconfig-name": "bar",
    },
    nadName: "foo",
  },
  {
    id: "NN-49 coordinator.podCIDRType cluster: podRPFilter at the end",
    file: "coordinator-podcidrtype",
    name: "rpf",
    spec: { cniType: "macvlan", macvlan: { master: ["eth0"] }, coordinator: { podCIDRType: "cluster" } },
  },
  {
    id: "coordinator with every key: key order, no hostRuleTable, podRPFilter 2 kept (Q2 fixed)",
    file: "coordinator-full",
    name: "full",
    spec: { cniType: "macvlan", macvlan: { master: ["eth0"] }, coordinator: coordinatorFull },
  },
  {
    id: "NN-42 custom: customCNI verbatim, coordinator and chain ignored",
    file: "custom",
    name: "custom",
    spec: {
      cniType: "custom",
      customCNI: ' {"cniVersion": "0.4.0", "name": "br", "type": "bridge"}',
      chainCNIJsonData: ['{"type":"sbr"}'],
    },
  },
];

describe("NAD generator: golden configs (node-networking §3.5)", () => {
  for (const row of ROWS) {
    it(row.id, () => {
      const smc = admitted(row.name, row.spec, row.annotations);
      const nad = desiredNad(smc);
      assert.equal(nad.config, golden(row.file));
      assert.equal(nad.name, row.nadName ?? row.name);
      assert.equal(nad.namespace, "kube-system");
      assert.equal(nad.annotations["k8s.v1.cni.cncf.io/resourceName"], row.resourceName);
      for (const [k, v] of Object.entries(row.annotations ?? {})) assert.equal(nad.annotations[k], v);
    });
  }

  it("the spec's single-plugin fragments appear verbatim", () => {
    const plugin = (file: string) => golden(file);
    assert.ok(
      plugin("ib-sriov-default").includes(
        '{"type":"ib-sriov","pkey":"","link_state":"enable","rdmaIsolation":true,"ibKubernetesEnabled":false,"ipam":{"type":"spiderpool"}}',
      ),
    );
    assert.ok(plugin("ipoib").includes('{"type":"ipoib","master":"ibs5f0","ipam":{"type":"spiderpool"}}'));
    assert.ok(plugin("ovs").includes('{"vlan":0,"type":"ovs","bridge":"br1","ipam":{"type":"spiderpool"}}'));
    assert.ok(
      plugin("vlan-manual").includes(
        '{"type":"vlan","master":"ens192","vlanMode":"manual","vlanId":100,"mtu":0,"ipam":{"type":"spiderpool"}}',
      ),
    );
  });

  it("a custom SMC without customCNI gives a NAD without spec.config", () => {
    const nad = desiredNad(admitted("plain", { cniType: "custom" }));
    assert.equal(nad.config, undefined);
  });

  it("macvlan rdmaResourceName gives no NAD annotation (the pod webhook consumes it)", () => {
    const nad = desiredNad(
      admitted("rdma", { cniType: "macvlan", macvlan: { master: ["eth0"], rdmaResourceName: "r" } }),
    );
    assert.equal(nad.annotations["k8s.v1.cni.cncf.io/resourceName"], undefined);
  });

  it("a chain entry that is not JSON is a NadConfigError, never a half-built config", () => {
    const smc = admitted("bad", { cniType: "macvlan", macvlan: { master: ["eth0"] } });
    smc.spec.chainCNIJsonData = ["{bad"];
    assert.throws(
      () => desiredNad(smc),
      (e: unknown) => e instanceof NadConfigError && e.code === "ERR_NAD_CONFIG",
    );
  });
});
