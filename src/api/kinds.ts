import { SpiderCoordinatorKind } from "./coordinator.ts";
import { SpiderEndpointKind } from "./endpoint.ts";
import { SpiderIPPoolKind } from "./ippool.ts";
import type { KindDefinition } from "./kind.ts";
import { SpiderMultusConfigKind } from "./multusconfig.ts";
import { NetworkAttachmentDefinitionKind } from "./nad.ts";
import { SpiderReservedIPKind } from "./reservedip.ts";
import { SpiderSubnetKind } from "./subnet.ts";

/** The six kinds of spiderpool.spidernet.io/v2beta1, in the spec's order. */
export const SPIDER_KINDS: readonly KindDefinition[] = [
  SpiderIPPoolKind,
  SpiderSubnetKind,
  SpiderReservedIPKind,
  SpiderEndpointKind,
  SpiderMultusConfigKind,
  SpiderCoordinatorKind,
];

/** Every CRD we ship: ours plus the NetworkAttachmentDefinition we write objects of. */
export const ALL_KINDS: readonly KindDefinition[] = [...SPIDER_KINDS, NetworkAttachmentDefinitionKind];
