/**
 * ObjectMeta as kube-apiserver's generic registry treats it: the system fields a create
 * fills, and the name and label rules every kind shares.
 */
import { randomUUID } from "node:crypto";
import { stringifyJson } from "../api/int64.ts";
import { groupVersion, type ServedResource } from "./resources.ts";
import type { FieldError } from "./schema.ts";
import type { Obj } from "./store.ts";
import { isObj } from "./json-values.ts";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A new object from a request body: identity, timestamps, apiVersion and kind set by the server (generation: its strategy). */
export function freshObject(r: ServedResource, body: Record<string, unknown>, namespace: string | undefined): Obj {
  const meta = { ...((body["metadata"] as Obj["metadata"] | undefined) ?? {}) };
  meta.uid = randomUUID();
  meta.creationTimestamp = now();
  delete meta.generation;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.resourceVersion;
  if (r.namespaced && namespace !== undefined) meta.namespace = namespace;
  else delete meta.namespace;
  return { ...body, apiVersion: groupVersion(r), kind: r.kind, metadata: meta } as Obj;
}

/** `generateName` plus five characters from kube's alphabet (no vowels, no confusable digits). */
export function generatedName(prefix: string): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

/** Name and label rules; `label` for kinds whose names are DNS-1123 labels (namespaces). */
export function validateObjectMeta(obj: Obj, nameRule: "label" | "subdomain"): FieldError[] {
  const errors: FieldError[] = [];
  const name = obj.metadata.name ?? "";
  const re = nameRule === "label" ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (name === "")
    errors.push({
      type: "FieldValueRequired",
      field: "metadata.name",
      message: "Required value: name or generateName is required",
    });
  else if (!re.test(name) || name.length > (nameRule === "label" ? 63 : 253)) {
    errors.push({
      type: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${nameRule} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  }
  const labels = obj.metadata.labels;
  if (labels !== undefined && (!isObj(labels) || Object.values(labels).some((v) => typeof v !== "string"))) {
    errors.push({
      type: "FieldValueInvalid",
      field: "metadata.labels",
      message: "Invalid value: label values must be strings",
    });
  }
  return errors;
}

const TYPE_ERROR = (field: string, v: unknown, want: string): FieldError => ({
  type: "FieldValueTypeInvalid",
  field,
  message: `Invalid value: ${stringifyJson(v) ?? String(v)}: must be ${want}`,
});

/**
 * The shape of ObjectMeta, checked before anything reads it (admission, the store's owner
 * index): kube-apiserver's decoder refuses these; here they are field errors (422).
 */
export function metadataShapeErrors(meta: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  for (const k of ["name", "generateName", "namespace", "uid", "resourceVersion"]) {
    if (meta[k] !== undefined && meta[k] !== null && typeof meta[k] !== "string")
      errors.push(TYPE_ERROR(`metadata.${k}`, meta[k], "a string"));
  }
  for (const k of ["labels", "annotations"]) {
    const m = meta[k];
    if (m !== undefined && m !== null && (!isObj(m) || Object.values(m).some((v) => typeof v !== "string")))
      errors.push(TYPE_ERROR(`metadata.${k}`, m, "a map of strings"));
  }
  const fins = meta["finalizers"];
  if (fins !== undefined && fins !== null && (!Array.isArray(fins) || fins.some((f) => typeof f !== "string")))
    errors.push(TYPE_ERROR("metadata.finalizers", fins, "a list of strings"));
  const refs = meta["ownerReferences"];
  if (refs !== undefined && refs !== null) {
    if (!Array.isArray(refs)) errors.push(TYPE_ERROR("metadata.ownerReferences", refs, "a list"));
    else
      refs.forEach((ref, i) => {
        const at = `metadata.ownerReferences[${i}]`;
        if (!isObj(ref)) {
          errors.push(TYPE_ERROR(at, ref, "an object"));
          return;
        }
        for (const k of ["apiVersion", "kind", "name", "uid"]) {
          if (typeof ref[k] !== "string" || ref[k] === "")
            errors.push({ type: "FieldValueRequired", field: `${at}.${k}`, message: "Required value" });
        }
        for (const k of ["controller", "blockOwnerDeletion"]) {
          if (ref[k] !== undefined && ref[k] !== null && typeof ref[k] !== "boolean")
            errors.push(TYPE_ERROR(`${at}.${k}`, ref[k], "a boolean"));
        }
      });
  }
  return errors;
}
