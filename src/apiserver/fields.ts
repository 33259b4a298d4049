/**
 * Field selectors (`?fieldSelector=`): `key=value`, `key==value`, `key!=value`, joined by
 * commas, on the fields kube-apiserver supports for the kinds we serve.
 */
import { badRequest } from "./http-errors.ts";
import { evalJsonPath, parseJsonPath, type PathStep } from "./jsonpath.ts";
import type { Obj } from "./store.ts";

export interface FieldRequirement {
  readonly path: readonly PathStep[];
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

const COMMON = ["metadata.name", "metadata.namespace"];
const BY_RESOURCE: Readonly<Record<string, readonly string[]>> = {
  pods: [
    "spec.nodeName",
    "status.phase",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  events: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "reason",
    "type",
    "source",
  ],
  nodes: ["spec.unschedulable"],
  namespaces: ["status.phase"],
  secrets: ["type"],
};

export function parseFieldSelector(selector: string, resource: string): FieldRequirement[] {
  if (selector.trim() === "") return [];
  const allowed = [...COMMON, ...(BY_RESOURCE[resource] ?? [])];
  return selector.split(",").map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (m === null) throw badRequest(`invalid field selector: '${part}': expected field=value or field!=value`);
    const field = m[1] as string;
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { path: parseJsonPath(`.${field}`), field, equal: m[2] !== "!=", value: m[3] as string };
  });
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: Obj): boolean {
  return reqs.every((r) => {
    const v = evalJsonPath(obj, r.path);
    const s = v === undefined || v === null ? "" : String(v);
    return r.equal ? s === r.value : s !== r.value;
  });
}
