/**
 * The `scale` subresource, as kube-apiserver serves it for apps/v1 Deployments, ReplicaSets
 * and StatefulSets: an autoscaling/v1 Scale whose spec.replicas is the object's and whose
 * status carries the replica count and the selector as a string. `kubectl scale` patches it.
 */
import { badRequest } from "./http-errors.ts";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";
import type { ServedResource } from "./resources.ts";
import type { Obj } from "./store.ts";

const SCALABLE = new Set(["apps/deployments", "apps/replicasets", "apps/statefulsets"]);

export function isScalable(r: ServedResource): boolean {
  return SCALABLE.has(`${r.group}/${r.plural}`);
}

/** The discovery entry kube-apiserver lists for `<plural>/scale`. */
export function scaleDiscovery(r: ServedResource): Record<string, unknown> {
  return {
    name: `${r.plural}/scale`,
    singularName: "",
    namespaced: r.namespaced,
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    verbs: ["get", "patch", "update"],
  };
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A label selector in its string form (metav1.FormatLabelSelector), as Scale's status.selector has it. */
function selectorString(s: Selector | undefined): string {
  if (s === undefined) return "";
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const vs = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${vs})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${vs})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

export function scaleOf(obj: Obj): Record<string, unknown> {
  const spec = (obj["spec"] ?? {}) as { replicas?: number; selector?: Selector };
  const status = (obj["status"] ?? {}) as { replicas?: number };
  const m = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector: selectorString(spec.selector) },
  };
}

/** A Scale after a patch of the given type. */
export function patchScale(scale: Record<string, unknown>, type: string, body: unknown): Record<string, unknown> {
  try {
    if (type === "application/merge-patch+json") return mergePatch(scale, body) as Record<string, unknown>;
    if (type === "application/strategic-merge-patch+json")
      return strategicMergePatch(scale, body) as Record<string, unknown>;
    return jsonPatch(scale, body) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PatchError) throw badRequest(err.message);
    throw err;
  }
}

/** The merge patch that sets the object's replicas from a Scale (its resourceVersion, when given, the precondition). */
export function replicasPatch(scale: unknown): Record<string, unknown> {
  const s = (scale ?? {}) as { metadata?: { resourceVersion?: unknown }; spec?: { replicas?: unknown } };
  const n = s.spec?.replicas;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw badRequest(`Scale.spec.replicas must be a non-negative integer, got ${JSON.stringify(n)}`);
  const rv = s.metadata?.resourceVersion;
  return {
    ...(typeof rv === "string" && rv !== "" ? { metadata: { resourceVersion: rv } } : {}),
    spec: { replicas: n },
  };
}
