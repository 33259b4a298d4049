// The CRD upgrade planner: a table of what the server holds against what this controller ships.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toCrd } from "../api/crd.ts";
import { SpiderIPPoolKind } from "../api/ippool.ts";
import type { KubeObject } from "../kube/client.ts";
import { compareVersions, covers, CRD_VERSION_ANNOTATION, planCrdUpgrade } from "./crd-upgrade.ts";

const wanted = toCrd(SpiderIPPoolKind);
const onServer = (spec: unknown, version?: string): KubeObject => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: wanted.metadata.name,
    resourceVersion: "7",
    ...(version !== undefined ? { annotations: { [CRD_VERSION_ANNOTATION]: version } } : {}),
  },
  spec,
});
const withDefaults = { ...structuredClone(wanted.spec), conversion: { strategy: "None" } };
const older = structuredClone(wanted.spec) as { versions: Array<{ additionalPrinterColumns?: unknown[] }> };
older.versions[0]!.additionalPrinterColumns = [];

describe("planCrdUpgrade (issue 21)", () => {
  const cases: Array<[string, KubeObject | undefined, string, string]> = [
    ["absent", undefined, "0.2.0", "absent"],
    ["same schema, server defaults added", onServer(withDefaults), "0.2.0", "keep:up-to-date"],
    ["older schema, no annotation (installed by Helm)", onServer(older), "0.2.0", "update"],
    ["older schema, annotated older", onServer(older, "0.1.0"), "0.2.0", "update"],
    ["other schema written by a newer controller", onServer(older, "0.3.0"), "0.2.0", "keep:newer"],
    ["same version, other schema (a hand edit)", onServer(older, "0.2.0"), "0.2.0", "update"],
  ];
  for (const [name, current, version, want] of cases) {
    it(`issue 21: ${name} → ${want}`, () => {
      const p = planCrdUpgrade(current, wanted, version);
      assert.equal(p.action === "keep" ? `keep:${p.reason}` : p.action, want);
      if (p.action === "update") {
        assert.deepEqual(p.next["spec"], wanted.spec);
        assert.equal(p.next.metadata?.resourceVersion, "7", "written against what was read");
        assert.equal((p.next.metadata?.["annotations"] as Record<string, string>)[CRD_VERSION_ANNOTATION], version);
      }
    });
  }

  it("issue 21: versions compare numerically; unparsable ones count as older", () => {
    assert.equal(compareVersions("0.10.0", "0.9.9"), 1);
    assert.equal(compareVersions("v1.2.3", "1.2.3"), 0);
    assert.equal(compareVersions("dev", "0.1.0"), -1);
    assert.equal(covers({ a: 1, b: [1, 2] }, { b: [1, 2] }), true);
    assert.equal(covers({ b: [1, 2, 3] }, { b: [1, 2] }), false);
  });
});
