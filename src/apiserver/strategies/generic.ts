/** The strategy of kinds with nothing of their own: ConfigMaps, Secrets, custom resources, … */
import type { DeleteOptions } from "../registry-types.ts";
import type { Strategy } from "../strategy.ts";
import { storageKey, type ServedResource } from "../resources.ts";
import type { FieldError } from "../schema.ts";
import type { Obj } from "../store.ts";

/** Built-in kinds whose kube-apiserver strategy sets generation 1 on create and bumps it on spec changes. */
const GENERATION_TRACKED = new Set([
  "deployments.apps",
  "replicasets.apps",
  "statefulsets.apps",
  "daemonsets.apps",
  "jobs.batch",
  "cronjobs.batch",
  "poddisruptionbudgets.policy",
  "customresourcedefinitions.apiextensions.k8s.io",
  "mutatingwebhookconfigurations.admissionregistration.k8s.io",
  "validatingwebhookconfigurations.admissionregistration.k8s.io",
]);

export class GenericStrategy implements Strategy {
  readonly nameRule: "label" | "subdomain" = "subdomain";
  readonly tracksGeneration: boolean;
  readonly resource: ServedResource;

  constructor(resource: ServedResource) {
    this.resource = resource;
    this.tracksGeneration = resource.crd !== undefined || GENERATION_TRACKED.has(storageKey(resource));
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
