import { Type, type Static } from "typebox";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, LabelSelector, metadataField, Route, type ObjectMeta } from "./meta.ts";
import { Int64, IntEnum, StringList } from "./schema-helpers.ts";

export const IPPoolSpec = Type.Object(
  {
    ipVersion: Type.Optional(
      IntEnum([4, 6] as const, { format: "int64", description: "IP family; derived from subnet when unset" }),
    ),
    subnet: Type.String({ description: "the pool's network, a canonical CIDR" }),
    ips: Type.Optional(StringList({ description: "allocatable addresses: 'a' or 'a-b' ranges inside subnet" })),
    excludeIPs: Type.Optional(StringList({ description: "addresses removed from ips" })),
    gateway: Type.Optional(Type.String({ description: "default-route next hop, inside subnet" })),
    routes: Type.Optional(Type.Array(Route, { description: "extra routes for the NIC" })),
    podAffinity: Type.Optional(LabelSelector("pods allowed to use the pool")),
    namespaceAffinity: Type.Optional(LabelSelector("namespaces (by labels) allowed to use the pool")),
    namespaceName: Type.Optional(
      StringList({ description: "namespaces (by name) allowed; wins over namespaceAffinity" }),
    ),
    nodeAffinity: Type.Optional(LabelSelector("nodes (by labels) allowed to use the pool")),
    nodeName: Type.Optional(StringList({ description: "nodes (by name) allowed; wins over nodeAffinity" })),
    multusName: Type.Optional(
      StringList({ description: "NetworkAttachmentDefinitions ('ns/name' or 'name') allowed to use the pool" }),
    ),
    default: Type.Optional(Type.Boolean({ default: false, description: "member of the cluster default pools" })),
    disable: Type.Optional(Type.Boolean({ default: false, description: "skip the pool for new allocations" })),
  },
  { description: "IPPoolSpec defines the desired state of SpiderIPPool" },
);
export type IPPoolSpec = Static<typeof IPPoolSpec>;

export const IPPoolStatus = Type.Object(
  {
    allocatedIPs: Type.Optional(
      Type.String({ description: 'JSON map of IP to {"pod":"ns/name","podUid":"uid"}; absent when empty' }),
    ),
    totalIPCount: Type.Optional(Int64({ minimum: 0, description: "size of the effective address set" })),
    allocatedIPCount: Type.Optional(Int64({ minimum: 0, description: "number of allocation records" })),
  },
  { description: "IPPoolStatus defines the observed state of SpiderIPPool" },
);
export type IPPoolStatus = Static<typeof IPPoolStatus>;

export interface SpiderIPPool {
  apiVersion: string;
  kind: "SpiderIPPool";
  metadata: ObjectMeta;
  spec: IPPoolSpec;
  status?: IPPoolStatus;
}

/** One record of `status.allocatedIPs`, keyed by the bare IP. */
export interface PoolIPAllocation {
  pod: string;
  podUid: string;
}

export const SpiderIPPoolKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderIPPool",
  listKind: "SpiderIPPoolList",
  plural: "spiderippools",
  singular: "spiderippool",
  shortNames: ["sp"],
  categories: [CATEGORY],
  scope: "Cluster",
  statusSubresource: true,
  description: "SpiderIPPool is the Schema for the spiderippools API",
  printerColumns: [
    { name: "VERSION", type: "string", jsonPath: ".spec.ipVersion", description: "ipVersion" },
    { name: "SUBNET", type: "string", jsonPath: ".spec.subnet", description: "subnet" },
    {
      name: "ALLOCATED-IP-COUNT",
      type: "integer",
      jsonPath: ".status.allocatedIPCount",
      description: "allocatedIPCount",
    },
    { name: "TOTAL-IP-COUNT", type: "integer", jsonPath: ".status.totalIPCount", description: "totalIPCount" },
    { name: "DEFAULT", type: "boolean", jsonPath: ".spec.default", description: "default" },
    { name: "DISABLE", type: "boolean", jsonPath: ".spec.disable", description: "disable", priority: 10 },
    { name: "NodeName", type: "string", jsonPath: ".spec.nodeName", description: "nodeName", priority: 10 },
    { name: "MultusName", type: "string", jsonPath: ".spec.multusName", description: "multusName", priority: 10 },
    {
      name: "APP-NAMESPACE",
      type: "string",
      jsonPath: ".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']",
      description: "AppNamespace",
      priority: 10,
    },
  ],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(IPPoolSpec),
    status: Type.Optional(IPPoolStatus),
  }),
};
