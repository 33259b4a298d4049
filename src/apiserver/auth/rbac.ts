/**
 * RBAC authorization as kube-apiserver's RBAC authorizer decides it, from the Roles,
 * ClusterRoles and their bindings in the store: a request is allowed when a rule of a role
 * bound to the user or one of its groups covers its verb, API group, resource (or
 * `resource/subresource`), name, or non-resource path. ClusterRoles with an aggregation
 * rule collect the rules of the ClusterRoles their selectors match. `system:masters` may do
 * anything, and authenticated users may read discovery and health, as kube's bootstrap
 * policy (`system:discovery`, `system:public-info-viewer`) allows. Pure: no I/O.
 */
import { matchesRequirements, parseSelector } from "../../api/selector.ts";
import type { UserInfo } from "./authenticator.ts";

export interface Attributes {
  readonly user: UserInfo;
  readonly verb: string;
  /** Resource requests; undefined for non-resource paths. */
  readonly resource?: {
    readonly group: string;
    readonly resource: string;
    readonly subresource: string;
    readonly namespace: string;
    readonly name: string;
  };
  readonly path: string;
}

interface Rule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface RbacObject {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  rules?: Rule[];
  aggregationRule?: { clusterRoleSelectors?: Array<{ matchLabels?: Record<string, string> }> };
  subjects?: Subject[];
  roleRef?: { kind?: string; name?: string };
}

/** What the authorizer reads: the RBAC objects, cluster-wide and per namespace. */
export interface RbacPolicy {
  clusterRoles(): readonly RbacObject[];
  clusterRoleBindings(): readonly RbacObject[];
  roles(namespace: string): readonly RbacObject[];
  roleBindings(namespace: string): readonly RbacObject[];
}

const DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"];
const HEALTH = ["/healthz", "/livez", "/readyz"];

function has(list: readonly string[] | undefined, v: string): boolean {
  return list !== undefined && (list.includes("*") || list.includes(v));
}

function pathMatches(patterns: readonly string[] | undefined, path: string): boolean {
  return (patterns ?? []).some((p) => p === "*" || p === path || (p.endsWith("*") && path.startsWith(p.slice(0, -1))));
}

export function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  const r = a.resource;
  if (r === undefined) return pathMatches(rule.nonResourceURLs, a.path);
  if (!has(rule.apiGroups, r.group)) return false;
  const full = r.subresource === "" ? r.resource : `${r.resource}/${r.subresource}`;
  const resources = rule.resources ?? [];
  const resourceOk =
    resources.includes("*") ||
    resources.includes(full) ||
    (r.subresource !== "" && resources.includes(`*/${r.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (r.name !== "" && names.includes(r.name));
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.name;
    case "Group":
      return s.name !== undefined && user.groups.includes(s.name);
    case "ServiceAccount":
      return user.name === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name ?? ""}`;
    default:
      return false;
  }
}

function clusterRoleRules(policy: RbacPolicy, name: string): Rule[] {
  const all = policy.clusterRoles();
  const role = all.find((r) => r.metadata.name === name);
  if (role === undefined) return [];
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  if (selectors.length === 0) return role.rules ?? [];
  const rules = [...(role.rules ?? [])];
  for (const sel of selectors) {
    const reqs = parseSelector(
      Object.entries(sel.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    );
    for (const other of all) {
      if (other !== role && matchesRequirements(reqs, other.metadata.labels)) rules.push(...(other.rules ?? []));
    }
  }
  return rules;
}

export function authorize(a: Attributes, policy: RbacPolicy): boolean {
  if (a.user.groups.includes("system:masters")) return true;
  if (a.resource === undefined && a.verb === "get" && a.user.groups.includes("system:authenticated")) {
    if (pathMatches(DISCOVERY, a.path) || pathMatches(HEALTH, a.path)) return true;
  }
  for (const b of policy.clusterRoleBindings()) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user, ""))) continue;
    if (b.roleRef?.kind !== "ClusterRole") continue;
    if (clusterRoleRules(policy, b.roleRef.name ?? "").some((rule) => ruleAllows(rule, a))) return true;
  }
  const ns = a.resource?.namespace ?? "";
  if (ns === "") return false;
  for (const b of policy.roleBindings(ns)) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user, ns))) continue;
    const rules =
      b.roleRef?.kind === "ClusterRole"
        ? clusterRoleRules(policy, b.roleRef.name ?? "")
        : b.roleRef?.kind === "Role"
          ? (policy.roles(ns).find((r) => r.metadata.name === b.roleRef?.name)?.rules ?? [])
          : [];
    if (rules.some((rule) => ruleAllows(rule, a))) return true;
  }
  return false;
}

/** kube-apiserver's words for a refusal. */
export function forbiddenMessage(a: Attributes): string {
  const who = `User "${a.user.name}"`;
  const r = a.resource;
  if (r === undefined) return `forbidden: ${who} cannot ${a.verb} path "${a.path}"`;
  const qualified = r.group === "" ? r.resource : `${r.resource}.${r.group}`;
  const full = r.subresource === "" ? r.resource : `${r.resource}/${r.subresource}`;
  const subject = r.name === "" ? qualified : `${qualified} "${r.name}"`;
  const scope = r.namespace === "" ? "at the cluster scope" : `in the namespace "${r.namespace}"`;
  return `${subject} is forbidden: ${who} cannot ${a.verb} resource "${full}" in API group "${r.group}" ${scope}`;
}
