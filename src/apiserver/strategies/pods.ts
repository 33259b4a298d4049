/**
 * Pods: they start Pending (the kubelet writes status through /status), and a delete of a
 * scheduled, running pod is graceful when the registry's pod deletion mode says so; the
 * kubelet, or a test standing in for it, then finishes it with a delete of grace 0.
 */
import type { DeleteOptions } from "../registry-types.ts";
import type { RegistryCore } from "../strategy.ts";
import type { ServedResource } from "../resources.ts";
import type { Obj } from "../store.ts";
import { GenericStrategy } from "./generic.ts";

export class PodStrategy extends GenericStrategy {
  readonly #core: RegistryCore;

  constructor(resource: ServedResource, core: RegistryCore) {
    super(resource);
    this.#core = core;
  }

  override prepareForCreate(obj: Obj): void {
    obj["status"] = { phase: "Pending" };
  }

  override gracePeriod(obj: Obj, opts: DeleteOptions): number {
    const spec = (obj["spec"] ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = ((obj["status"] ?? {}) as { phase?: string }).phase;
    const unscheduled = spec.nodeName === undefined || spec.nodeName === "";
    if (this.#core.options.podDeletion !== "graceful" || unscheduled || phase === "Succeeded" || phase === "Failed")
      return 0;
    return opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
  }

  /** A graceful deletion without finalizers waits for its kubelet; the collector leaves it. */
  collect(obj: Obj): boolean {
    return (obj.metadata.finalizers ?? []).length === 0;
  }
}
