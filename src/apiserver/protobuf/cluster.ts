/**
 * rbac.authorization.k8s.io/v1, scheduling.k8s.io/v1 PriorityClass and policy/v1
 * PodDisruptionBudget, as `kubectl create role|clusterrole|rolebinding|clusterrolebinding|
 * priorityclass|poddisruptionbudget` send them. Field numbers from k8s.io/api
 * {rbac,scheduling,policy}/v1/generated.proto.
 */
import { f, list, message, ptr } from "./message.ts";
import { LabelSelector, ObjectMeta } from "./meta.ts";

const PolicyRule = message("k8s.io.api.rbac.v1.PolicyRule", {
  1: list("verbs", "string"),
  2: list("apiGroups", "string"),
  3: list("resources", "string"),
  4: list("resourceNames", "string"),
  5: list("nonResourceURLs", "string"),
});

export const Role = message("k8s.io.api.rbac.v1.Role", { 1: f("metadata", ObjectMeta), 2: list("rules", PolicyRule) });

export const ClusterRole = message("k8s.io.api.rbac.v1.ClusterRole", {
  1: f("metadata", ObjectMeta),
  2: list("rules", PolicyRule),
  3: ptr(
    "aggregationRule",
    message("k8s.io.api.rbac.v1.AggregationRule", { 1: list("clusterRoleSelectors", LabelSelector) }),
  ),
});

const Subject = message("k8s.io.api.rbac.v1.Subject", {
  1: f("kind", "string"),
  2: f("apiGroup", "string"),
  3: f("name", "string"),
  4: f("namespace", "string"),
});

const RoleRef = message("k8s.io.api.rbac.v1.RoleRef", {
  1: f("apiGroup", "string"),
  2: f("kind", "string"),
  3: f("name", "string"),
});

export const RoleBinding = message("k8s.io.api.rbac.v1.RoleBinding", {
  1: f("metadata", ObjectMeta),
  2: list("subjects", Subject),
  3: f("roleRef", RoleRef),
});

export const ClusterRoleBinding = message("k8s.io.api.rbac.v1.ClusterRoleBinding", {
  1: f("metadata", ObjectMeta),
  2: list("subjects", Subject),
  3: f("roleRef", RoleRef),
});

export const PriorityClass = message("k8s.io.api.scheduling.v1.PriorityClass", {
  1: f("metadata", ObjectMeta),
  2: f("value", "int32"),
  3: f("globalDefault", "bool"),
  4: f("description", "string"),
  5: ptr("preemptionPolicy", "string"),
});

export const PodDisruptionBudget = message("k8s.io.api.policy.v1.PodDisruptionBudget", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.policy.v1.PodDisruptionBudgetSpec", {
      1: ptr("minAvailable", "intOrString"),
      2: ptr("selector", LabelSelector),
      3: ptr("maxUnavailable", "intOrString"),
      4: ptr("unhealthyPodEvictionPolicy", "string"),
    }),
  ),
  3: f("status", message("k8s.io.api.policy.v1.PodDisruptionBudgetStatus", {})),
});
