import { Type, type Static } from "typebox";

/**
 * The subset of Kubernetes ObjectMeta our code reads and writes. CRD schemas describe
 * `metadata` only as `type: object` (the API server owns its shape), so this is a
 * TypeScript type, not part of any schema.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

/** Shared by every CRD schema: the standard top-level fields. */
export const apiVersionField = Type.String({
  description:
    "APIVersion defines the versioned schema of this representation of an object. Servers convert recognized schemas to the latest internal value.",
});
export const kindField = Type.String({
  description: "Kind is a string value representing the REST resource this object represents.",
});
/** The API server owns metadata's shape; CRDs declare it as a bare object. */
export const metadataField = Type.Unsafe<ObjectMeta>({ type: "object" });

/** `{dst, gw}`: an extra route for the NIC. Both are required by the CRD. */
export const Route = Type.Object({
  dst: Type.String({ description: "destination CIDR" }),
  gw: Type.String({ description: "next-hop address" }),
});
export type Route = Static<typeof Route>;

const LabelSelectorRequirement = Type.Object({
  key: Type.String({ description: "the label key that the selector applies to" }),
  operator: Type.String({ description: "In, NotIn, Exists or DoesNotExist" }),
  values: Type.Optional(
    Type.Array(Type.String(), {
      description: "values for In and NotIn (non-empty); empty for Exists and DoesNotExist",
      "x-kubernetes-list-type": "atomic",
    }),
  ),
});

/** Standard metav1.LabelSelector, with the API server's atomic markers. */
export function LabelSelector(description: string) {
  return Type.Object(
    {
      matchExpressions: Type.Optional(
        Type.Array(LabelSelectorRequirement, {
          description: "label selector requirements, ANDed",
          "x-kubernetes-list-type": "atomic",
        }),
      ),
      matchLabels: Type.Optional(
        Type.Record(Type.String(), Type.String(), { description: "label key/value pairs, ANDed" }),
      ),
    },
    { description, "x-kubernetes-map-type": "atomic" },
  );
}
const LabelSelectorSchema = LabelSelector("");
export type LabelSelector = Static<typeof LabelSelectorSchema>;
