// kube-apiserver's RBAC rule matching (PolicyRule: apiGroups, resources with "res/sub",
// verbs, resourceNames; "*" anywhere), over the objects a rendered chart contains.
import type { RequestAttributes } from "./recording-proxy.ts";

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RenderedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  const has = (list: string[] | undefined, v: string): boolean => (list ?? []).some((x) => x === "*" || x === v);
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.group)) return false;
  const res = a.subresource === "" ? a.resource : `${a.resource}/${a.subresource}`;
  if (!has(rule.resources, res)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

/** Rules bound to a ServiceAccount: ClusterRoles cluster-wide, Roles in their namespace. */
export function rulesOf(objects: RenderedObject[], sa: { name: string; namespace: string }) {
  const bound = (o: RenderedObject): boolean =>
    (o.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === sa.name && s.namespace === sa.namespace);
  const find = (kind: string, name: string, ns?: string): RenderedObject | undefined =>
    objects.find(
      (o) => o.kind === kind && o.metadata?.name === name && (ns === undefined || o.metadata?.namespace === ns),
    );
  const out: Array<{ rule: PolicyRule; namespace?: string; role: string }> = [];
  for (const b of objects.filter((o) => o.kind === "ClusterRoleBinding" && bound(o))) {
    const role = find("ClusterRole", b.roleRef?.name ?? "");
    for (const rule of role?.rules ?? []) out.push({ rule, role: `ClusterRole/${role?.metadata?.name}` });
  }
  for (const b of objects.filter((o) => o.kind === "RoleBinding" && bound(o))) {
    const ns = b.metadata?.namespace;
    const role =
      b.roleRef?.kind === "ClusterRole" ? find("ClusterRole", b.roleRef.name) : find("Role", b.roleRef?.name ?? "", ns);
    for (const rule of role?.rules ?? [])
      out.push({ rule, ...(ns !== undefined ? { namespace: ns } : {}), role: `${role?.kind}/${role?.metadata?.name}` });
  }
  return out;
}

export function allowed(rules: ReturnType<typeof rulesOf>, a: RequestAttributes): boolean {
  if (a.nonResource !== undefined) return true;
  return rules.some((r) => (r.namespace === undefined || r.namespace === a.namespace) && ruleAllows(r.rule, a));
}

/** Every (group, resource[/sub], verb) a rule grants, for the converse check. */
export function grants(rules: ReturnType<typeof rulesOf>): string[] {
  const out: string[] = [];
  for (const { rule } of rules)
    for (const g of rule.apiGroups ?? [])
      for (const r of rule.resources ?? []) for (const v of rule.verbs) out.push(`${g}|${r}|${v}`);
  return out;
}

export const grantKey = (a: RequestAttributes): string =>
  `${a.group}|${a.subresource === "" ? a.resource : `${a.resource}/${a.subresource}`}|${a.verb}`;
