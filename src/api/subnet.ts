import { Type, type Static } from "typebox";
import { IPRangeSet } from "../ip/index.ts";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, Route, type ObjectMeta } from "./meta.ts";
import { Int64, IntEnum, StringList } from "./schema-helpers.ts";

export const SubnetSpec = Type.Object(
  {
    ipVersion: Type.Optional(
      IntEnum([4, 6] as const, { format: "int64", description: "IP family; derived from subnet when unset" }),
    ),
    subnet: Type.String({ description: "the network, a canonical CIDR" }),
    ips: Type.Optional(StringList({ description: "addresses the subnet may hand to its pools" })),
    excludeIPs: Type.Optional(StringList({ description: "addresses removed from ips" })),
    gateway: Type.Optional(Type.String({ description: "gateway copied into controlled pools" })),
    routes: Type.Optional(Type.Array(Route, { description: "routes copied into controlled pools" })),
  },
  { description: "SubnetSpec defines the desired state of SpiderSubnet" },
);
export type SubnetSpec = Static<typeof SubnetSpec>;

export const SubnetStatus = Type.Object(
  {
    controlledIPPools: Type.Optional(
      Type.String({ description: 'JSON map of pool name to {"ips":[...],"application":"..."}' }),
    ),
    totalIPCount: Type.Optional(Int64({ minimum: 0, description: "size of the effective address set" })),
    allocatedIPCount: Type.Optional(Int64({ minimum: 0, description: "addresses handed to controlled pools" })),
  },
  { description: "SubnetStatus defines the observed state of SpiderSubnet" },
);
export type SubnetStatus = Static<typeof SubnetStatus>;

export interface SpiderSubnet {
  apiVersion: string;
  kind: "SpiderSubnet";
  metadata: ObjectMeta;
  spec: SubnetSpec;
  status?: SubnetStatus;
}

/** One entry of `status.controlledIPPools`, keyed by pool name. */
export interface ControlledPool {
  ips: string[];
  application?: string;
}

export const SpiderSubnetKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderSubnet",
  listKind: "SpiderSubnetList",
  plural: "spidersubnets",
  singular: "spidersubnet",
  shortNames: ["ss"],
  categories: [CATEGORY],
  scope: "Cluster",
  statusSubresource: true,
  description: "SpiderSubnet is the Schema for the spidersubnets API",
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
  ],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(SubnetSpec),
    status: Type.Optional(SubnetStatus),
  }),
};

/** `status.controlledIPPools` as a map; throws on text that is not JSON. */
export function parseControlledPools(text: string | undefined): Map<string, ControlledPool> {
  if (text === undefined || text === "" || text === "null") return new Map();
  return new Map(Object.entries(JSON.parse(text) as Record<string, ControlledPool>));
}

/** `controlledIPPools` as stored: sorted keys, null when empty. */
export function renderControlledPools(entries: ReadonlyMap<string, ControlledPool>): string | undefined {
  if (entries.size === 0) return undefined;
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(sorted));
}

/** Addresses the entries hold; an entry that does not parse holds none. */
export function controlledSize(family: 4 | 6, entries: ReadonlyMap<string, ControlledPool>): bigint {
  let n = 0n;
  for (const e of entries.values()) {
    try {
      n += IPRangeSet.parse(family, e.ips).size;
    } catch {
      // An entry that does not parse holds nothing; the subnet reconciler drops it.
    }
  }
  return n;
}
