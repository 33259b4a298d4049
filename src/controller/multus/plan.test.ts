import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { mutateMultusConfig } from "../webhooks/multusconfig.ts";
import { desiredNad } from "./nad-config.ts";
import { planNad } from "./plan.ts";

const SMC: SpiderMultusConfig = mutateMultusConfig({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderMultusConfig",
  metadata: { name: "net1", namespace: "ns", uid: "u1", annotations: { a: "1" } },
  spec: { cniType: "macvlan", macvlan: { master: ["eth0"] } },
});
const mine = {
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderMultusConfig",
  name: "net1",
  uid: "u1",
  controller: true,
  blockOwnerDeletion: true,
};
const config = desiredNad(SMC).config;
const nad = (meta: Record<string, unknown>, cfg: string | undefined = config) =>
  ({
    apiVersion: "k8s.cni.cncf.io/v1",
    kind: "NetworkAttachmentDefinition",
    metadata: { name: "net1", namespace: "ns", resourceVersion: "7", annotations: { a: "1" }, ...meta },
    spec: cfg === undefined ? {} : { config: cfg },
  }) as NetworkAttachmentDefinition;

describe("planNad (node-networking §3.4)", () => {
  const rows: [string, SpiderMultusConfig, NetworkAttachmentDefinition | undefined, string][] = [
    ["absent → create", SMC, undefined, "create"],
    ["in sync → none", SMC, nad({ ownerReferences: [mine] }), "none"],
    ["config drifted → update", SMC, nad({ ownerReferences: [mine] }, "{}"), "update"],
    ["annotations drifted → update", SMC, nad({ ownerReferences: [mine], annotations: { a: "2" } }), "update"],
    ["no annotations vs some → update", SMC, nad({ ownerReferences: [mine], annotations: undefined }), "update"],
    ["owner reference missing → update (take over)", SMC, nad({}), "update"],
    ["terminating → wait", SMC, nad({ ownerReferences: [mine], deletionTimestamp: "2026-01-01T00:00:00Z" }), "wait"],
    ["owned by another SMC → refuse", SMC, nad({ ownerReferences: [{ ...mine, name: "other", uid: "u9" }] }), "refuse"],
    [
      "owned by an earlier SMC of the same name → update",
      SMC,
      nad({ ownerReferences: [{ ...mine, uid: "u0" }] }),
      "update",
    ],
    [
      "SMC being deleted → skip",
      { ...SMC, metadata: { ...SMC.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } },
      undefined,
      "skip",
    ],
    [
      "chain entry not JSON → refuse",
      { ...SMC, spec: { ...SMC.spec, chainCNIJsonData: ["{bad"] } },
      undefined,
      "refuse",
    ],
  ];
  for (const [what, smc, existing, kind] of rows) it(what, () => assert.equal(planNad(smc, existing).kind, kind));

  it("create carries the controller owner reference and all the SMC's annotations, no labels", () => {
    const p = planNad(SMC, undefined);
    assert.equal(p.kind, "create");
    if (p.kind !== "create") return;
    assert.deepEqual(p.nad.metadata.ownerReferences, [mine]);
    assert.deepEqual(p.nad.metadata.annotations, { a: "1" });
    assert.equal(p.nad.metadata.labels, undefined);
  });

  it("update keeps the read resourceVersion (a preconditioned write) and drops the stale owner", () => {
    const p = planNad(SMC, nad({ ownerReferences: [{ ...mine, uid: "u0" }] }, "{}"));
    assert.equal(p.kind, "update");
    if (p.kind !== "update") return;
    assert.equal(p.nad.metadata.resourceVersion, "7");
    assert.deepEqual(p.nad.metadata.ownerReferences, [mine]);
    assert.equal(p.nad.spec?.config, config);
  });

  it("a custom SMC without customCNI takes the config out of its NAD", () => {
    const custom = mutateMultusConfig({ ...SMC, spec: { cniType: "custom" } });
    const p = planNad(custom, nad({ ownerReferences: [mine] }, '{"type":"bridge"}'));
    assert.equal(p.kind, "update");
    if (p.kind === "update") assert.deepEqual(p.nad.spec, {});
  });

  it("refusal names both objects as upstream does", () => {
    const p = planNad(SMC, nad({ ownerReferences: [{ ...mine, name: "other", uid: "u9" }] }));
    assert.equal(
      p.kind === "refuse" ? p.message : "",
      "the net-attach-def ns/net1 already exists and is managed by SpiderMultusConfig ns/other.",
    );
  });
});
