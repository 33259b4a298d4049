// Issue 20: the built-in kinds a chart of this project writes are served with their schemas,
// so `kubectl apply --dry-run=server` validates them as against kube-apiserver, and bad
// input gets kube-apiserver's Status errors. Skipped parts say so when kubectl is missing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { EmbeddedApiServer } from "../../src/apiserver/index.ts";
import { KubeClient, Resources, type KubeObject } from "../../src/kube/index.ts";
import { KUBECTL, runKubectl } from "../support/kubectl.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join(ROOT, "test", "support", "manifests", "chart-kinds.yaml");
const noKubectl = KUBECTL === undefined ? "kubectl is not installed (package kubernetes-client)" : false;

/** A field by dotted path, without the empty values JSON writes and protobuf does not (`resources: {}`, `null`). */
function at(obj: unknown, path: string): unknown {
  let v = obj;
  for (const k of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[k];
  return withoutEmpty(v);
}

function withoutEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutEmpty);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = withoutEmpty(x);
    if (y === null || y === undefined) continue;
    if (typeof y === "object" && !Array.isArray(y) && Object.keys(y).length === 0) continue;
    out[k] = y;
  }
  return out;
}

describe("issue 20: built-in kinds of a chart, served with their schemas", () => {
  let server: EmbeddedApiServer;
  let client: KubeClient;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    server = new EmbeddedApiServer();
    client = new KubeClient({ server: await server.listen() });
    dir = mkdtempSync(join(tmpdir(), "apiserver-builtins-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfig());
  });
  after(async () => {
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (args: string[]) => runKubectl(dir, kubeconfig, args);
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it(
    "kubectl apply --dry-run=server accepts every YAML under deploy/ and stores nothing",
    { skip: noKubectl },
    async () => {
      const r = await kubectl(["apply", "--dry-run=server", "-R", "-f", join(ROOT, "deploy")]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.ok(lines.length >= 9, r.stdout);
      assert.ok(
        lines.every((l) => l.endsWith("created (server dry run)")),
        r.stdout,
      );
      const crds = await client.list(Resources.customresourcedefinitions);
      assert.equal(crds.items.length, 0, "a dry run stores nothing");
    },
  );

  it(
    "kubectl apply --dry-run=server accepts a chart's RBAC, apps, batch, policy and scheduling kinds",
    { skip: noKubectl },
    async () => {
      const r = await kubectl(["apply", "--dry-run=server", "-f", CHART]);
      assert.equal(r.code, 0, r.stderr);
      for (const kind of [
        "serviceaccount/spiderpool-agent",
        "clusterrole.rbac.authorization.k8s.io/spiderpool-admin",
        "clusterrolebinding.rbac.authorization.k8s.io/spiderpool-admin",
        "role.rbac.authorization.k8s.io/leases",
        "rolebinding.rbac.authorization.k8s.io/leases",
        "configmap/spiderpool-conf",
        "secret/spiderpool-controller-server-certs",
        "service/spiderpool-controller",
        "daemonset.apps/spiderpool-agent",
        "deployment.apps/spiderpool-controller",
        "job.batch/spiderpool-init",
        "poddisruptionbudget.policy/spiderpool-controller",
        "priorityclass.scheduling.k8s.io/spiderpool-critical",
        "statefulset.apps/db",
        "endpoints/ext",
      ]) {
        assert.match(r.stdout, new RegExp(`^${kind.replace(/\./g, "\\.")} created \\(server dry run\\)$`, "m"));
      }
      // And for real: applied, read back with the fields the schema knows, nothing pruned.
      const applied = await kubectl(["apply", "-f", CHART]);
      assert.equal(applied.code, 0, applied.stderr);
      const crb = await kubectl([
        "get",
        "clusterrolebinding",
        "spiderpool-admin",
        "-o",
        "jsonpath={.roleRef.name} {.subjects[0].namespace}",
      ]);
      assert.equal(crb.stdout, "spiderpool-admin kube-system");
      const ds = await kubectl([
        "get",
        "ds",
        "-n",
        "kube-system",
        "spiderpool-agent",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].resources.requests.cpu}",
      ]);
      assert.equal(ds.stdout, "100m");
      assert.equal((await kubectl(["get", "pc", "spiderpool-critical", "-o", "jsonpath={.value}"])).stdout, "1000000");
    },
  );

  it("bad manifests get kube-apiserver's Status errors through kubectl", { skip: noKubectl }, async () => {
    const noRoleRef = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file(
        "crb.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: bad}\nsubjects: [{kind: User}]\n",
      ),
    ]);
    assert.notEqual(noRoleRef.code, 0);
    assert.match(noRoleRef.stderr, /The ClusterRoleBinding "bad" is invalid/);
    assert.match(noRoleRef.stderr, /roleRef: Required value/);
    assert.match(noRoleRef.stderr, /subjects\[0\]\.name: Required value/);
    const unknown = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a: b}\nbogus: 1\n"),
    ]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /BadRequest.*strict decoding error: unknown field "bogus"/);
    const type = await kubectl([
      "apply",
      "--dry-run=server",
      "-f",
      file("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: three}\n"),
    ]);
    assert.notEqual(type.code, 0);
    assert.match(
      type.stderr,
      /Error from server \(BadRequest\).*Deployment in version "v1" cannot be handled as a Deployment: spec\.replicas/,
    );
  });

  it(
    "kubectl create of built-in kinds sends protobuf, and the server stores what kubectl meant",
    { skip: noKubectl },
    async () => {
      const probe = await kubectl(["create", "namespace", "demo", "-v=8"]);
      assert.equal(probe.code, 0, probe.stderr);
      assert.match(probe.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, "kubectl sent protobuf");
      const label = await kubectl([
        "get",
        "ns",
        "demo",
        "-o",
        "jsonpath={.metadata.labels.kubernetes\\.io/metadata\\.name}",
      ]);
      assert.equal(label.stdout, "demo", "every namespace carries its name as a label, as in kube-apiserver");
      const cases: Array<{ create: string[]; get: string[]; fields: string[] }> = [
        { create: ["configmap", "c", "--from-literal=a=b", "--from-literal=x=y"], get: ["cm", "c"], fields: ["data"] },
        { create: ["secret", "generic", "s", "--from-literal=p=q"], get: ["secret", "s"], fields: ["data", "type"] },
        {
          create: ["deployment", "web", "--image=nginx", "--image=busybox", "--replicas=2", "--port=80"],
          get: ["deployment", "web"],
          fields: ["metadata.labels", "spec"],
        },
        {
          create: ["job", "once", "--image=busybox", "--", "sh", "-c", "echo hi"],
          get: ["job", "once"],
          fields: ["spec"],
        },
        {
          create: ["cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"],
          get: ["cronjob", "tick"],
          fields: ["spec"],
        },
        {
          create: ["service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"],
          get: ["svc", "np"],
          fields: ["spec"],
        },
        {
          create: ["service", "externalname", "ext", "--external-name=db.example"],
          get: ["svc", "ext"],
          fields: ["spec"],
        },
        { create: ["serviceaccount", "robot"], get: ["sa", "robot"], fields: ["metadata.name"] },
        {
          create: ["role", "reader", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x"],
          get: ["role", "reader"],
          fields: ["rules"],
        },
        {
          create: ["clusterrole", "agg", "--aggregation-rule=example.com/aggregate=true"],
          get: ["clusterrole", "agg"],
          fields: ["aggregationRule"],
        },
        {
          create: [
            "rolebinding",
            "rb",
            "--clusterrole=view",
            "--user=alice",
            "--group=devs",
            "--serviceaccount=default:robot",
          ],
          get: ["rolebinding", "rb"],
          fields: ["subjects", "roleRef"],
        },
        {
          create: ["priorityclass", "high", "--value=1000", "--preemption-policy=Never", "--description=x"],
          get: ["priorityclass", "high"],
          fields: ["value", "description", "preemptionPolicy"],
        },
        {
          create: ["poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=1"],
          get: ["pdb", "pdb"],
          fields: ["spec"],
        },
      ];
      for (const c of cases) {
        const what = `kubectl create ${c.create.join(" ")}`;
        // Flags go before a `--`, after which everything is the container's command.
        const dash = c.create.includes("--") ? c.create.indexOf("--") : c.create.length;
        const dryRun = [...c.create.slice(0, dash), "--dry-run=client", "-o", "json", ...c.create.slice(dash)];
        const meant = await kubectl(["create", ...dryRun]);
        assert.equal(meant.code, 0, `${what} --dry-run=client: ${meant.stderr}`);
        const created = await kubectl(["create", ...c.create]);
        assert.equal(created.code, 0, `${what}: ${created.stderr}`);
        const stored = await kubectl(["get", ...c.get, "-o", "json"]);
        assert.equal(stored.code, 0, stored.stderr);
        for (const field of c.fields) {
          assert.deepEqual(
            at(JSON.parse(stored.stdout), field),
            at(JSON.parse(meant.stdout), field),
            `${what}: ${field}`,
          );
        }
      }
    },
  );

  it(
    "kubectl scale and the scale subresource of Deployments, ReplicaSets and StatefulSets",
    { skip: noKubectl },
    async () => {
      const created = await kubectl(["create", "deployment", "scaled", "--image=nginx"]);
      assert.equal(created.code, 0, created.stderr);
      const scaled = await kubectl(["scale", "deployment", "scaled", "--replicas=5"]);
      assert.equal(scaled.code, 0, scaled.stderr);
      assert.equal((await kubectl(["get", "deploy", "scaled", "-o", "jsonpath={.spec.replicas}"])).stdout, "5");
      // --current-replicas makes kubectl PUT the Scale with its resourceVersion.
      const put = await kubectl(["scale", "deployment", "scaled", "--current-replicas=5", "--replicas=2"]);
      assert.equal(put.code, 0, put.stderr);
      const path = "/apis/apps/v1/namespaces/default/deployments/scaled/scale";
      const scale = await client.request<Record<string, unknown>>("GET", path);
      assert.equal(scale["kind"], "Scale");
      assert.equal(scale["apiVersion"], "autoscaling/v1");
      assert.deepEqual(scale["spec"], { replicas: 2 });
      assert.deepEqual(scale["status"], { replicas: 0, selector: "app=scaled" });
      const stale = await fetch(`${server.url}${path}`, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ metadata: { resourceVersion: "1" }, spec: { replicas: 3 } }),
      });
      assert.equal(stale.status, 409);
      const negative = await fetch(`${server.url}${path}`, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { replicas: -1 } }),
      });
      assert.equal(negative.status, 422);
      assert.match(((await negative.json()) as { message: string }).message, /spec.replicas: Invalid value: -1/);
      const none = await fetch(`${server.url}/api/v1/namespaces/default/configmaps/gen/scale`);
      assert.equal(none.status, 404);
    },
  );

  it("a Status with kind, reason, code and causes for an invalid built-in object", async () => {
    const res = await fetch(`${server.url}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { name: "x" }, subjects: [{ kind: "User", name: "u" }] }),
    });
    assert.equal(res.status, 422);
    const st = (await res.json()) as Record<string, unknown>;
    assert.equal(st["kind"], "Status");
    assert.equal(st["reason"], "Invalid");
    assert.equal(st["code"], 422);
    assert.deepEqual((st["details"] as { causes: unknown[] }).causes, [
      { reason: "FieldValueRequired", message: "Required value", field: "roleRef" },
    ]);
  });

  it("generation: counted for Deployments, not for Leases or ConfigMaps, as kube-apiserver does", async () => {
    const lease = await client.create(Resources.leases, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l", namespace: "default" },
      spec: { holderIdentity: "a", leaseDurationSeconds: 15 },
    } as KubeObject);
    assert.equal(lease.metadata?.["generation"], undefined);
    const renewed = await client.patchMerge(
      Resources.leases,
      "l",
      { spec: { holderIdentity: "b" } },
      { namespace: "default" },
    );
    assert.equal(renewed.metadata?.["generation"], undefined);
    const cm = await client.create(Resources.configmaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "gen", namespace: "default" },
      data: { a: "1" },
    } as KubeObject);
    assert.equal(cm.metadata?.["generation"], undefined);
    const d = await client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d", namespace: "default" },
      spec: { replicas: 1, selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } } } },
    } as KubeObject);
    assert.equal(d.metadata?.["generation"], 1);
    const scaled = await client.patchMerge(
      Resources.deployments,
      "d",
      { spec: { replicas: 3 } },
      { namespace: "default" },
    );
    assert.equal(scaled.metadata?.["generation"], 2);
    const labelled = await client.patchMerge(
      Resources.deployments,
      "d",
      { metadata: { labels: { x: "y" } } },
      { namespace: "default" },
    );
    assert.equal(labelled.metadata?.["generation"], 2, "metadata changes do not count");
  });
});
