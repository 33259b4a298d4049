import type { KindDefinition } from "../api/kind.ts";

/** Where a kind lives in the REST API. */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export function apiVersionOfType(rt: Pick<ResourceType, "group" | "version">): string {
  return rt.group === "" ? rt.version : `${rt.group}/${rt.version}`;
}

/** `/api/v1[/namespaces/ns]/pods` or `/apis/g/v[/namespaces/ns]/plural`. */
export function collectionPath(rt: ResourceType, namespace?: string): string {
  const base = rt.group === "" ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  if (rt.namespaced && namespace !== undefined && namespace !== "") {
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${rt.plural}`;
  }
  return `${base}/${rt.plural}`;
}

export function objectPath(rt: ResourceType, name: string, namespace?: string, subresource?: string): string {
  if (rt.namespaced && (namespace === undefined || namespace === "")) {
    throw new TypeError(`${rt.kind} ${name}: a namespace is required`);
  }
  const p = `${collectionPath(rt, namespace)}/${encodeURIComponent(name)}`;
  return subresource === undefined ? p : `${p}/${subresource}`;
}

export function resourceTypeOf(def: KindDefinition): ResourceType {
  return {
    group: def.group,
    version: def.version,
    plural: def.plural,
    kind: def.kind,
    namespaced: def.scope === "Namespaced",
  };
}

const t = (group: string, version: string, plural: string, kind: string, namespaced: boolean): ResourceType => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});

/** Built-in kinds the system and its tests use. */
export const Resources = {
  namespaces: t("", "v1", "namespaces", "Namespace", false),
  nodes: t("", "v1", "nodes", "Node", false),
  pods: t("", "v1", "pods", "Pod", true),
  configmaps: t("", "v1", "configmaps", "ConfigMap", true),
  secrets: t("", "v1", "secrets", "Secret", true),
  events: t("", "v1", "events", "Event", true),
  services: t("", "v1", "services", "Service", true),
  serviceaccounts: t("", "v1", "serviceaccounts", "ServiceAccount", true),
  leases: t("coordination.k8s.io", "v1", "leases", "Lease", true),
  deployments: t("apps", "v1", "deployments", "Deployment", true),
  replicasets: t("apps", "v1", "replicasets", "ReplicaSet", true),
  statefulsets: t("apps", "v1", "statefulsets", "StatefulSet", true),
  daemonsets: t("apps", "v1", "daemonsets", "DaemonSet", true),
  jobs: t("batch", "v1", "jobs", "Job", true),
  cronjobs: t("batch", "v1", "cronjobs", "CronJob", true),
  endpoints: t("", "v1", "endpoints", "Endpoints", true),
  poddisruptionbudgets: t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true),
  priorityclasses: t("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false),
  roles: t("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
  clusterroles: t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  rolebindings: t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
  clusterrolebindings: t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  customresourcedefinitions: t(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    false,
  ),
  mutatingwebhookconfigurations: t(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    false,
  ),
  validatingwebhookconfigurations: t(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    false,
  ),
} as const satisfies Record<string, ResourceType>;

/** KubeVirt's kinds, read (never written) for the VM fixed-IP rules. */
export const KUBEVIRT_VMI: ResourceType = t(
  "kubevirt.io",
  "v1",
  "virtualmachineinstances",
  "VirtualMachineInstance",
  true,
);
export const KUBEVIRT_VM: ResourceType = t("kubevirt.io", "v1", "virtualmachines", "VirtualMachine", true);
/** A live migration's target pod names one; while it exists the pod skips IP-conflict detection. */
export const KUBEVIRT_VMIM: ResourceType = t(
  "kubevirt.io",
  "v1",
  "virtualmachineinstancemigrations",
  "VirtualMachineInstanceMigration",
  true,
);
