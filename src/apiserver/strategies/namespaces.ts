/** Namespaces: DNS-1123 label names, the `kubernetes` finalizer and phase Active from birth, their own deletion. */
import { deleteNamespace, NS_FINALIZER, sweepNamespace } from "../namespace-lifecycle.ts";
import { freshObject } from "../object-meta.ts";
import type { DeleteOutcome } from "../registry-types.ts";
import type { ServedResource } from "../resources.ts";
import type { RegistryCore } from "../strategy.ts";
import type { Obj } from "../store.ts";
import { GenericStrategy } from "./generic.ts";

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class NamespaceStrategy extends GenericStrategy {
  override readonly nameRule = "label" as const;
  readonly #core: RegistryCore;

  constructor(resource: ServedResource, core: RegistryCore) {
    super(resource);
    this.#core = core;
  }

  override prepareForCreate(obj: Obj): void {
    obj["spec"] = { finalizers: [NS_FINALIZER], ...(obj["spec"] as object | undefined) };
    obj["status"] = { phase: "Active" };
  }

  /** Every namespace carries its name as a label, so selectors can pick namespaces by name (kube 1.21+). */
  override canonicalize(obj: Obj): Obj {
    const labels = { ...obj.metadata.labels, "kubernetes.io/metadata.name": obj.metadata.name ?? "" };
    return { ...obj, metadata: { ...obj.metadata, labels } };
  }

  /** The namespaces a cluster starts with. */
  systemNamespace(name: string): Obj {
    const obj = freshObject(this.resource, { metadata: { name } }, undefined);
    obj["spec"] = { finalizers: [NS_FINALIZER] };
    obj["status"] = { phase: "Active" };
    return this.canonicalize(obj);
  }

  delete(obj: Obj): DeleteOutcome {
    return deleteNamespace(this.#core, obj);
  }

  collect(obj: Obj): boolean {
    sweepNamespace(this.#core, obj);
    return true;
  }
}
