import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { templateHash } from "./pod-template.ts";
import { placePod } from "./scheduling.ts";
import {
  planDaemonSet,
  planDeployment,
  planJob,
  planReplicaSet,
  planStatefulSet,
  type Action,
} from "./workload-plan.ts";
import type { NodeObj, PodObj, WorkloadObj } from "./workload-types.ts";

const TEMPLATE = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c" }] } };
const owner = (kind: string, spec: WorkloadObj["spec"], status?: Record<string, unknown>): WorkloadObj => ({
  apiVersion: kind === "Job" ? "batch/v1" : "apps/v1",
  kind,
  metadata: { name: "w", namespace: "ns", uid: `uid-${kind}`, generation: 1 },
  spec: { template: TEMPLATE, ...spec },
  ...(status !== undefined ? { status } : {}),
});
const pod = (
  name: string,
  o: WorkloadObj,
  s: { phase?: string; node?: string; terminating?: boolean; created?: string; labels?: Record<string, string> } = {},
): PodObj => ({
  metadata: {
    name,
    namespace: "ns",
    uid: `p-${name}`,
    creationTimestamp: s.created ?? "2026-01-01T00:00:00Z",
    ...(s.labels !== undefined ? { labels: s.labels } : {}),
    ...(s.terminating === true ? { deletionTimestamp: "2026-01-01T00:01:00Z" } : {}),
    ownerReferences: [
      { apiVersion: "apps/v1", kind: o.kind ?? "", name: "w", uid: o.metadata.uid ?? "", controller: true },
    ],
  },
  spec: s.node === undefined ? {} : { nodeName: s.node },
  status: { phase: s.phase ?? "Running" },
});
const node = (name: string, ready = true, labels: Record<string, string> = {}): NodeObj => ({
  metadata: { name, labels },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const show = (actions: Action[]): string[] =>
  actions.map((a) =>
    a.op === "createPod"
      ? `create ${a.pod.metadata.name}${a.pod.spec?.nodeName !== undefined ? `@${a.pod.spec.nodeName}` : ""}`
      : a.op === "deletePod"
        ? `delete ${a.name}`
        : a.op === "createReplicaSet"
          ? `createRS replicas=${a.rs.spec?.replicas}`
          : `scale ${a.name}=${a.replicas}`,
  );
const zero = (): number => 0;

describe("placePod (scheduler)", () => {
  const nodes = [node("n1", true, { zone: "a" }), node("n2", true, { zone: "b" }), node("n3", false, { zone: "a" })];
  const cases: Array<{ name: string; spec: PodObj["spec"]; load?: Record<string, number>; want: string }> = [
    { name: "least loaded Ready node", spec: {}, load: { n1: 3, n2: 1 }, want: "node n2" },
    { name: "ties go by name", spec: {}, want: "node n1" },
    { name: "nodeSelector", spec: { nodeSelector: { zone: "b" } }, want: "node n2" },
    {
      name: "a NotReady node is never chosen",
      spec: { nodeSelector: { zone: "a" } },
      load: { n1: 9 },
      want: "node n1",
    },
    {
      name: "required node affinity",
      spec: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }],
            },
          },
        },
      },
      want: "node n2",
    },
    {
      name: "nothing fits: kube-scheduler's reason",
      spec: { nodeSelector: { zone: "c" } },
      want: "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 node(s) didn't match Pod's node affinity/selector.",
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const r = placePod({ metadata: {}, spec: c.spec ?? {} }, nodes, (n) => c.load?.[n] ?? 0);
      assert.equal("node" in r ? `node ${r.node}` : r.unschedulable, c.want);
    });
});

