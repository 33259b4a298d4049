/**
 * Schemas of the cluster-level kinds a chart writes: webhook configurations
 * (admissionregistration.k8s.io/v1), PodDisruptionBudget (policy/v1), PriorityClass
 * (scheduling.k8s.io/v1) and Lease (coordination.k8s.io/v1).
 */
import type { Schema } from "../schema.ts";
import { arr, bool, int32, intOrString, kind, labelSelector, obj, open, str, strings } from "./shapes.ts";

function webhook(mutating: boolean): Schema {
  const props: Record<string, Schema> = {
    name: str,
    clientConfig: obj({
      url: str,
      service: obj({ namespace: str, name: str, path: str, port: int32 }, ["namespace", "name"]),
      caBundle: str,
    }),
    rules: arr(obj({ operations: strings, apiGroups: strings, apiVersions: strings, resources: strings, scope: str })),
    failurePolicy: str,
    matchPolicy: str,
    namespaceSelector: labelSelector,
    objectSelector: labelSelector,
    sideEffects: str,
    timeoutSeconds: int32,
    admissionReviewVersions: strings,
    matchConditions: arr(obj({ name: str, expression: str }, ["name", "expression"])),
  };
  if (mutating) props["reinvocationPolicy"] = str;
  return obj(props, ["name", "clientConfig"]);
}

export const mutatingWebhookConfiguration: Schema = kind({ webhooks: arr(webhook(true)) });
export const validatingWebhookConfiguration: Schema = kind({ webhooks: arr(webhook(false)) });

export const podDisruptionBudget: Schema = kind({
  spec: obj({
    minAvailable: intOrString,
    maxUnavailable: intOrString,
    selector: labelSelector,
    unhealthyPodEvictionPolicy: str,
  }),
  status: open(),
});

export const priorityClass: Schema = kind(
  { value: int32, globalDefault: bool, description: str, preemptionPolicy: str },
  ["value"],
);

export const lease: Schema = kind({
  spec: obj({
    holderIdentity: str,
    leaseDurationSeconds: int32,
    acquireTime: str,
    renewTime: str,
    leaseTransitions: int32,
    strategy: str,
    preferredHolder: str,
  }),
});
