import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  nodeAllows,
  nodeReadiness,
  scanRecord,
  traceEntryFor,
  type GcConfig,
  type GcPod,
  type ScanFacts,
} from "./decide.ts";

const cfg: GcConfig = {
  enabled: true,
  terminatingOnReadyNode: true,
  terminatingOnNotReadyNode: true,
  runningPodOnEmptyPodIPs: false,
  additionalGraceDelaySeconds: 0,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  cleanOutdatedEndpoint: false,
};
const NOW = Date.parse("2026-11-22T10:00:00Z");
const rec = { pool: "p", ip: "192.0.2.10", podRef: "default/web", podUid: "u1" };

function pod(o: { uid?: string; phase?: string; ips?: boolean; deleting?: string; grace?: number } = {}): GcPod {
  return {
    metadata: {
      name: "web",
      namespace: "default",
      uid: o.uid ?? "u1",
      ...(o.deleting !== undefined ? { deletionTimestamp: o.deleting, deletionGracePeriodSeconds: o.grace ?? 30 } : {}),
    },
    spec: { nodeName: "n1" },
    status: { phase: o.phase ?? "Running", podIPs: o.ips === false ? [] : [{ ip: "192.0.2.10" }] },
  };
}
const facts = (p: GcPod | undefined, extra: Partial<ScanFacts> = {}): ScanFacts => ({
  pod: p,
  endpoint: { uid: "u1", kind: "stateless" },
  kind: "stateless",
  staticValid: undefined,
  nodeReady: true,
  now: NOW,
  ...extra,
});

describe("GC scan decisions (ipam-behavior §4.4)", () => {
  it("AC-74: a record whose pod does not exist is released; a running pod's record is kept", () => {
    assert.deepEqual(scanRecord(rec, facts(undefined, { endpoint: undefined }), cfg), {
      action: "release",
      reason: "PodMissing",
      deleteEndpoint: false,
    });
    assert.equal(scanRecord(rec, facts(pod()), cfg).action, "keep");
  });

  it("AC-79: a stateless pod re-created under the same name: the old UID's record and endpoint go", () => {
    const d = scanRecord(rec, facts(pod({ uid: "u2" })), cfg);
    assert.deepEqual(d, { action: "release", reason: "UIDMismatch", deleteEndpoint: true });
  });

  it("a static pod re-created under the same name keeps its record until its ADD, while wanted", () => {
    const f = facts(pod({ uid: "u2", ips: false, phase: "Pending" }), { kind: "statefulset", staticValid: true });
    assert.equal(scanRecord(rec, f, cfg).action, "keep");
    assert.equal(scanRecord(rec, { ...f, staticValid: false }, cfg).action, "release");
    assert.equal(scanRecord(rec, { ...f, staticValid: undefined }, cfg).action, "keep", "unknown never releases");
  });

  it("a KubeVirt record (named after the VMI) with no endpoint yet is kept while the VM is wanted", () => {
    const f = facts(undefined, { endpoint: undefined, kind: "kubevirt", staticValid: true });
    assert.equal(scanRecord(rec, f, cfg).action, "keep");
    assert.equal(scanRecord(rec, { ...f, staticValid: undefined }, cfg).action, "keep");
  });

  it("a missing StatefulSet pod still wanted keeps its record; scaled away, it goes", () => {
    const f = facts(undefined, { kind: "statefulset", staticValid: true });
    assert.equal(scanRecord(rec, f, cfg).action, "keep");
    assert.deepEqual(scanRecord(rec, { ...f, staticValid: false }, cfg), {
      action: "release",
      reason: "PodMissing",
      deleteEndpoint: true,
    });
  });

  it("a StatefulSet pod re-created on another CNI (with podIPs): the old records and the old endpoint go", () => {
    const f = facts(pod({ uid: "u2" }), {
      kind: "statefulset",
      staticValid: true,
      endpoint: { uid: "u1", kind: "statefulset" },
    });
    assert.deepEqual(scanRecord(rec, f, cfg), { action: "release", reason: "UIDMismatch", deleteEndpoint: true });
    // An endpoint the new pod already took over stays.
    const taken = { ...f, endpoint: { uid: "u2", kind: "statefulset" as const } };
    assert.deepEqual(scanRecord(rec, taken, cfg), { action: "release", reason: "UIDMismatch", deleteEndpoint: false });
  });

  it("a node without a Ready condition is not ready; an unknown node is unknown", () => {
    assert.equal(nodeReadiness({ status: {} }), false);
    assert.equal(nodeReadiness({}), false);
    assert.equal(nodeReadiness({ status: { conditions: [{ type: "Ready", status: "Unknown" }] } }), false);
    assert.equal(nodeReadiness({ status: { conditions: [{ type: "Ready", status: "True" }] } }), true);
    assert.equal(nodeReadiness(undefined), undefined);
  });

  it("a pending pod is never reclaimed (its ADD may be running)", () => {
    assert.equal(scanRecord(rec, facts(pod({ phase: "Pending", ips: false })), cfg).action, "keep");
  });

  it("AC-77: a terminating stateless pod past its grace on a Ready node, with the Ready flag off, is kept", () => {
    const p = pod({ deleting: "2026-11-22T09:59:00Z", grace: 30 });
    assert.equal(
      scanRecord(rec, facts(pod({ deleting: "2026-11-22T09:59:45Z", grace: 30 })), cfg).action,
      "keep",
      "within the second grace period the pod may still be running",
    );
    assert.equal(scanRecord(rec, facts(p), cfg).action, "release");
    assert.equal(scanRecord(rec, facts(p), { ...cfg, terminatingOnReadyNode: false }).action, "keep");
    assert.equal(
      scanRecord(rec, facts(p, { nodeReady: false }), { ...cfg, terminatingOnNotReadyNode: false }).action,
      "keep",
    );
    assert.equal(scanRecord(rec, facts(p, { nodeReady: undefined }), cfg).action, "keep", "unknown node: kept");
  });

  it("a terminating pod within its grace keeps its address while it has podIPs", () => {
    const p = pod({ deleting: "2026-11-22T10:00:30Z" });
    assert.equal(scanRecord(rec, facts(p), cfg).action, "keep");
    assert.equal(scanRecord(rec, facts(pod({ deleting: "2026-11-22T10:00:30Z", ips: false })), cfg).action, "release");
  });

  it("AC-78: a Running stateless pod with empty podIPs is kept unless the switch is on", () => {
    const p = pod({ ips: false });
    assert.equal(scanRecord(rec, facts(p), cfg).action, "keep");
    assert.equal(scanRecord(rec, facts(p), { ...cfg, runningPodOnEmptyPodIPs: true }).action, "release");
  });

  it("a finished stateless pod is left to the pod informer's trace", () => {
    assert.equal(scanRecord(rec, facts(pod({ phase: "Succeeded" })), cfg).action, "keep");
  });
});

