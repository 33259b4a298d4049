/**
 * The namespace lifecycle of kube-apiserver and its namespace controller: no new content
 * in a namespace that is missing or terminating; deleting one marks it Terminating, deletes
 * what it holds (each object with its own grace and finalizers) and, once it is empty,
 * drops the `kubernetes` finalizer and the namespace.
 */
import { forbidden, notFound } from "./http-errors.ts";
import { now } from "./object-meta.ts";
import type { DeleteOutcome, Operation } from "./registry-types.ts";
import { storageKey, type ServedResource } from "./resources.ts";
import type { RegistryCore } from "./strategy.ts";
import type { Obj, Store } from "./store.ts";

export const NS_FINALIZER = "kubernetes";

/** Refuses writes into a missing namespace, and creates in a terminating one. */
export function checkNamespace(store: Store, r: ServedResource, namespace: string, op: Operation): void {
  if (!r.namespaced) return;
  const ns = store.get("namespaces", namespace);
  if (ns === undefined) throw notFound({ group: "", resource: "namespaces", kind: "Namespace", name: namespace });
  if (op === "CREATE" && ns.metadata.deletionTimestamp !== undefined) {
    throw forbidden(
      { group: r.group, resource: r.plural, kind: r.kind, name: "" },
      `unable to create new content in namespace ${namespace} because it is being terminated`,
    );
  }
}

/** Marks a namespace Terminating; the collector sweeps it. */
export function deleteNamespace(core: RegistryCore, ns: Obj): DeleteOutcome {
  if (ns.metadata.deletionTimestamp !== undefined) return { object: ns, code: 200 };
  const next = {
    ...ns,
    metadata: { ...ns.metadata, deletionTimestamp: now(), deletionGracePeriodSeconds: 0 },
    status: { phase: "Terminating" },
  } as Obj;
  const stored = core.store.commit("namespaces", "MODIFIED", next);
  core.scheduleGc(stored.metadata.uid);
  return { object: stored, code: 200 };
}

/** Deletes what a terminating namespace holds; finishes the namespace once it is empty. */
export function sweepNamespace(core: RegistryCore, ns: Obj): void {
  const name = ns.metadata.name ?? "";
  let remaining = 0;
  for (const r of core.all()) {
    if (!r.namespaced) continue;
    for (const obj of core.store.list(storageKey(r), name)) {
      remaining++;
      if (obj.metadata.deletionTimestamp === undefined) core.deleteNow(r, obj, { propagationPolicy: "Background" });
    }
  }
  if (remaining > 0) return;
  const spec = (ns["spec"] ?? {}) as { finalizers?: string[] };
  let current = ns;
  if ((spec.finalizers ?? []).includes(NS_FINALIZER)) {
    current = core.store.commit("namespaces", "MODIFIED", {
      ...ns,
      spec: { ...spec, finalizers: (spec.finalizers ?? []).filter((f) => f !== NS_FINALIZER) },
    } as Obj);
  }
  if ((current.metadata.finalizers ?? []).length === 0) core.store.commit("namespaces", "DELETED", current);
}
