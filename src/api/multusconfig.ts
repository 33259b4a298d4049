import { Type, type Static } from "typebox";
import { CoordinatorSpec } from "./coordinator.ts";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, type ObjectMeta } from "./meta.ts";
import { Int32, StringEnum, StringList } from "./schema-helpers.ts";

export const CNI_TYPES = ["macvlan", "ipvlan", "vlan", "sriov", "ovs", "ib-sriov", "ipoib", "custom"] as const;
export type CniType = (typeof CNI_TYPES)[number];

const vlanID = () => Int32({ minimum: 0, maximum: 4094, description: "vlan id, 0..4094" });
const mtu = () => Int32({ default: 0, minimum: 0, description: "MTU; 0 keeps the kernel default" });

export const SpiderpoolPools = Type.Object(
  {
    ipv4: Type.Optional(StringList({ description: "default IPv4 pools written into the ipam block" })),
    ipv6: Type.Optional(StringList({ description: "default IPv6 pools written into the ipam block" })),
    matchMasterSubnet: Type.Optional(
      Type.Boolean({
        default: false,
        enum: [true, false],
        description: "only pools whose subnet is on the master (sriov only)",
      }),
    ),
  },
  { description: "SpiderpoolPools selects the Spiderpool IPAM pools" },
);
export type SpiderpoolPools = Static<typeof SpiderpoolPools>;

export const BondConfig = Type.Object({
  name: Type.String({ description: "bond interface name" }),
  mode: Int32({ minimum: 0, maximum: 6, description: "bonding mode 0..6" }),
  options: Type.Optional(Type.String({ description: "bond options, k1=v1;k2=v2" })),
});
export type BondConfig = Static<typeof BondConfig>;

const masterList = () => StringList({ description: "host NICs; two or more need bond" });

export const SpiderMacvlanCniConfig = Type.Object({
  master: masterList(),
  mtu: Type.Optional(mtu()),
  vlanID: Type.Optional(vlanID()),
  bond: Type.Optional(BondConfig),
  rdmaResourceName: Type.Optional(Type.String({ description: "RDMA device-plugin resource to inject" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderMacvlanCniConfig = Static<typeof SpiderMacvlanCniConfig>;

export const SpiderIPvlanCniConfig = SpiderMacvlanCniConfig;
export type SpiderIPvlanCniConfig = SpiderMacvlanCniConfig;

export const SpiderVlanCniConfig = Type.Object({
  master: masterList(),
  mtu: Type.Optional(mtu()),
  vlanMode: Type.Optional(
    StringEnum(["manual", "auto"] as const, {
      default: "manual",
      description: "manual: vlanID given; auto: vlanID chosen",
    }),
  ),
  vlanID: Type.Optional(vlanID()),
  bond: Type.Optional(BondConfig),
  rdmaResourceName: Type.Optional(Type.String({ description: "RDMA device-plugin resource to inject" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderVlanCniConfig = Static<typeof SpiderVlanCniConfig>;

export const SpiderSRIOVCniConfig = Type.Object({
  resourceName: Type.Optional(Type.String({ description: "SR-IOV device-plugin resource" })),
  vlanID: Type.Optional(vlanID()),
  mtu: Type.Optional(mtu()),
  minTxRateMbps: Type.Optional(Type.Integer({ minimum: 0, description: "VF minimum rate, Mbps" })),
  maxTxRateMbps: Type.Optional(Type.Integer({ minimum: 0, description: "VF maximum rate, Mbps; 0 unlimited" })),
  rdmaIsolation: Type.Optional(Type.Boolean({ default: false, description: "add the rdma CNI plugin" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderSRIOVCniConfig = Static<typeof SpiderSRIOVCniConfig>;

export const SpiderIBSriovCniConfig = Type.Object({
  resourceName: Type.Optional(Type.String({ description: "IB SR-IOV device-plugin resource" })),
  pkey: Type.Optional(Type.String({ description: "InfiniBand partition key" })),
  linkState: Type.Optional(
    StringEnum(["auto", "enable", "disable"] as const, { default: "enable", description: "VF link state" }),
  ),
  rdmaIsolation: Type.Optional(Type.Boolean({ default: true, description: "add the rdma CNI plugin" })),
  enableIbKubernetes: Type.Optional(Type.Boolean({ default: false, description: "use ib-kubernetes" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderIBSriovCniConfig = Static<typeof SpiderIBSriovCniConfig>;

export const SpiderIpoibCniConfig = Type.Object({
  master: Type.Optional(Type.String({ description: "host IPoIB interface" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderIpoibCniConfig = Static<typeof SpiderIpoibCniConfig>;

export const Trunk = Type.Object({
  minID: Type.Optional(Type.Integer({ minimum: 0, maximum: 4094 })),
  maxID: Type.Optional(Type.Integer({ minimum: 0, maximum: 4094 })),
  id: Type.Optional(Type.Integer({ minimum: 0, maximum: 4094 })),
});
export type Trunk = Static<typeof Trunk>;

export const SpiderOvsCniConfig = Type.Object({
  bridge: Type.String({ description: "OVS bridge" }),
  vlan: Type.Optional(Int32({ description: "access vlan" })),
  trunk: Type.Optional(Type.Array(Trunk, { description: "trunk vlans" })),
  deviceID: Type.Optional(Type.String({ description: "PCI address of a VF, sysfs format" })),
  ippools: Type.Optional(SpiderpoolPools),
});
export type SpiderOvsCniConfig = Static<typeof SpiderOvsCniConfig>;

export const MultusCNIConfigSpec = Type.Object(
  {
    cniType: Type.Optional(StringEnum(CNI_TYPES, { default: "custom", description: "main CNI plugin" })),
    macvlan: Type.Optional(SpiderMacvlanCniConfig),
    ipvlan: Type.Optional(SpiderIPvlanCniConfig),
    vlan: Type.Optional(SpiderVlanCniConfig),
    sriov: Type.Optional(SpiderSRIOVCniConfig),
    ovs: Type.Optional(SpiderOvsCniConfig),
    ibsriov: Type.Optional(SpiderIBSriovCniConfig),
    ipoib: Type.Optional(SpiderIpoibCniConfig),
    enableCoordinator: Type.Optional(
      Type.Boolean({ default: true, description: "append the coordinator plugin; false for custom" }),
    ),
    disableIPAM: Type.Optional(Type.Boolean({ default: false, description: "omit the ipam block" })),
    coordinator: Type.Optional(CoordinatorSpec),
    chainCNIJsonData: Type.Optional(StringList({ description: "JSON of extra chained CNI plugins" })),
    customCNI: Type.Optional(Type.String({ description: "full CNI config JSON for cniType custom" })),
  },
  { description: "MultusCNIConfigSpec is the specification of a SpiderMultusConfig" },
);
export type MultusCNIConfigSpec = Static<typeof MultusCNIConfigSpec>;

export interface SpiderMultusConfig {
  apiVersion: string;
  kind: "SpiderMultusConfig";
  metadata: ObjectMeta;
  spec: MultusCNIConfigSpec;
}

export const SpiderMultusConfigKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderMultusConfig",
  listKind: "SpiderMultusConfigList",
  plural: "spidermultusconfigs",
  singular: "spidermultusconfig",
  shortNames: ["smc"],
  categories: [CATEGORY],
  scope: "Namespaced",
  statusSubresource: false,
  description: "SpiderMultusConfig is the Schema for the spidermultusconfigs API",
  printerColumns: [],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(MultusCNIConfigSpec),
  }),
};
