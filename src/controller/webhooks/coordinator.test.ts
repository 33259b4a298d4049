import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderCoordinator } from "../../api/coordinator.ts";
import { mutateCoordinator, validateCoordinatorSpec } from "./coordinator.ts";

const coord = (spec: SpiderCoordinator["spec"]): SpiderCoordinator => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderCoordinator",
  metadata: { name: "default" },
  spec,
});

describe("SpiderCoordinator webhook (spec §2.5)", () => {
  it("defaults, prefix forms and the finalizer", () => {
    const c = mutateCoordinator(
      coord({
        podCIDRType: "cluster",
        hijackCIDR: ["192.0.2.1", "2001:db8::1", "198.51.100.0/24"],
        policyRoutes: [{ dst: "203.0.113.7", gw: "192.0.2.1" }],
      }),
    );
    assert.deepEqual(c.spec.hijackCIDR, ["192.0.2.1/32", "2001:db8::1/128", "198.51.100.0/24"]);
    assert.equal(c.spec.policyRoutes?.[0]?.dst, "203.0.113.7/32");
    assert.equal(c.spec.mode, "auto");
    assert.equal(c.spec.hostRuleTable, 500);
    assert.equal(c.spec.vethMTU, 1500);
    assert.equal(c.spec.tunePodRoutes, true);
    assert.deepEqual(c.metadata.finalizers, ["spiderpool.spidernet.io"]);
    const noType = mutateCoordinator(coord({ hijackCIDR: ["192.0.2.1"] }));
    assert.deepEqual(noType.spec.hijackCIDR, ["192.0.2.1"], "no podCIDRType: defaults only");
    assert.equal(noType.metadata.finalizers, undefined);
  });

  it("validates each rule with its field path", () => {
    const base = { podCIDRType: "auto" as const, podRPFilter: 0 };
    assert.equal(validateCoordinatorSpec(base, true), undefined);
    assert.equal(validateCoordinatorSpec({ podRPFilter: 0 }, true)?.field, "spec.podCIDRType");
    assert.equal(validateCoordinatorSpec({}, false), undefined, "optional inside SpiderMultusConfig");
    assert.equal(validateCoordinatorSpec({ ...base, hijackCIDR: ["x"] }, true)?.field, "spec.extraCIDR[0]");
    assert.equal(
      validateCoordinatorSpec({ ...base, policyRoutes: [{ dst: "192.0.2.0/24", gw: "2001:db8::1" }] }, true)?.field,
      "spec.policyRoutes[0]",
    );
    assert.equal(validateCoordinatorSpec({ ...base, podMACPrefix: "0b:12" }, true)?.detail.includes("unicast"), true);
    assert.equal(validateCoordinatorSpec({ ...base, podMACPrefix: "0a:1b" }, true), undefined);
    assert.equal(validateCoordinatorSpec({ ...base, podMACPrefix: "0a1b" }, true)?.field, "spec.podMACPrefix");
    assert.equal(validateCoordinatorSpec({ ...base, txQueueLen: -1 }, true)?.field, "spec.txQueueLen");
    assert.equal(validateCoordinatorSpec({ ...base, podRPFilter: 3 }, true)?.type, "NotSupported");
    assert.equal(validateCoordinatorSpec({ ...base, podRPFilter: -1 }, true), undefined, "negative leaves it");
    assert.equal(validateCoordinatorSpec({ podCIDRType: "auto" }, true)?.field, "spec.podRPFilter");
    assert.equal(validateCoordinatorSpec({ ...base, vethLinkAddress: "nope" }, true)?.field, "spec.vethLinkAddress");
    assert.equal(validateCoordinatorSpec({ ...base, vethMTU: 0 }, true)?.field, "spec.vethMTU");
  });
});