describe("planReplicaSet", () => {
  const rs = (n: number): WorkloadObj => owner("ReplicaSet", { replicas: n });
  const cases: Array<{
    name: string;
    replicas: number;
    pods: (o: WorkloadObj) => PodObj[];
    want: string[];
    ready: number;
  }> = [
    {
      name: "creates up to replicas",
      replicas: 2,
      pods: () => [],
      want: ["create w-bbbbb", "create w-bbbbb"],
      ready: 0,
    },
    {
      name: "terminating and finished pods do not count",
      replicas: 2,
      pods: (o) => [
        pod("a", o, { terminating: true }),
        pod("b", o, { phase: "Succeeded" }),
        pod("c", o, { node: "n" }),
      ],
      want: ["create w-bbbbb"],
      ready: 1,
    },
    {
      name: "scale down removes unscheduled, then pending, then the newest running",
      replicas: 1,
      pods: (o) => [
        pod("old", o, { node: "n", created: "2026-01-01T00:00:00Z" }),
        pod("new", o, { node: "n", created: "2026-01-02T00:00:00Z" }),
        pod("pending", o, { node: "n", phase: "Pending" }),
        pod("unbound", o, { phase: "Pending" }),
      ],
      want: ["delete unbound", "delete pending", "delete new"],
      ready: 2,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const o = rs(c.replicas);
      const p = planReplicaSet(o, [...c.pods(o), pod("stranger", owner("Job", {}))], zero);
      assert.deepEqual(show(p.actions), c.want);
      assert.equal(p.status["readyReplicas"], c.ready);
    });
});

describe("planDeployment", () => {
  const d = owner("Deployment", { replicas: 3, selector: { matchLabels: { app: "x" } } });
  const hash = templateHash(TEMPLATE);
  const rs = (name: string, hashLabel: string, replicas: number, ready: number): WorkloadObj => ({
    kind: "ReplicaSet",
    metadata: {
      name,
      labels: { "pod-template-hash": hashLabel },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "w", uid: "uid-Deployment", controller: true },
      ],
    },
    spec: { replicas },
    status: { replicas, readyReplicas: ready, availableReplicas: ready },
  });
  const cases: Array<{ name: string; sets: WorkloadObj[]; want: string[] }> = [
    { name: "the first ReplicaSet", sets: [], want: ["createRS replicas=3"] },
    { name: "scale follows replicas", sets: [rs(`w-${hash}`, hash, 5, 5)], want: [`scale w-${hash}=3`] },
    {
      name: "a new template: the old set shrinks as the new one's pods get ready",
      sets: [rs("w-old", "old", 3, 3), rs(`w-${hash}`, hash, 3, 1)],
      want: ["scale w-old=2"],
    },
    { name: "done when the new set is ready", sets: [rs("w-old", "old", 0, 0), rs(`w-${hash}`, hash, 3, 3)], want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(show(planDeployment(d, c.sets).actions), c.want));

  it("the new ReplicaSet's selector and pods carry the template hash", () => {
    const a = planDeployment(d, []).actions[0];
    assert.ok(a?.op === "createReplicaSet");
    assert.equal(a.rs.metadata.name, `w-${hash}`);
    assert.deepEqual(a.rs.spec?.["selector"], { matchLabels: { app: "x", "pod-template-hash": hash } });
    assert.equal(a.rs.spec?.template?.metadata?.labels?.["pod-template-hash"], hash);
  });
});

describe("planStatefulSet", () => {
  const rev = `w-${templateHash(TEMPLATE)}`;
  const L = { "controller-revision-hash": rev };
  const cases: Array<{ name: string; spec: WorkloadObj["spec"]; pods: (o: WorkloadObj) => PodObj[]; want: string[] }> =
    [
      { name: "creates the lowest ordinal first", spec: { replicas: 3 }, pods: () => [], want: ["create w-0"] },
      {
        name: "waits for the previous ordinal to run",
        spec: { replicas: 3 },
        pods: (o) => [pod("w-0", o, { phase: "Pending", labels: L })],
        want: [],
      },
      {
        name: "then the next",
        spec: { replicas: 3 },
        pods: (o) => [pod("w-0", o, { labels: L })],
        want: ["create w-1"],
      },
      { name: "ordinals.start", spec: { replicas: 2, ordinals: { start: 5 } }, pods: () => [], want: ["create w-5"] },
      {
        name: "scale down deletes the highest ordinal, one at a time",
        spec: { replicas: 1 },
        pods: (o) => [pod("w-0", o, { labels: L }), pod("w-1", o, { labels: L }), pod("w-2", o, { labels: L })],
        want: ["delete w-2"],
      },
      {
        name: "nothing while a pod terminates",
        spec: { replicas: 1 },
        pods: (o) => [pod("w-0", o, { labels: L }), pod("w-1", o, { labels: L }), pod("w-2", o, { terminating: true })],
        want: [],
      },
      {
        name: "Parallel creates and deletes at once",
        spec: { replicas: 2, podManagementPolicy: "Parallel" },
        pods: (o) => [pod("w-3", o, { labels: L }), pod("w-4", o, { labels: L })],
        want: ["delete w-4", "delete w-3", "create w-0", "create w-1"],
      },
      {
        name: "a new template replaces the highest ordinal first",
        spec: { replicas: 2 },
        pods: (o) => [
          pod("w-0", o, { labels: { "controller-revision-hash": "x" } }),
          pod("w-1", o, { labels: { "controller-revision-hash": "x" } }),
        ],
        want: ["delete w-1"],
      },
    ];
  for (const c of cases)
    it(c.name, () => {
      const o = owner("StatefulSet", c.spec);
      assert.deepEqual(show(planStatefulSet(o, c.pods(o)).actions), c.want);
    });
});

