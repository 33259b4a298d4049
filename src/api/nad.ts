import { Type, type Static } from "typebox";
import type { KindDefinition } from "./kind.ts";
import { apiVersionField, kindField, metadataField, type ObjectMeta } from "./meta.ts";

export const NAD_GROUP = "k8s.cni.cncf.io";
export const NAD_VERSION = "v1";

export const NetworkAttachmentDefinitionSpec = Type.Object(
  { config: Type.Optional(Type.String({ description: "JSON-formatted CNI configuration" })) },
  { description: "NetworkAttachmentDefinition spec defines the desired state of a network attachment" },
);
export type NetworkAttachmentDefinitionSpec = Static<typeof NetworkAttachmentDefinitionSpec>;

export interface NetworkAttachmentDefinition {
  apiVersion: string;
  kind: "NetworkAttachmentDefinition";
  metadata: ObjectMeta;
  spec?: NetworkAttachmentDefinitionSpec;
}

/** Multus's NAD, which the SpiderMultusConfig controller writes; shipped so installs have it. */
export const NetworkAttachmentDefinitionKind: KindDefinition = {
  group: NAD_GROUP,
  version: NAD_VERSION,
  kind: "NetworkAttachmentDefinition",
  listKind: "NetworkAttachmentDefinitionList",
  plural: "network-attachment-definitions",
  singular: "network-attachment-definition",
  shortNames: ["net-attach-def"],
  categories: [],
  scope: "Namespaced",
  statusSubresource: false,
  description: "NetworkAttachmentDefinition is a CRD schema specified by the Network Plumbing Working Group",
  printerColumns: [],
  schema: Type.Object({
    apiVersion: Type.Optional(apiVersionField),
    kind: Type.Optional(kindField),
    metadata: Type.Optional(metadataField),
    spec: Type.Optional(NetworkAttachmentDefinitionSpec),
  }),
};
