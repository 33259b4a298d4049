// Pool changes that would strand workloads get warnings; harmless ones get none.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { SpiderSubnet } from "../../api/subnet.ts";
import {
  poolChangeWarnings,
  subnetChangeWarnings,
  type StatefulSetLike,
  type StrandingInput,
  type StrandingPod,
} from "./stranding.ts";

const pool = (spec: Partial<SpiderIPPool["spec"]>, records: Record<string, [string, string]> = {}): SpiderIPPool => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: { name: "p" },
  spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.19"], ...spec },
  status: {
    allocatedIPs: JSON.stringify(
      Object.fromEntries(Object.entries(records).map(([ip, [pod, podUid]]) => [ip, { pod, podUid }])),
    ),
  },
});

const pod = (
  ns: string,
  name: string,
  uid: string,
  node: string,
  extra: Partial<StrandingPod["metadata"]> = {},
): StrandingPod => ({
  metadata: { namespace: ns, name, uid, ...extra },
  spec: { nodeName: node },
  status: { phase: "Running" },
});

const sts = (name: string, replicas: number, poolName = "p"): StatefulSetLike => ({
  metadata: { namespace: "db", name },
  spec: {
    replicas,
    template: { metadata: { annotations: { "ipam.spidernet.io/ippool": JSON.stringify({ ipv4: [poolName] }) } } },
  },
});

const held = { "192.0.2.10": ["app/web-1", "u1"], "192.0.2.11": ["other/job-1", "u2"] } as Record<
  string,
  [string, string]
>;
const pods = [
  pod("app", "web-1", "u1", "node-a", {
    labels: { app: "web" },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d", uid: "rs", controller: true }],
  }),
  pod("other", "job-1", "u2", "node-b", { labels: { app: "batch" } }),
];

const input = (old: SpiderIPPool, next: SpiderIPPool, o: Partial<StrandingInput> = {}): StrandingInput => ({
  old,
  next,
  pods,
  nodeLabels: (n) => ({ "node-a": { zone: "a" }, "node-b": { zone: "b" } })[n] ?? {},
  namespaceLabels: (ns) => ({ app: { team: "web" }, other: { team: "batch" } })[ns] ?? {},
  statefulSets: [sts("pg", 8), sts("unrelated", 50, "q")],
  ...o,
});

