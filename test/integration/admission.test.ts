// Admission webhooks of the embedded API server, against a real HTTPS webhook server on
// loopback with a certificate from our own CA; and the API server itself over HTTPS.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { SpiderIPPoolKind } from "../../src/api/ippool.ts";
import { EmbeddedApiServer } from "../../src/apiserver/index.ts";
import { ApiError, KubeClient, Resources, resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { generateCA, issueServingCert } from "../../src/pki/certs.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";

const POOLS = resourceTypeOf(SpiderIPPoolKind);

interface Review {
  request: {
    uid: string;
    operation: string;
    name: string;
    subResource?: string;
    object: KubeObject | null;
    oldObject: KubeObject | null;
  };
}

const pool = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: { name, labels },
  spec: { subnet: "203.0.113.0/24" },
});

async function status(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail("expected the request to fail");
}

describe("admission webhooks", () => {
  let h: Harness;
  let hooks: Server;
  let hookUrl: string;
  const ca = generateCA("webhook-test-ca");
  const otherCa = generateCA("unrelated-ca");
  const calls: Review["request"][] = [];

  before(async () => {
    h = await startApiServer();
    const serving = issueServingCert(ca, { ipAddresses: ["127.0.0.1"] });
    hooks = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const review = JSON.parse(body) as Review;
        const r = review.request;
        calls.push(r);
        let response: Record<string, unknown> = { uid: r.uid, allowed: true };
        if (req.url === "/validate") {
          const name = r.name;
          if (name.startsWith("deny-")) {
            response = {
              uid: r.uid,
              allowed: false,
              status: { code: 422, reason: "Invalid", message: `pool ${name} is not welcome` },
            };
          } else if (
            r.operation === "DELETE" &&
            r.oldObject?.metadata?.["labels"] !== undefined &&
            (r.oldObject.metadata["labels"] as Record<string, string>)["protected"] === "true"
          ) {
            response = { uid: r.uid, allowed: false, status: { code: 403, reason: "Forbidden", message: "protected" } };
          } else {
            response = { uid: r.uid, allowed: true, warnings: [`checked ${name}`] };
          }
        } else if (req.url === "/mutate") {
          const patch = [{ op: "add", path: "/metadata/labels/mutated", value: "yes" }];
          response = {
            uid: r.uid,
            allowed: true,
            patchType: "JSONPatch",
            patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
          };
        } else if (req.url === "/wrong-uid") {
          response = { uid: "not-the-request", allowed: true };
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response }));
      });
    });
    await new Promise<void>((r) => hooks.listen(0, "127.0.0.1", r));
    hookUrl = `https://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    const caBundle = Buffer.from(ca.certPem).toString("base64");
    const rules = [
      {
        operations: ["CREATE", "UPDATE"],
        apiGroups: ["spiderpool.spidernet.io"],
        apiVersions: ["v2beta1"],
        resources: ["spiderippools"],
      },
    ];
    await h.client.create(Resources.mutatingwebhookconfigurations, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: "test-mutate" },
      webhooks: [
        {
          name: "mutate.test",
          clientConfig: { url: `${hookUrl}/mutate`, caBundle },
          rules,
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Fail",
          objectSelector: { matchLabels: { hook: "on" } },
        },
      ],
    });
    await h.client.create(Resources.validatingwebhookconfigurations, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "test-validate" },
      webhooks: [
        {
          name: "validate.test",
          clientConfig: { url: `${hookUrl}/validate`, caBundle },
          rules: [{ ...rules[0], operations: ["CREATE", "UPDATE", "DELETE"] }],
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Fail",
          objectSelector: { matchLabels: { hook: "on" } },
        },
      ],
    });
  });
  after(async () => {
    await h.close();
    hooks.close();
  });

  it("a validating webhook that rejects fails the write with the webhook's message", async () => {
    const e = await status(h.client.create(POOLS, pool("deny-me", { hook: "on" })));
    assert.equal(e.status, 422);
    assert.equal(e.statusMessage, 'admission webhook "validate.test" denied the request: pool deny-me is not welcome');
  });

  it("a mutating webhook's JSON patch is applied, and warnings reach the client", async () => {
    const warnings: string[] = [];
    const c = h.newClient({ onWarning: (w) => warnings.push(w) });
    const p = await c.create(POOLS, pool("welcome", { hook: "on" }));
    assert.equal((p.metadata?.["labels"] as Record<string, string>)["mutated"], "yes");
    assert.deepEqual(warnings, ["checked welcome"]);
    const create = calls.filter((r) => r.name === "welcome" && r.operation === "CREATE");
    assert.equal(create.length, 2, "mutating then validating");
    assert.equal(
      (create[1]?.object?.metadata?.["labels"] as Record<string, string>)["mutated"],
      "yes",
      "validation sees the mutated object",
    );
  });

  it("objectSelector limits the calls; /status is not intercepted by a rule on the main resource", async () => {
    const before = calls.length;
    await h.client.create(POOLS, pool("unhooked"));
    assert.equal(calls.length, before);
    await h.client.patchMerge(POOLS, "welcome", { status: { allocatedIPCount: 1 } }, { subresource: "status" });
    assert.equal(calls.length, before);
    await h.client.patchMerge(POOLS, "welcome", { spec: { gateway: "203.0.113.1" } });
    const update = calls.slice(before).filter((r) => r.operation === "UPDATE");
    assert.equal(update.length, 2);
    assert.ok(update[0]?.oldObject, "UPDATE carries oldObject");
  });

  it("DELETE is admitted with oldObject and can be refused", async () => {
    await h.client.create(POOLS, pool("keep", { hook: "on", protected: "true" }));
    const e = await status(h.client.delete(POOLS, "keep"));
    assert.equal(e.status, 403);
    assert.match(e.statusMessage, /denied the request: protected/);
    const del = calls.filter((r) => r.operation === "DELETE" && r.name === "keep");
    assert.equal(del[0]?.object, null);
    assert.equal(del[0]?.oldObject?.metadata?.name, "keep");
  });

  async function webhookWith(
    name: string,
    url: string,
    failurePolicy: "Fail" | "Ignore",
    caPem = ca.certPem,
  ): Promise<void> {
    await h.client.create(Resources.validatingwebhookconfigurations, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name },
      webhooks: [
        {
          name: `${name}.test`,
          clientConfig: { url, caBundle: Buffer.from(caPem).toString("base64") },
          rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }],
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy,
          objectSelector: { matchLabels: { policy: name } },
          timeoutSeconds: 2,
        },
      ],
    });
  }
  const cm = (name: string, policy: string): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default", labels: { policy } },
  });

  it("failurePolicy Fail with the webhook down fails the write; Ignore lets it through", async () => {
    await webhookWith("down-fail", "https://127.0.0.1:1/validate", "Fail");
    await webhookWith("down-ignore", "https://127.0.0.1:1/validate", "Ignore");
    const e = await status(h.client.create(Resources.configmaps, cm("a", "down-fail")));
    assert.equal(e.status, 500);
    assert.match(e.statusMessage, /failed calling webhook "down-fail.test"/);
    const ok = await h.client.create(Resources.configmaps, cm("b", "down-ignore"));
    assert.equal(ok.metadata?.name, "b");
  });

  it("the webhook's certificate must chain to caBundle; the response uid must match", async () => {
    await webhookWith("wrong-ca", `${hookUrl}/validate`, "Fail", otherCa.certPem);
    const e = await status(h.client.create(Resources.configmaps, cm("c", "wrong-ca")));
    assert.equal(e.status, 500);
    assert.match(e.statusMessage, /certificate/i);
    await webhookWith("wrong-uid", `${hookUrl}/wrong-uid`, "Fail");
    const u = await status(h.client.create(Resources.configmaps, cm("d", "wrong-uid")));
    assert.match(u.statusMessage, /expected response.uid/);
  });
});

describe("the API server over HTTPS with a generated certificate", () => {
  it("serves a client that trusts only its CA, and refuses one that trusts nothing", async () => {
    const server = new EmbeddedApiServer({ tls: "generate" });
    const url = await server.listen();
    assert.match(url, /^https:\/\/127\.0\.0\.1:/);
    const trusted = new KubeClient({ server: url, ca: server.caPem as string });
    const untrusted = new KubeClient({ server: url, ca: generateCA("nobody").certPem });
    try {
      const ns = await trusted.list(Resources.namespaces);
      assert.ok(ns.items.length >= 4);
      await assert.rejects(untrusted.list(Resources.namespaces), /certificate/i);
      assert.match(server.kubeconfig(), /certificate-authority-data: /);
    } finally {
      await trusted.close();
      await untrusted.close();
      await server.close();
    }
  });
});
