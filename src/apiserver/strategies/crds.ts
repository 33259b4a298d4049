/** CustomResourceDefinitions: validated, stored Established, and served as soon as committed (crd-serving.ts). */
import { syncCrd, validateCrd, withCrdStatus } from "../crd-serving.ts";
import type { ServedResource } from "../resources.ts";
import type { FieldError } from "../schema.ts";
import type { RegistryCore } from "../strategy.ts";
import type { Obj } from "../store.ts";
import { GenericStrategy } from "./generic.ts";

export class CrdStrategy extends GenericStrategy {
  readonly #core: RegistryCore;

  constructor(resource: ServedResource, core: RegistryCore) {
    super(resource);
    this.#core = core;
  }

  override validate(obj: Obj): FieldError[] {
    return validateCrd(obj);
  }

  override canonicalize(obj: Obj): Obj {
    return withCrdStatus(obj);
  }

  override afterCommit(stored: Obj | undefined, old: Obj | undefined): void {
    syncCrd(this.#core, stored, old);
  }
}
