/**
 * ObjectMeta as kube-apiserver's generic registry treats it: the system fields a create
 * fills, and the name and label rules every kind shares.
 */
import { randomUUID } from "node:crypto";
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
