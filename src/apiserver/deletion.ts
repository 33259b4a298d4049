/**
 * The synchronous part of a delete, as kube-apiserver's generic registry does it:
 * preconditions, propagation finalizers (`foregroundDeletion`, `orphan`), a grace period
 * from the kind's strategy, a deletionTimestamp while anything holds the object, and
 * otherwise its removal; then the collector is told who may now be collectable.
 */
import { conflict, details, type Target } from "./http-errors.ts";
import { same } from "./json-values.ts";
import { now } from "./object-meta.ts";
import type { DeleteOptions, DeleteOutcome } from "./registry-types.ts";
import { storageKey, type ServedResource } from "./resources.ts";
import type { RegistryCore } from "./strategy.ts";
import type { Obj } from "./store.ts";

export const FOREGROUND = "foregroundDeletion";
export const ORPHAN = "orphan";

export function checkPreconditions(t: Target, obj: Obj, opts: DeleteOptions): void {
  const pre = opts.preconditions;
  if (pre?.uid !== undefined && pre.uid !== obj.metadata.uid) {
    throw conflict(t, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion) {
    throw conflict(
      t,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  }
}

export function deleteNow(core: RegistryCore, r: ServedResource, obj: Obj, opts: DeleteOptions): DeleteOutcome {
  const strategy = core.strategy(r);
  if (strategy.delete !== undefined) return strategy.delete(obj);
  const key = storageKey(r);
  const policy = opts.propagationPolicy ?? "Background";
  const finalizers = [...(obj.metadata.finalizers ?? [])];
  if (policy === "Foreground" && !finalizers.includes(FOREGROUND)) finalizers.push(FOREGROUND);
  if (policy === "Orphan" && !finalizers.includes(ORPHAN)) finalizers.push(ORPHAN);
  const grace = strategy.gracePeriod(obj, opts);
  if (finalizers.length > 0 || grace > 0) {
    const m = { ...obj.metadata, finalizers };
    if (finalizers.length === 0) delete (m as { finalizers?: string[] }).finalizers;
    if (m.deletionTimestamp === undefined) {
      m.deletionTimestamp =
        grace > 0 ? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") : now();
      m.deletionGracePeriodSeconds = grace;
      // As kube-apiserver's BeforeDelete: only kinds that track a generation count the deletion.
      if (m.generation !== undefined && m.generation > 0) m.generation += 1;
    } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
      m.deletionGracePeriodSeconds = grace;
    }
    if (grace === 0 && finalizers.length === 0) return removed(core, r, { ...obj, metadata: m });
    if (same(m, obj.metadata)) return { object: obj, code: 200 };
    const stored = core.store.commit(key, "MODIFIED", { ...obj, metadata: m });
    core.scheduleGc(stored.metadata.uid);
    return { object: stored, code: 200 };
  }
  return removed(core, r, obj);
}

/**
 * The kinds whose registry in kube-apiserver sets `ReturnDeletedObject`: a delete that removes
 * the object answers with it; every other kind answers with a Success Status. Typed clients
 * (client-node's `deleteNamespacedPod` returns a V1Pod) read the answer as the kind.
 */
const RETURNS_DELETED_OBJECT = new Set(["pods", "services", "serviceaccounts", "storageclasses.storage.k8s.io"]);

function removed(core: RegistryCore, r: ServedResource, obj: Obj): DeleteOutcome {
  const gone = core.store.commit(storageKey(r), "DELETED", obj);
  afterDelete(core, r, gone);
  if (RETURNS_DELETED_OBJECT.has(storageKey(r))) return { object: gone, code: 200 };
  return {
    object: gone,
    code: 200,
    status: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: details(gone.metadata.name ?? "", r.group, r.plural, { uid: gone.metadata.uid }),
    },
  };
}

/** After an object is gone: its kind's follow-up, its dependents, owners waiting for it, its terminating namespace. */
export function afterDelete(core: RegistryCore, r: ServedResource, obj: Obj): void {
  core.strategy(r).afterCommit(undefined, obj);
  core.scheduleGc(obj.metadata.uid);
  for (const ref of obj.metadata.ownerReferences ?? []) core.scheduleGc(ref.uid);
  const ns = obj.metadata.namespace;
  if (ns !== undefined) {
    const nsObj = core.store.get("namespaces", ns);
    if (nsObj?.metadata.deletionTimestamp !== undefined) core.scheduleGc(nsObj.metadata.uid);
  }
}

/** Removes one finalizer; the last one gone ends the deletion. */
export function removeFinalizer(core: RegistryCore, r: ServedResource, obj: Obj, finalizer: string): void {
  const fins = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  const m = { ...obj.metadata, finalizers: fins };
  if (fins.length === 0) {
    delete (m as { finalizers?: string[] }).finalizers;
    const gone = core.store.commit(storageKey(r), "DELETED", { ...obj, metadata: m });
    afterDelete(core, r, gone);
  } else {
    core.store.commit(storageKey(r), "MODIFIED", { ...obj, metadata: m });
  }
}
