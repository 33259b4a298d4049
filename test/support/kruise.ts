// OpenKruise's Advanced StatefulSet CRD (apps.kruise.io/v1beta1), reduced to what tests of
// third-party owners need: kind StatefulSet in its own group, so the agent gives its pods no
// fixed addresses (only apps/v1 StatefulSets get them), with free-form spec and status.
import type { KubeObject } from "../../src/kube/index.ts";

export const KRUISE_STATEFULSET_CRD: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "statefulsets.apps.kruise.io" },
  spec: {
    group: "apps.kruise.io",
    scope: "Namespaced",
    names: { kind: "StatefulSet", plural: "statefulsets", singular: "statefulset", shortNames: ["asts"] },
    versions: [
      {
        name: "v1beta1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};

export const KruiseStatefulSets = {
  group: "apps.kruise.io",
  version: "v1beta1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
} as const;
