import type { TSchema } from "typebox";

export interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "number" | "boolean" | "date";
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

/** Everything needed to serve a kind and to write its CustomResourceDefinition. */
export interface KindDefinition {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly scope: "Cluster" | "Namespaced";
  /** True when `status` is a subresource (written only through `/status`). */
  readonly statusSubresource: boolean;
  readonly printerColumns: readonly PrinterColumn[];
  readonly description: string;
  /** The whole object: apiVersion, kind, metadata, spec, status. */
  readonly schema: TSchema;
}

export function crdName(def: Pick<KindDefinition, "plural" | "group">): string {
  return `${def.plural}.${def.group}`;
}

export function apiVersionOf(def: Pick<KindDefinition, "group" | "version">): string {
  return def.group === "" ? def.version : `${def.group}/${def.version}`;
}
