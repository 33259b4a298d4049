// Issue 20: authentication of ServiceAccount tokens and RBAC authorization, on as an option
// of the embedded server. kubectl sends tokens only over HTTPS, so these servers use TLS.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EmbeddedApiServer } from "../../src/apiserver/index.ts";
import { ApiError, KubeClient, Resources, type KubeObject } from "../../src/kube/index.ts";
import { KUBECTL, runKubectl } from "../support/kubectl.ts";

const noKubectl = KUBECTL === undefined ? "kubectl is not installed (package kubernetes-client)" : false;

describe("issue 20: authentication and RBAC authorization", () => {
  let server: EmbeddedApiServer;
  let admin: KubeClient;
  let dir: string;
  let kubeconfig: string;
  const clients: KubeClient[] = [];

  before(async () => {
    server = new EmbeddedApiServer({ auth: true, tls: "generate" });
    const url = await server.listen();
    admin = new KubeClient({ server: url, ca: server.caPem ?? "", token: server.adminToken });
    clients.push(admin);
    dir = mkdtempSync(join(tmpdir(), "apiserver-auth-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfig());
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (token: string): KubeClient => {
    const c = new KubeClient({ server: server.url, ca: server.caPem ?? "", token });
    clients.push(c);
    return c;
  };
  const kubectl = (args: string[]) => runKubectl(dir, kubeconfig, args);
  const status = async (p: Promise<unknown>): Promise<ApiError> => {
    try {
      await p;
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error("expected the request to fail");
  };
  const tokenFor = async (namespace: string, name: string): Promise<string> => {
    const r = await admin.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
    );
    return r.status.token;
  };
  const sa = (namespace: string, name: string): Promise<KubeObject> =>
    admin.create(Resources.serviceaccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace },
    });

  it("a request without a valid token is refused with 401; health stays open", async () => {
    const e = await status(as("not-a-token").list(Resources.secrets, { namespace: "default" }));
    assert.equal(e.status, 401);
    assert.equal(e.reason, "Unauthorized");
    const health = await as("not-a-token").request<string>("GET", "/healthz");
    assert.equal(health, "ok");
  });

  it("the admin kubeconfig keeps full rights", async () => {
    await admin.create(Resources.secrets, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default" },
      stringData: { k: "v" },
    } as KubeObject);
    const list = await admin.list(Resources.secrets, { namespace: "default" });
    assert.equal(list.items.length, 1);
  });

  it("a ServiceAccount gets what its ClusterRoleBinding grants and 403 with kube's message otherwise", async () => {
    await sa("default", "reader");
    await admin.create(Resources.clusterroles, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "pod-reader" },
      rules: [{ verbs: ["get", "list", "watch"], apiGroups: [""], resources: ["pods"] }],
    } as KubeObject);
    await admin.create(Resources.clusterrolebindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "pod-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "default" }],
    } as KubeObject);
    const reader = as(await tokenFor("default", "reader"));
    assert.equal((await reader.list(Resources.pods, { namespace: "kube-system" })).items.length, 0);
    const secrets = await status(reader.list(Resources.secrets, { namespace: "default" }));
    assert.equal(secrets.status, 403);
    assert.equal(secrets.reason, "Forbidden");
    assert.ok(
      secrets.message.endsWith(
        ': secrets is forbidden: User "system:serviceaccount:default:reader" cannot list resource "secrets" in API group "" in the namespace "default"',
      ),
      secrets.message,
    );
    const del = await status(reader.delete(Resources.pods, "x", { namespace: "default" }));
    assert.equal(del.status, 403, "refused before the lookup, as kube-apiserver does");
    const knob = await status(reader.request("POST", "/_embedded/compact", { body: {} }));
    assert.equal(knob.status, 403, "test controls are admin-only");
    await admin.request("POST", "/_embedded/compact", { body: {} });
  });

  it("a Role binds in its namespace only; a recreated ServiceAccount invalidates old tokens", async () => {
    await admin.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
    await sa("apps", "bot");
    await admin.create(Resources.roles, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "cm", namespace: "apps" },
      rules: [{ verbs: ["create", "get"], apiGroups: [""], resources: ["configmaps"] }],
    } as KubeObject);
    await admin.create(Resources.rolebindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "cm", namespace: "apps" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm" },
      subjects: [{ kind: "ServiceAccount", name: "bot" }],
    } as KubeObject);
    const token = await tokenFor("apps", "bot");
    const bot = as(token);
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } } as KubeObject;
    await bot.create(Resources.configmaps, cm, { namespace: "apps" });
    assert.equal((await status(bot.create(Resources.configmaps, cm, { namespace: "default" }))).status, 403);
    await admin.delete(Resources.serviceaccounts, "bot", { namespace: "apps" });
    await sa("apps", "bot");
    assert.equal((await status(as(token).get(Resources.configmaps, "c", "apps"))).status, 401);
  });

  it("discovery lists the TokenRequest subresource and SelfSubjectAccessReview", async () => {
    const core = await admin.request<{ resources: Array<{ name: string; kind: string; verbs: string[] }> }>(
      "GET",
      "/api/v1",
    );
    assert.deepEqual(
      core.resources.find((r) => r.name === "serviceaccounts/token"),
      {
        name: "serviceaccounts/token",
        singularName: "",
        namespaced: true,
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      },
    );
    const authz = await admin.request<{ resources: Array<{ name: string; verbs: string[] }> }>(
      "GET",
      "/apis/authorization.k8s.io/v1",
    );
    assert.deepEqual(
      authz.resources.map((r) => [r.name, r.verbs]),
      [["selfsubjectaccessreviews", ["create"]]],
    );
  });

  it("kubectl create token, --token and auth can-i", { skip: noKubectl }, async () => {
    const created = await kubectl(["create", "token", "reader", "--duration=15m"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const get = await kubectl(["--token", token, "get", "pods", "-A"]);
    assert.equal(get.code, 0, get.stderr);
    const forbidden = await kubectl(["--token", token, "get", "secrets"]);
    assert.notEqual(forbidden.code, 0);
    assert.match(
      forbidden.stderr,
      /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:default:reader" cannot list resource "secrets"/,
    );
    assert.equal((await kubectl(["--token", token, "auth", "can-i", "list", "pods"])).stdout.trim(), "yes");
    assert.equal((await kubectl(["--token", token, "auth", "can-i", "delete", "pods"])).stdout.trim(), "no");
    const bogus = await kubectl(["--token", "bogus", "get", "pods"]);
    assert.match(bogus.stderr, /Unauthorized/);
  });
});
