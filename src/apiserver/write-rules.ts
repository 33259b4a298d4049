/**
 * What an update may change and how a patch becomes the new object: fields a client
 * cannot set through an endpoint come from the stored object (status through the main
 * resource, spec through /status, identity and bookkeeping always), what counts as a spec
 * change for `generation`, and patch failures as kube-apiserver's Statuses.
 */
import { badRequest, HttpError } from "./http-errors.ts";
import { same, withoutKeys } from "./json-values.ts";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";
import type { ServedResource } from "./resources.ts";
import type { Obj } from "./store.ts";

export function applyPatch(type: string, current: Obj, patchBody: unknown): Obj {
  try {
    if (type === "application/merge-patch+json") return mergePatch(current, patchBody) as Obj;
    if (type === "application/strategic-merge-patch+json") return strategicMergePatch(current, patchBody) as Obj;
    if (type === "application/json-patch+json") return jsonPatch(current, decodeJsonPatch(patchBody)) as Obj;
  } catch (err) {
    if (err instanceof PatchError && type === "application/json-patch+json") throw jsonPatchFailed();
    if (err instanceof PatchError) throw statusOf(422, "Invalid", err.message);
    throw err;
  }
  throw statusOf(415, "UnsupportedMediaType", `the server does not support the patch type ${type}`);
}

/**
 * kube-apiserver decodes a JSON patch into a list of operation objects first: a body of
 * another shape is 400 with Go's decoding error (a null body is an empty patch).
 */
function decodeJsonPatch(body: unknown): unknown[] {
  if (body === null) return [];
  const goType = (v: unknown): string =>
    typeof v === "string"
      ? "string"
      : typeof v === "number"
        ? "number"
        : typeof v === "boolean"
          ? "bool"
          : Array.isArray(v)
            ? "array"
            : "object";
  if (!Array.isArray(body))
    throw badRequest(`json: cannot unmarshal ${goType(body)} into Go value of type jsonpatch.Patch`);
  for (const op of body) {
    if (op !== null && (typeof op !== "object" || Array.isArray(op))) {
      throw badRequest(`json: cannot unmarshal ${goType(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  return body;
}

/**
 * A JSON patch that does not apply (a failed `test`, a missing path) is kube-apiserver's
 * generic 422: its message is fixed and its details are empty, whatever went wrong.
 */
function jsonPatchFailed(): HttpError {
  const st = statusOf(422, "Invalid", "the server rejected our request due to an error in our request");
  st.status.details = {};
  return st;
}

function statusOf(code: number, reason: "Invalid" | "UnsupportedMediaType", message: string): HttpError {
  return new HttpError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
}

/** Fields a client cannot change through this endpoint come from the stored object. */
export function carryOver(r: ServedResource, old: Obj, next: Obj, subresource: string): Obj {
  let out: Obj;
  if (subresource === "status") {
    out = { ...structuredClone(old), status: next["status"] } as Obj;
    if (next["status"] === undefined) delete out["status"];
  } else {
    out = { ...next, apiVersion: old["apiVersion"], kind: old["kind"] } as Obj;
    if (r.statusSubresource) {
      if (old["status"] === undefined) delete out["status"];
      else out["status"] = structuredClone(old["status"]);
    }
  }
  const m: Obj["metadata"] = { ...out.metadata };
  // Identity and bookkeeping fields always come from the stored object.
  for (const k of ["name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"] as const) {
    if (old.metadata[k] !== undefined) (m as Record<string, unknown>)[k] = old.metadata[k];
    else delete m[k];
  }
  if (old.metadata.deletionTimestamp !== undefined) m.deletionTimestamp = old.metadata.deletionTimestamp;
  else delete m.deletionTimestamp;
  if (old.metadata.deletionGracePeriodSeconds !== undefined)
    m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
  else delete m.deletionGracePeriodSeconds;
  delete m.managedFields;
  delete m.selfLink;
  out.metadata = m;
  return out;
}

export function specChanged(r: ServedResource, old: Obj, next: Obj): boolean {
  const skip = r.statusSubresource ? ["metadata", "status"] : ["metadata"];
  return !same(withoutKeys(old, skip), withoutKeys(next, skip));
}
