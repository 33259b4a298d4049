import { Type, type Static } from "typebox";
import { CATEGORY, GROUP, VERSION } from "./group.ts";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, type ObjectMeta } from "./meta.ts";
import { IntEnum, StringList } from "./schema-helpers.ts";

export const ReservedIPSpec = Type.Object(
  {
    ipVersion: Type.Optional(
      IntEnum([4, 6] as const, { format: "int64", description: "IP family; derived from ips[0] when unset" }),
    ),
    ips: Type.Optional(StringList({ description: "addresses no pool of this family ever hands out" })),
  },
  { description: "ReservedIPSpec defines the desired state of SpiderReservedIP" },
);
export type ReservedIPSpec = Static<typeof ReservedIPSpec>;

export interface SpiderReservedIP {
  apiVersion: string;
  kind: "SpiderReservedIP";
  metadata: ObjectMeta;
  spec: ReservedIPSpec;
}

export const SpiderReservedIPKind: KindDefinition = {
  group: GROUP,
  version: VERSION,
  kind: "SpiderReservedIP",
  listKind: "SpiderReservedIPList",
  plural: "spiderreservedips",
  singular: "spiderreservedip",
  shortNames: ["sr"],
  categories: [CATEGORY],
  scope: "Cluster",
  statusSubresource: false,
  description: "SpiderReservedIP is the Schema for the spiderreservedips API",
  printerColumns: [{ name: "VERSION", type: "string", jsonPath: ".spec.ipVersion", description: "ipVersion" }],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(ReservedIPSpec),
  }),
};
