/**
 * What differs between kinds, as kube-apiserver's per-resource REST strategies hold it: the
 * fields a create sets, the validation beyond metadata, the stored form, what follows a
 * commit, the grace period of a delete, and deletions or collection that take another path
 * (namespaces). Everything else is the generic registry's (registry.ts).
 */
import type { DeleteOptions, DeleteOutcome, RegistryOptions } from "./registry-types.ts";
import type { ServedResource } from "./resources.ts";
import type { FieldError } from "./schema.ts";
import type { Obj, Store } from "./store.ts";

export interface Strategy {
  /** Namespaces are named by DNS-1123 labels, everything else by subdomains. */
  readonly nameRule: "label" | "subdomain";
  /** Whether `metadata.generation` counts spec changes (workloads, CRDs, custom resources; not Leases or Pods). */
  readonly tracksGeneration: boolean;
  /** Sets or resets fields of a new object (status where it is a subresource). */
  prepareForCreate(obj: Obj): void;
  /** Validation beyond ObjectMeta (and beyond a custom resource's schema). */
  validate(obj: Obj): FieldError[];
  /** The form that is stored (a CRD gets its status conditions). */
  canonicalize(obj: Obj): Obj;
  /** After a commit: `stored` is undefined when the object is gone. */
  afterCommit(stored: Obj | undefined, old: Obj | undefined): void;
  /** The grace period a delete of this object gets (0: at once, unless finalizers hold it). */
  gracePeriod(obj: Obj, opts: DeleteOptions): number;
  /** A deletion that takes its own path (namespaces); undefined for finalizers and grace. */
  delete?(obj: Obj): DeleteOutcome;
  /** The garbage collector's step for an object being deleted; true when handled here. */
  collect?(obj: Obj): boolean;
}

/** What strategies, deletion and the garbage collector need of the registry. */
export interface RegistryCore {
  readonly store: Store;
  readonly options: RegistryOptions;
  all(): ServedResource[];
  resourceOf(storage: string): ServedResource | undefined;
  strategy(r: ServedResource): Strategy;
  /** Deletes now: finalizers, grace, propagation, or removal (no admission, no latency). */
  deleteNow(r: ServedResource, obj: Obj, opts: DeleteOptions): DeleteOutcome;
  scheduleGc(uid: string | undefined): void;
  serve(r: ServedResource): void;
  unserve(r: ServedResource): void;
}
