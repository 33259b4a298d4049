/**
 * k8s.io/apimachinery messages: runtime.Unknown (the envelope), meta/v1 TypeMeta,
 * ObjectMeta, OwnerReference, LabelSelector. Field numbers from
 * staging/src/k8s.io/apimachinery/pkg/{runtime,apis/meta/v1}/generated.proto.
 */
import { f, list, map, message, ptr } from "./message.ts";

export const TypeMeta = message("k8s.io.apimachinery.pkg.runtime.TypeMeta", {
  1: f("apiVersion", "string"),
  2: f("kind", "string"),
});

export const Unknown = message("k8s.io.apimachinery.pkg.runtime.Unknown", {
  1: f("typeMeta", TypeMeta),
  2: f("raw", "bytes"),
  3: f("contentEncoding", "string"),
  4: f("contentType", "string"),
});

export const OwnerReference = message("k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference", {
  1: f("kind", "string"),
  3: f("name", "string"),
  4: f("uid", "string"),
  5: f("apiVersion", "string"),
  6: ptr("controller", "bool"),
  7: ptr("blockOwnerDeletion", "bool"),
});

export const ObjectMeta = message("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", {
  1: f("name", "string"),
  2: f("generateName", "string"),
  3: f("namespace", "string"),
  4: f("selfLink", "string"),
  5: f("uid", "string"),
  6: f("resourceVersion", "string"),
  7: f("generation", "int64"),
  8: f("creationTimestamp", "time"),
  9: ptr("deletionTimestamp", "time"),
  10: ptr("deletionGracePeriodSeconds", "int64"),
  11: map("labels", "string"),
  12: map("annotations", "string"),
  13: list("ownerReferences", OwnerReference),
  14: list("finalizers", "string"),
});

export const LabelSelectorRequirement = message("k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", {
  1: f("key", "string"),
  2: f("operator", "string"),
  3: list("values", "string"),
});

export const LabelSelector = message("k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector", {
  1: map("matchLabels", "string"),
  2: list("matchExpressions", LabelSelectorRequirement),
});
