import { Type, type Static } from "typebox";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, Route, type ObjectMeta } from "./meta.ts";
import { StringEnum, StringList } from "./schema-helpers.ts";

export const COORDINATOR_MODES = ["auto", "underlay", "overlay", "disabled"] as const;
export const POD_CIDR_TYPES = ["auto", "cluster", "calico", "cilium", "none"] as const;

/** Also embedded as SpiderMultusConfig `spec.coordinator`. */
export const CoordinatorSpec = Type.Object(
  {
    mode: Type.Optional(StringEnum(COORDINATOR_MODES, { default: "auto", description: "how the coordinator runs" })),
    podCIDRType: Type.Optional(
      StringEnum(POD_CIDR_TYPES, {
        description: "how overlay pod CIDRs are discovered; required for SpiderCoordinator",
      }),
    ),
    hijackCIDR: Type.Optional(StringList({ description: "IPs or CIDRs routed through the host" })),
    policyRoutes: Type.Optional(Type.Array(Route, { description: "routes in the coordinator NIC's policy table" })),
    podMACPrefix: Type.Optional(Type.String({ description: "fixed 2-byte unicast MAC prefix, e.g. 0a:1b" })),
    tunePodRoutes: Type.Optional(Type.Boolean({ default: true, description: "tune routes across multiple NICs" })),
    podDefaultRouteNIC: Type.Optional(
      Type.String({ description: "NIC that keeps the default route; empty means eth0" }),
    ),
    hostRuleTable: Type.Optional(Type.Integer({ default: 500, description: "host policy-routing table for pod IPs" })),
    podRPFilter: Type.Optional(Type.Integer({ default: 0, description: "pod rp_filter 0/1/2; negative leaves it" })),
    txQueueLen: Type.Optional(Type.Integer({ default: 0, description: "pod tx_queue_len; 0 leaves it" })),
    vethLinkAddress: Type.Optional(Type.String({ description: "IPv4 link-local address of veth0; empty disables" })),
    vethMTU: Type.Optional(Type.Integer({ format: "int64", minimum: 1, description: "MTU of veth0" })),
  },
  { description: "CoordinatorSpec defines the desired state of SpiderCoordinator" },
);
export type CoordinatorSpec = Static<typeof CoordinatorSpec>;

export const CoordinatorStatus = Type.Object(
  {
    phase: Type.String({ description: "Synced or NotReady" }),
    reason: Type.Optional(Type.String({ description: "why the phase is NotReady" })),
    overlayPodCIDR: Type.Optional(StringList({ description: "discovered overlay pod CIDRs" })),
    serviceCIDR: Type.Optional(StringList({ description: "discovered service CIDRs" })),
  },
  { description: "CoordinatorStatus defines the observed state of SpiderCoordinator" },
);
export type CoordinatorStatus = Static<typeof CoordinatorStatus>;

export interface SpiderCoordinator {
  apiVersion: string;
  kind: "SpiderCoordinator";
  metadata: ObjectMeta;
  spec: CoordinatorSpec;
  status?: CoordinatorStatus;
}

export const SpiderCoordinatorKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderCoordinator",
  listKind: "SpiderCoordinatorList",
  plural: "spidercoordinators",
  singular: "spidercoordinator",
  shortNames: ["scc"],
  categories: [CATEGORY],
  scope: "Cluster",
  statusSubresource: true,
  description: "SpiderCoordinator is the Schema for the spidercoordinators API",
  printerColumns: [],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(CoordinatorSpec),
    status: Type.Optional(CoordinatorStatus),
  }),
};
