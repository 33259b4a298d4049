// The RBAC decision (issue 20): rules, bindings, aggregation and kube-apiserver's wording.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { UserInfo } from "./authenticator.ts";
import { authorize, forbiddenMessage, ruleAllows, type Attributes, type RbacObject, type RbacPolicy } from "./rbac.ts";

const robot: UserInfo = {
  name: "system:serviceaccount:apps:robot",
  groups: ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
};

const res = (verb: string, resource: string, o: Partial<NonNullable<Attributes["resource"]>> = {}): Attributes => ({
  user: robot,
  verb,
  path: "",
  resource: { group: "", resource, subresource: "", namespace: "apps", name: "", ...o },
});

describe("RBAC rules", () => {
  const cases: Array<{ name: string; rule: Parameters<typeof ruleAllows>[0]; a: Attributes; ok: boolean }> = [
    {
      name: "verb and resource",
      rule: { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      a: res("get", "pods"),
      ok: true,
    },
    {
      name: "other verb",
      rule: { verbs: ["get"], apiGroups: [""], resources: ["pods"] },
      a: res("delete", "pods"),
      ok: false,
    },
    {
      name: "other group",
      rule: { verbs: ["*"], apiGroups: ["apps"], resources: ["pods"] },
      a: res("get", "pods"),
      ok: false,
    },
    {
      name: "subresource needs its own entry",
      rule: { verbs: ["update"], apiGroups: [""], resources: ["pods"] },
      a: res("update", "pods", { subresource: "status" }),
      ok: false,
    },
    {
      name: "resource/subresource",
      rule: { verbs: ["update"], apiGroups: [""], resources: ["pods/status"] },
      a: res("update", "pods", { subresource: "status" }),
      ok: true,
    },
    {
      name: "*/subresource",
      rule: { verbs: ["update"], apiGroups: ["*"], resources: ["*/status"] },
      a: res("update", "pods", { subresource: "status" }),
      ok: true,
    },
    {
      name: "resourceNames match a name",
      rule: { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      a: res("get", "configmaps", { name: "a" }),
      ok: true,
    },
    {
      name: "resourceNames never match a list",
      rule: { verbs: ["list"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      a: res("list", "configmaps"),
      ok: false,
    },
    {
      name: "non-resource path with a wildcard",
      rule: { verbs: ["get"], nonResourceURLs: ["/metrics*"] },
      a: { user: robot, verb: "get", path: "/metrics/cadvisor" },
      ok: true,
    },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.ok ? "allowed" : "refused"}`, () => assert.equal(ruleAllows(c.rule, c.a), c.ok));
});

describe("RBAC bindings", () => {
  const policy = (p: Partial<Record<keyof RbacPolicy, RbacObject[]>>): RbacPolicy => ({
    clusterRoles: () => p.clusterRoles ?? [],
    clusterRoleBindings: () => p.clusterRoleBindings ?? [],
    roles: (ns) => (p.roles ?? []).filter((r) => r.metadata.namespace === ns),
    roleBindings: (ns) => (p.roleBindings ?? []).filter((r) => r.metadata.namespace === ns),
  });
  const reader: RbacObject = {
    metadata: { name: "reader", labels: { "example.com/aggregate": "true" } },
    rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["configmaps"] }],
  };

  it("a RoleBinding grants in its namespace only; a ServiceAccount subject defaults to it", () => {
    const p = policy({
      roles: [{ metadata: { name: "r", namespace: "apps" }, rules: reader.rules ?? [] }],
      roleBindings: [
        {
          metadata: { name: "b", namespace: "apps" },
          subjects: [{ kind: "ServiceAccount", name: "robot" }],
          roleRef: { kind: "Role", name: "r" },
        },
      ],
    });
    assert.equal(authorize(res("list", "configmaps"), p), true);
    assert.equal(authorize(res("list", "configmaps", { namespace: "default" }), p), false);
  });

  it("groups, aggregated ClusterRoles, masters and discovery", () => {
    const p = policy({
      clusterRoles: [
        reader,
        {
          metadata: { name: "agg" },
          aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "example.com/aggregate": "true" } }] },
        },
      ],
      clusterRoleBindings: [
        {
          metadata: { name: "b" },
          subjects: [{ kind: "Group", name: "system:serviceaccounts:apps" }],
          roleRef: { kind: "ClusterRole", name: "agg" },
        },
      ],
    });
    assert.equal(authorize(res("get", "configmaps", { namespace: "other" }), p), true);
    assert.equal(authorize(res("delete", "configmaps"), p), false);
    assert.equal(
      authorize({ ...res("delete", "secrets"), user: { name: "admin", groups: ["system:masters"] } }, p),
      true,
    );
    assert.equal(authorize({ user: robot, verb: "get", path: "/apis/apps/v1" }, p), true);
    assert.equal(authorize({ user: robot, verb: "get", path: "/metrics" }, p), false);
  });

  it("refusals read as kube-apiserver's", () => {
    assert.equal(
      forbiddenMessage(res("delete", "deployments", { group: "apps", name: "web" })),
      'deployments.apps "web" is forbidden: User "system:serviceaccount:apps:robot" cannot delete resource "deployments" in API group "apps" in the namespace "apps"',
    );
    assert.equal(
      forbiddenMessage(res("list", "nodes", { namespace: "" })),
      'nodes is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    assert.equal(
      forbiddenMessage({ user: robot, verb: "get", path: "/metrics" }),
      'forbidden: User "system:serviceaccount:apps:robot" cannot get path "/metrics"',
    );
  });
});