describe("GC trace entries (ipam-behavior §4.1)", () => {
  it("a delete event releases after the additional delay, without a node check", () => {
    const e = traceEntryFor(
      "delete",
      pod(),
      undefined,
      "stateless",
      undefined,
      { ...cfg, additionalGraceDelaySeconds: 2 },
      NOW,
    );
    assert.deepEqual(e, { key: "default/web", uid: "u1", reason: "Deleted", stopAt: NOW + 2000, nodeGated: false });
  });

  it("a pod newly terminating is traced until its deletionTimestamp plus its grace, gated by the node flags", () => {
    const p = pod({ deleting: "2026-11-22T10:00:30Z", grace: 30 });
    const e = traceEntryFor("update", p, pod(), "stateless", undefined, cfg, NOW);
    assert.equal(e?.reason, "Terminating");
    assert.equal(e?.stopAt, Date.parse("2026-11-22T10:01:00Z"), "the kubelet's slack: a second grace period");
    assert.equal(e?.nodeGated, true);
    assert.equal(traceEntryFor("update", p, p, "stateless", undefined, cfg, NOW), undefined, "not newly");
  });

  it("a finished pod is traced from its last container's finish plus its grace period", () => {
    const p: GcPod = {
      ...pod({ phase: "Failed" }),
      spec: { nodeName: "n1", terminationGracePeriodSeconds: 10 },
      status: {
        phase: "Failed",
        containerStatuses: [
          { state: { terminated: { finishedAt: "2026-11-22T09:59:00Z" } } },
          { state: { terminated: { finishedAt: "2026-11-22T09:59:05Z" } } },
        ],
      },
    };
    const e = traceEntryFor("update", p, pod(), "stateless", undefined, cfg, NOW);
    assert.equal(e?.stopAt, Date.parse("2026-11-22T09:59:15Z"));
  });

  it("valid static pods and host-network pods are never traced", () => {
    assert.equal(traceEntryFor("delete", pod(), undefined, "statefulset", true, cfg, NOW), undefined);
    assert.equal(traceEntryFor("delete", pod(), undefined, "statefulset", undefined, cfg, NOW), undefined);
    assert.equal(traceEntryFor("delete", pod(), undefined, "statefulset", false, cfg, NOW)?.reason, "Deleted");
    const host = { ...pod(), spec: { hostNetwork: true } };
    assert.equal(traceEntryFor("delete", host, undefined, "stateless", undefined, cfg, NOW), undefined);
  });

  it("node flags: undefined readiness never allows", () => {
    assert.equal(nodeAllows(undefined, cfg), false);
    assert.equal(nodeAllows(true, { ...cfg, terminatingOnReadyNode: false }), false);
    assert.equal(nodeAllows(false, cfg), true);
  });
});