describe("pool changes that would strand workloads warn; harmless changes do not", () => {
  const cases: Array<[string, StrandingInput, RegExp[]]> = [
    [
      "a harmless change: more addresses, a route",
      input(
        pool({}, held),
        pool({ ips: ["192.0.2.10-192.0.2.29"], routes: [{ dst: "203.0.113.0/24", gw: "192.0.2.1" }] }, held),
      ),
      [],
    ],
    [
      "ips shrunk below a StatefulSet's replicas",
      input(pool({}, held), pool({ ips: ["192.0.2.10-192.0.2.15"] }, held)),
      [/leaves 6 addresses, but StatefulSet db\/pg \(8 replicas\) need 8/],
    ],
    [
      "excludeIPs shrink it below a StatefulSet's replicas",
      input(pool({}, held), pool({ excludeIPs: ["192.0.2.17-192.0.2.19"] }, held)),
      [/leaves 7 addresses, but StatefulSet db\/pg/],
    ],
    [
      "shrunk, still room for the StatefulSet",
      input(pool({}, held), pool({ ips: ["192.0.2.10-192.0.2.18"] }, held)),
      [],
    ],
    [
      "an auto-created pool shrunk below its application's size",
      input(pool({}, held), pool({ ips: ["192.0.2.10-192.0.2.18"] }, held), {
        statefulSets: [],
        autoPool: { app: "Deployment app/web", desired: 10 },
      }),
      [/leaves 9 addresses, but its application Deployment app\/web wants 10/],
    ],
    [
      "node affinity tightened away from a running pod's node",
      input(pool({}, held), pool({ nodeAffinity: { matchLabels: { zone: "b" } } }, held), { statefulSets: [] }),
      [
        /1 running pod\(s\) .* \("unmatched Node affinity of IPPool p"\); their next sandbox fails: app\/web-1 \(ReplicaSet app\/web-5d\)$/,
      ],
    ],
    [
      "nodeName set to other nodes",
      input(pool({}, held), pool({ nodeName: ["node-c"] }, held), { statefulSets: [] }),
      [/2 running pod\(s\) .*unmatched Node name of IPPool p.*app\/web-1 .*other\/job-1$/],
    ],
    [
      "namespace affinity tightened",
      input(pool({}, held), pool({ namespaceAffinity: { matchLabels: { team: "web" } } }, held), { statefulSets: [] }),
      [/other\/job-1$/],
    ],
    [
      "pod affinity tightened",
      input(pool({}, held), pool({ podAffinity: { matchLabels: { app: "web" } } }, held), { statefulSets: [] }),
      [/"unmatched Pod affinity of IPPool p".*other\/job-1$/],
    ],
    [
      "affinity changed but every holder still matches",
      input(
        pool({}, held),
        pool({ nodeAffinity: { matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] } }, held),
        {
          statefulSets: [],
        },
      ),
      [],
    ],
    [
      "a holder that did not match before is not news",
      input(
        pool({ nodeName: ["node-a"] }, held),
        pool({ nodeName: ["node-a"], namespaceName: ["app", "other"] }, held),
        {
          statefulSets: [],
        },
      ),
      [],
    ],
    [
      "a pod that will not run again strands nothing",
      input(pool({}, held), pool({ nodeName: ["node-b"] }, held), {
        statefulSets: [],
        pods: [
          {
            ...(pods[0] as StrandingPod),
            status: { phase: "Failed" },
            spec: { nodeName: "node-a", restartPolicy: "Never" },
          },
          pods[1] as StrandingPod,
        ],
      }),
      [],
    ],
    ["a status-only update", input(pool({}, held), pool({}, { ...held, "192.0.2.12": ["app/web-2", "u3"] })), []],
  ];
  for (const [name, i, want] of cases) {
    it(name, () => {
      const got = poolChangeWarnings(i);
      assert.equal(got.length, want.length, got.join("\n"));
      want.forEach((re, k) => assert.match(got[k] ?? "", re));
    });
  }

  it("many pods: the first ten by name, then a count", () => {
    const many = Array.from({ length: 13 }, (_, k) => pod("app", `w-${String(k).padStart(2, "0")}`, `m${k}`, "node-a"));
    const recs = Object.fromEntries(
      many.map((p, k) => [`192.0.2.${10 + k}`, [`app/${p.metadata.name}`, p.metadata.uid] as [string, string]]),
    );
    const got = poolChangeWarnings(
      input(
        pool({ ips: ["192.0.2.10-192.0.2.30"] }, recs),
        pool({ ips: ["192.0.2.10-192.0.2.30"], nodeName: ["node-b"] }, recs),
        {
          pods: many,
          statefulSets: [],
        },
      ),
    );
    assert.match(got[0] ?? "", /13 running pod\(s\).*app\/w-09 and 3 more$/);
  });
});

describe("subnet changes that leave its auto-created pools no room to grow warn", () => {
  const subnet = (ips: string[]): SpiderSubnet => ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderSubnet",
    metadata: { name: "s" },
    spec: { subnet: "192.0.2.0/24", ips },
  });
  const auto = pool({ ips: ["192.0.2.10-192.0.2.12"] });
  const want = { app: "Deployment app/web", desired: 8 };
  it("free space below what the auto-pools need: a warning naming pool and application", () => {
    const got = subnetChangeWarnings({
      old: subnet(["192.0.2.10-192.0.2.40"]),
      next: subnet(["192.0.2.10-192.0.2.14"]),
      pools: [{ pool: auto, want }],
    });
    assert.deepEqual(got, [
      "SpiderSubnet s: leaves 2 free addresses, but its auto-created pools need 5 more to reach their applications' sizes: p of Deployment app/web (3 of 8)",
    ]);
  });
  it("still room, more room, or no auto-pool short of its size: none", () => {
    const old = subnet(["192.0.2.10-192.0.2.40"]);
    assert.deepEqual(
      subnetChangeWarnings({ old, next: subnet(["192.0.2.10-192.0.2.20"]), pools: [{ pool: auto, want }] }),
      [],
    );
    assert.deepEqual(
      subnetChangeWarnings({ old, next: subnet(["192.0.2.10-192.0.2.90"]), pools: [{ pool: auto, want }] }),
      [],
    );
    assert.deepEqual(
      subnetChangeWarnings({ old, next: subnet(["192.0.2.10-192.0.2.12"]), pools: [{ pool: auto }] }),
      [],
    );
  });
});
