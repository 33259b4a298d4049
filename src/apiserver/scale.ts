/**
 * The `scale` subresource of Deployments, ReplicaSets and StatefulSets (autoscaling/v1
 * Scale), what `kubectl scale` and autoscalers read and patch: the object's replicas and
 * its selector as a string; writing one changes only the object's `spec.replicas`.
 */
import { stringifyJson } from "../api/int64.ts";
import { invalid } from "./http-errors.ts";
import { isObj } from "./json-values.ts";
import { storageKey, type ServedResource } from "./resources.ts";
import type { Obj } from "./store.ts";

const SCALED = new Set(["deployments.apps", "replicasets.apps", "statefulsets.apps"]);

export function hasScale(r: ServedResource): boolean {
  return SCALED.has(storageKey(r));
}

/** A label selector in its string form (`a=b,c in (d,e)`), as Scale's status carries it. */
function selectorString(sel: unknown): string {
  if (!isObj(sel)) return "";
  const parts = Object.entries(isObj(sel["matchLabels"]) ? sel["matchLabels"] : {}).map(
    ([k, v]) => `${k}=${String(v)}`,
  );
  for (const e of Array.isArray(sel["matchExpressions"]) ? sel["matchExpressions"] : []) {
    const { key, operator, values } = e as { key?: string; operator?: string; values?: string[] };
    const vs = `(${(values ?? []).join(",")})`;
    if (operator === "In") parts.push(`${key ?? ""} in ${vs}`);
    else if (operator === "NotIn") parts.push(`${key ?? ""} notin ${vs}`);
    else if (operator === "Exists") parts.push(key ?? "");
    else if (operator === "DoesNotExist") parts.push(`!${key ?? ""}`);
  }
  return parts.join(",");
}

export function scaleOf(obj: Obj): Record<string, unknown> {
  const spec = (obj["spec"] ?? {}) as { replicas?: number; selector?: unknown };
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

/** The object with the replicas of a written Scale; its resourceVersion stays the precondition. */
export function withScale(r: ServedResource, obj: Obj, scale: unknown): Obj {
  const s = (isObj(scale) ? scale : {}) as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
  const replicas = s.spec?.replicas ?? 0;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid({ group: "autoscaling", resource: r.plural, kind: "Scale", name: obj.metadata.name ?? "" }, [
      {
        type: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${stringifyJson(replicas) ?? String(replicas)}: must be greater than or equal to 0`,
      },
    ]);
  }
  const rv = s.metadata?.resourceVersion;
  return {
    ...obj,
    metadata: { ...obj.metadata, ...(rv !== undefined && rv !== "" ? { resourceVersion: rv } : {}) },
    spec: { ...(obj["spec"] as object | undefined), replicas },
  } as Obj;
}
