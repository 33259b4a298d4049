/** Schemas of rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding. */
import type { Schema } from "../schema.ts";
import { arr, kind, labelSelector, obj, str, strings } from "./shapes.ts";

const policyRule = obj(
  { apiGroups: strings, resources: strings, resourceNames: strings, nonResourceURLs: strings, verbs: strings },
  ["verbs"],
);

export const role: Schema = kind({ rules: arr(policyRule) });

export const clusterRole: Schema = kind({
  rules: arr(policyRule),
  aggregationRule: obj({ clusterRoleSelectors: arr(labelSelector) }),
});

const subject = obj({ kind: str, apiGroup: str, name: str, namespace: str }, ["kind", "name"]);
const roleRef = obj({ apiGroup: str, kind: str, name: str }, ["apiGroup", "kind", "name"]);

export const roleBinding: Schema = kind({ subjects: arr(subject), roleRef }, ["roleRef"]);
export const clusterRoleBinding: Schema = roleBinding;
