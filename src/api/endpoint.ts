import { Type, type Static } from "typebox";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, Route, type ObjectMeta } from "./meta.ts";
import { Int64 } from "./schema-helpers.ts";

export const IPAllocationDetail = Type.Object({
  interface: Type.String({ description: "NIC name inside the pod" }),
  ipv4: Type.Optional(Type.String({ description: "IPv4 address as ip/prefix" })),
  ipv6: Type.Optional(Type.String({ description: "IPv6 address as ip/prefix" })),
  ipv4Pool: Type.Optional(Type.String({ description: "SpiderIPPool the IPv4 address came from" })),
  ipv6Pool: Type.Optional(Type.String({ description: "SpiderIPPool the IPv6 address came from" })),
  vlan: Type.Optional(Int64({ default: 0, minimum: 0, maximum: 4094, description: "DEPRECATED: vlan id" })),
  ipv4Gateway: Type.Optional(Type.String({ description: "gateway of the IPv4 pool" })),
  ipv6Gateway: Type.Optional(Type.String({ description: "gateway of the IPv6 pool" })),
  cleanGateway: Type.Optional(Type.Boolean({ description: "true: no default route through this NIC" })),
  routes: Type.Optional(Type.Array(Route, { description: "pool routes and matched pod routes" })),
  mac: Type.Optional(Type.String({ description: "MAC address supplied by an IaaS provider" })),
});
export type IPAllocationDetail = Static<typeof IPAllocationDetail>;

export const PodIPAllocation = Type.Object({
  uid: Type.String({ description: "pod UID" }),
  node: Type.String({ description: "node the pod runs on" }),
  ips: Type.Array(IPAllocationDetail, { description: "one item per NIC" }),
});
export type PodIPAllocation = Static<typeof PodIPAllocation>;

export const WorkloadEndpointStatus = Type.Object(
  {
    current: PodIPAllocation,
    ownerControllerType: Type.String({ description: "kind of the top owner (Pod for orphans)" }),
    ownerControllerName: Type.String({ description: "name of the top owner" }),
  },
  { description: "WorkloadEndpointStatus defines the observed state of SpiderEndpoint" },
);
export type WorkloadEndpointStatus = Static<typeof WorkloadEndpointStatus>;

export interface SpiderEndpoint {
  apiVersion: string;
  kind: "SpiderEndpoint";
  metadata: ObjectMeta;
  status?: WorkloadEndpointStatus;
}

export const SpiderEndpointKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderEndpoint",
  listKind: "SpiderEndpointList",
  plural: "spiderendpoints",
  singular: "spiderendpoint",
  shortNames: ["se"],
  categories: [CATEGORY],
  scope: "Namespaced",
  // Upstream writes status with a plain update; keep it a normal field for compatibility.
  statusSubresource: false,
  description: "SpiderEndpoint is the Schema for the spiderendpoints API",
  printerColumns: [
    { name: "INTERFACE", type: "string", jsonPath: ".status.current.ips[0].interface", description: "interface" },
    { name: "IPV4POOL", type: "string", jsonPath: ".status.current.ips[0].ipv4Pool", description: "ipv4Pool" },
    { name: "IPV4", type: "string", jsonPath: ".status.current.ips[0].ipv4", description: "ipv4" },
    { name: "IPV6POOL", type: "string", jsonPath: ".status.current.ips[0].ipv6Pool", description: "ipv6Pool" },
    { name: "IPV6", type: "string", jsonPath: ".status.current.ips[0].ipv6", description: "ipv6" },
    { name: "NODE", type: "string", jsonPath: ".status.current.node", description: "node" },
  ],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    status: Type.Optional(WorkloadEndpointStatus),
  }),
};
