/**
 * Building blocks for the OpenAPI schemas of built-in kinds, written here from the
 * Kubernetes API reference (k8s.io/api). They drive the same pruning, validation and
 * `fieldValidation` handling as a CRD's schema (schema.ts) and the OpenAPI v3 documents
 * kubectl reads. A subtree written as `open()` is kept as sent and not validated.
 */
import type { Schema } from "../schema.ts";

export const str: Schema = { type: "string" };
export const bool: Schema = { type: "boolean" };
export const int32: Schema = { type: "integer", format: "int32" };
export const int64: Schema = { type: "integer", format: "int64" };
export const intOrString: Schema = { "x-kubernetes-int-or-string": true };
export const strMap: Schema = { type: "object", additionalProperties: str };

export function arr(items: Schema): Schema {
  return { type: "array", items };
}

export const strings: Schema = arr(str);

export function obj(properties: Record<string, Schema>, required: string[] = []): Schema {
  return required.length > 0 ? { type: "object", properties, required } : { type: "object", properties };
}

/** A subtree not described here: kept as sent (pod specs, statuses written by controllers). */
export function open(): Schema {
  return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
}

/** A top-level kind: apiVersion, kind and metadata plus its own fields. */
export function kind(properties: Record<string, Schema>, required: string[] = []): Schema {
  return obj({ apiVersion: str, kind: str, metadata: { type: "object" }, ...properties }, required);
}

export const labelSelector: Schema = obj({
  matchLabels: strMap,
  matchExpressions: arr(obj({ key: str, operator: str, values: strings }, ["key", "operator"])),
});

export const objectReference: Schema = obj({
  apiVersion: str,
  kind: str,
  name: str,
  namespace: str,
  uid: str,
  resourceVersion: str,
  fieldPath: str,
});

/** A pod template; its pod spec is not described here (see docs/apiserver.md). */
export const podTemplate: Schema = obj({ metadata: open(), spec: open() });
