/** The strategy of kinds with nothing of their own: ConfigMaps, Secrets, custom resources, … */
import type { DeleteOptions } from "../registry-types.ts";
import type { Strategy } from "../strategy.ts";
import type { ServedResource } from "../resources.ts";
import type { FieldError } from "../schema.ts";
import type { Obj } from "../store.ts";

export class GenericStrategy implements Strategy {
  readonly nameRule: "label" | "subdomain" = "subdomain";
  readonly resource: ServedResource;

  constructor(resource: ServedResource) {
    this.resource = resource;
  }

  /** Create cannot set status where status is a subresource, as in kube-apiserver. */
  prepareForCreate(obj: Obj): void {
    if (this.resource.statusSubresource) delete obj["status"];
  }

  validate(_obj: Obj): FieldError[] {
    return [];
  }

  canonicalize(obj: Obj): Obj {
    return obj;
  }

  afterCommit(_stored: Obj | undefined, _old: Obj | undefined): void {}

  gracePeriod(_obj: Obj, _opts: DeleteOptions): number {
    return 0;
  }
}