describe("planDaemonSet", () => {
  const nodes = [node("n1"), node("n2", false), node("n3", true, { role: "edge" })];
  const hash = templateHash(TEMPLATE);
  const L = { "controller-revision-hash": hash };
  const cases: Array<{ name: string; spec?: WorkloadObj["spec"]; pods: (o: WorkloadObj) => PodObj[]; want: string[] }> =
    [
      {
        name: "one pod per node, NotReady ones too",
        pods: () => [],
        want: ["create w-bbbbb@n1", "create w-bbbbb@n2", "create w-bbbbb@n3"],
      },
      {
        name: "the template's nodeSelector limits the nodes; pods elsewhere go",
        spec: { template: { ...TEMPLATE, spec: { nodeSelector: { role: "edge" } } } },
        pods: (o) => [pod("a", o, { node: "n1" })],
        want: ["delete a", "create w-bbbbb@n3"],
      },
      {
        name: "a second pod on a node goes",
        pods: (o) => [
          pod("a", o, { node: "n1", labels: L }),
          pod("b", o, { node: "n1", labels: L, created: "2026-02-01T00:00:00Z" }),
          pod("c", o, { node: "n2", labels: L }),
          pod("d", o, { node: "n3", labels: L }),
        ],
        want: ["delete b"],
      },
      {
        name: "an old template is replaced one node at a time",
        pods: (o) => [pod("a", o, { node: "n1" }), pod("c", o, { node: "n2" }), pod("d", o, { node: "n3", labels: L })],
        want: ["delete a"],
      },
    ];
  for (const c of cases)
    it(c.name, () => {
      const o = owner("DaemonSet", c.spec ?? {});
      assert.deepEqual(show(planDaemonSet(o, c.pods(o), nodes, zero).actions), c.want);
    });
});

describe("planJob", () => {
  const cases: Array<{ name: string; spec: WorkloadObj["spec"]; phases: string[]; want: string[]; complete: boolean }> =
    [
      { name: "one pod by default", spec: {}, phases: [], want: ["create w-bbbbb"], complete: false },
      {
        name: "parallelism bounds the running pods",
        spec: { completions: 5, parallelism: 2 },
        phases: ["Succeeded", "Running"],
        want: ["create w-bbbbb"],
        complete: false,
      },
      {
        name: "never more than the completions left",
        spec: { completions: 2, parallelism: 4 },
        phases: ["Succeeded"],
        want: ["create w-bbbbb"],
        complete: false,
      },
      {
        name: "Complete once completions succeeded",
        spec: { completions: 2 },
        phases: ["Succeeded", "Succeeded"],
        want: [],
        complete: true,
      },
    ];
  for (const c of cases)
    it(c.name, () => {
      const o = owner("Job", c.spec);
      const p = planJob(
        o,
        c.phases.map((ph, i) => pod(`p${i}`, o, { phase: ph, node: "n" })),
        "2026-01-01T00:00:00Z",
        zero,
      );
      assert.deepEqual(show(p.actions), c.want);
      const conds = (p.status["conditions"] ?? []) as Array<{ type: string }>;
      assert.equal(
        conds.some((x) => x.type === "Complete"),
        c.complete,
      );
    });
});
