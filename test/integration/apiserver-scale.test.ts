// The scale subresource kubectl scale uses: an autoscaling/v1 Scale over a workload's replicas.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiError, Resources, type KubeObject } from "../../src/kube/index.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";

describe("the scale subresource", () => {
  let h: Harness;
  before(async () => {
    h = await startApiServer({ crds: false });
    await h.client.create(Resources.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 2,
        selector: {
          matchLabels: { app: "web" },
          matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }],
        },
        template: {
          metadata: { labels: { app: "web", tier: "a" } },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    });
  });
  after(async () => h?.close());
  const path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
  type Scale = {
    kind: string;
    apiVersion: string;
    metadata: { resourceVersion: string };
    spec: { replicas: number };
    status: { selector: string };
  };

  it("SB-19: GET answers a Scale with the replicas and the selector as a string", async () => {
    const s = await h.client.request<Scale>("GET", path);
    assert.equal(s.kind, "Scale");
    assert.equal(s.apiVersion, "autoscaling/v1");
    assert.equal(s.spec.replicas, 2);
    assert.equal(s.status.selector, "app=web,tier in (a,b)");
  });

  it("SB-20: a merge patch and a PUT set the Deployment's replicas; a stale PUT is a conflict; bad replicas are refused", async () => {
    const patched = await h.client.request<Scale>("PATCH", path, {
      body: { spec: { replicas: 5 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(patched.spec.replicas, 5);
    const d = await h.client.get<KubeObject & { spec: { replicas: number } }>(Resources.deployments, "web", "default");
    assert.equal(d.spec.replicas, 5);
    const put = await h.client.request<Scale>("PUT", path, { body: { ...patched, spec: { replicas: 3 } } });
    assert.equal(put.spec.replicas, 3);
    await assert.rejects(
      h.client.request("PUT", path, { body: { ...patched, spec: { replicas: 4 } } }),
      (err: unknown) => err instanceof ApiError && err.status === 409,
    );
    await assert.rejects(
      h.client.request("PUT", path, { body: { kind: "Scale", spec: { replicas: -1 } } }),
      (err: unknown) => err instanceof ApiError && err.status === 400,
    );
  });

  it("SB-21: discovery lists deployments/scale; pods have none", async () => {
    const list = await h.client.request<{ resources: Array<{ name: string; kind: string; group?: string }> }>(
      "GET",
      "/apis/apps/v1",
    );
    assert.deepEqual(
      list.resources.find((r) => r.name === "deployments/scale"),
      {
        name: "deployments/scale",
        singularName: "",
        namespaced: true,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      },
    );
    await assert.rejects(
      h.client.request("GET", "/api/v1/namespaces/default/pods/x/scale"),
      (err: unknown) => err instanceof ApiError && err.status === 404,
    );
  });
});
