import type { KindDefinition } from "./kind.ts";
import { crdName } from "./kind.ts";
import { sortKeys, toOpenAPI, type JsonSchema } from "./openapi.ts";

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: "Cluster" | "Namespaced";
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      additionalPrinterColumns?: Array<Record<string, unknown>>;
      schema: { openAPIV3Schema: JsonSchema };
      subresources?: { status?: Record<string, never> };
    }>;
  };
}

/** The openAPIV3Schema of a kind: the root description plus the converted schema. */
export function openAPIV3Schema(def: KindDefinition): JsonSchema {
  return sortKeys({ description: def.description, ...toOpenAPI(def.schema) });
}

/** The CustomResourceDefinition (apiextensions.k8s.io/v1) of a kind. */
export function toCrd(def: KindDefinition): CustomResourceDefinition {
  const version: CustomResourceDefinition["spec"]["versions"][number] = {
    name: def.version,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: openAPIV3Schema(def) },
  };
  if (def.printerColumns.length > 0) {
    version.additionalPrinterColumns = def.printerColumns.map((c) => {
      const col: Record<string, unknown> = { name: c.name, type: c.type, jsonPath: c.jsonPath };
      if (c.description !== undefined) col["description"] = c.description;
      if (c.priority !== undefined) col["priority"] = c.priority;
      return col;
    });
  }
  if (def.statusSubresource) version.subresources = { status: {} };
  const names: CustomResourceDefinition["spec"]["names"] = {
    kind: def.kind,
    listKind: def.listKind,
    plural: def.plural,
    singular: def.singular,
  };
  if (def.shortNames.length > 0) names.shortNames = [...def.shortNames];
  if (def.categories.length > 0) names.categories = [...def.categories];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdName(def) },
    spec: { group: def.group, names, scope: def.scope, versions: [version] },
  };
}

/** File name under deploy/crds/, in controller-gen's `<group>_<plural>.yaml` style. */
export function crdFileName(def: KindDefinition): string {
  return `${def.group}_${def.plural}.yaml`;
}
