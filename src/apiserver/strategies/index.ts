/** The strategy of each kind; kinds without one of their own get the generic strategy. */
import { storageKey, type ServedResource } from "../resources.ts";
import type { RegistryCore, Strategy } from "../strategy.ts";
import { CrdStrategy } from "./crds.ts";
import { GenericStrategy } from "./generic.ts";
import { NamespaceStrategy } from "./namespaces.ts";
import { PodStrategy } from "./pods.ts";

type Make = (r: ServedResource, core: RegistryCore) => Strategy;

const BY_RESOURCE: Readonly<Record<string, Make>> = {
  pods: (r, core) => new PodStrategy(r, core),
  namespaces: (r, core) => new NamespaceStrategy(r, core),
  "customresourcedefinitions.apiextensions.k8s.io": (r, core) => new CrdStrategy(r, core),
};

/** Keyed by storage key (`pods`, `leases.coordination.k8s.io`), so a CRD cannot take a built-in's strategy. */
export function strategyFor(r: ServedResource, core: RegistryCore): Strategy {
  return BY_RESOURCE[storageKey(r)]?.(r, core) ?? new GenericStrategy(r);
}
