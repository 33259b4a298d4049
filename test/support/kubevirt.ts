// KubeVirt's VirtualMachine and VirtualMachineInstance CRDs (kubevirt.io/v1), reduced to what
// tests of the KubeVirt static-IP paths need: names, scope, and free-form spec and status.
import type { KubeObject } from "../../src/kube/index.ts";

function crd(kind: string, plural: string, shortNames: string[]): KubeObject {
  const free = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.kubevirt.io` },
    spec: {
      group: "kubevirt.io",
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), shortNames, categories: ["all"] },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", properties: { spec: free, status: free } } },
          subresources: { status: {} },
        },
      ],
    },
  };
}

export const KUBEVIRT_CRDS: readonly KubeObject[] = [
  crd("VirtualMachine", "virtualmachines", ["vm", "vms"]),
  crd("VirtualMachineInstance", "virtualmachineinstances", ["vmi", "vmis"]),
];

export const VirtualMachines = {
  group: "kubevirt.io",
  version: "v1",
  plural: "virtualmachines",
  kind: "VirtualMachine",
  namespaced: true,
} as const;
export const VirtualMachineInstances = {
  group: "kubevirt.io",
  version: "v1",
  plural: "virtualmachineinstances",
  kind: "VirtualMachineInstance",
  namespaced: true,
} as const;

/** A live migration (kubevirt.io/v1), for the IPAM ADD's conflict-detection exception (spec §1.12). */
export const KUBEVIRT_MIGRATION_CRD: KubeObject = crd(
  "VirtualMachineInstanceMigration",
  "virtualmachineinstancemigrations",
  ["vmim", "vmims"],
);
export const VirtualMachineInstanceMigrations = {
  group: "kubevirt.io",
  version: "v1",
  plural: "virtualmachineinstancemigrations",
  kind: "VirtualMachineInstanceMigration",
  namespaced: true,
} as const;
