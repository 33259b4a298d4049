// The filter table (spec §1.7, upstream's words): one case per filter reason, shared by the
// filter's unit test (src/ipam/ipam.test.ts) and explain's (src/ipam/explain.test.ts), so
// an explanation is checked against exactly the reasons the agent gives.
import type { IPPoolSpec } from "../../api/ippool.ts";
import type { FilterContext, PoolForFilter } from "../filter.ts";
import type { TopController } from "../pod.ts";

export const top: TopController = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: "app",
  name: "web",
  uid: "d-uid",
};
export const ctx = (o: Partial<FilterContext> = {}): FilterContext => ({
  family: 4,
  nic: "eth0",
  firstNic: true,
  pod: { namespace: "app", name: "web-1", labels: { app: "web" }, annotations: {}, nodeName: "node1" },
  nodeLabels: { zone: "a" },
  namespaceLabels: { team: "x" },
  top,
  agentNamespace: "kube-system",
  clusterNetwork: "kube-system/macvlan",
  ...o,
});
export const pool = (
  name: string,
  spec: Partial<IPPoolSpec>,
  meta: Partial<PoolForFilter["metadata"]> = {},
): PoolForFilter => ({
  metadata: { name, ...meta },
  spec: { subnet: "192.0.2.0/24", ...spec },
});

export const FILTER_CASES: Array<[string, PoolForFilter, Partial<FilterContext>, string | undefined]> = [
  ["accepts a plain pool", pool("p", {}), {}, undefined],
  [
    "terminating",
    pool("p", { disable: true }, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
    {},
    "terminating IPPool p",
  ],
  ["disabled", pool("p", { disable: true }), {}, "disabled IPPool p"],
  ["family", pool("p", { ipVersion: 6 }), {}, "expect an IPv4 IPPool, but the version of the IPPool p is IPv6"],
  [
    "AC-37: nodeName wins over nodeAffinity",
    pool("p", { nodeName: ["node2"], nodeAffinity: { matchLabels: { zone: "a" } } }),
    {},
    "unmatched Node name of IPPool p",
  ],
  [
    "node affinity",
    pool("p", { nodeAffinity: { matchLabels: { zone: "b" } } }),
    {},
    "unmatched Node affinity of IPPool p",
  ],
  [
    "AC-36: namespaceName wins over namespaceAffinity",
    pool("p", { namespaceName: ["other"], namespaceAffinity: { matchLabels: { team: "x" } } }),
    {},
    "unmatched Namespace name of IPPool p",
  ],
  [
    "AC-31: namespace affinity",
    pool("p", { namespaceAffinity: { matchLabels: { team: "y" } } }),
    {},
    "unmatched Namespace affinity of IPPool p",
  ],
  [
    "AC-32: pod affinity",
    pool("p", { podAffinity: { matchLabels: { app: "db" } } }),
    {},
    "unmatched Pod affinity of IPPool p",
  ],
  [
    "AC-29: all affinities matching",
    pool("p", {
      nodeAffinity: { matchLabels: { zone: "a" } },
      namespaceAffinity: { matchLabels: { team: "x" } },
      podAffinity: { matchLabels: { app: "web" } },
    }),
    {},
    undefined,
  ],
  [
    "AC-97: an auto-created pool of another application",
    pool(
      "auto4-other",
      {
        podAffinity: {
          matchLabels: {
            "ipam.spidernet.io/app-api-group": "apps",
            "ipam.spidernet.io/app-api-version": "v1",
            "ipam.spidernet.io/app-kind": "Deployment",
            "ipam.spidernet.io/app-namespace": "app",
            "ipam.spidernet.io/app-name": "other",
          },
        },
      },
      { labels: { "ipam.spidernet.io/owner-application-name": "other" } },
    ),
    {},
    "unmatched Pod annifity of auto-created IPool auto4-other",
  ],
  [
    "an auto-created pool of this application",
    pool(
      "auto4-web",
      {
        podAffinity: {
          matchLabels: {
            "ipam.spidernet.io/app-api-group": "apps",
            "ipam.spidernet.io/app-api-version": "v1",
            "ipam.spidernet.io/app-kind": "Deployment",
            "ipam.spidernet.io/app-namespace": "app",
            "ipam.spidernet.io/app-name": "web",
          },
        },
      },
      { labels: { "ipam.spidernet.io/owner-application-name": "web" } },
    ),
    {},
    undefined,
  ],
  ["AC-39: a bare multusName lives in the agent's namespace", pool("p", { multusName: ["macvlan"] }), {}, undefined],
  [
    "AC-38: multusName against the pod's default network",
    pool("p", { multusName: ["ns/nad"] }),
    { pod: { namespace: "app", name: "web-1", labels: {}, annotations: {}, nodeName: "node1" } },
    "the spec.multusName [ns/nad] in the IPPool p used by the Pod interface eth0 is not matched with the multusCR kube-system/macvlan specified by the Pod",
  ],
  [
    "no cluster network",
    pool("p", { multusName: ["ns/nad"] }),
    { clusterNetwork: "" },
    "cluster-network multus isn't set, the IPPool p specified multusName [ns/nad] unmatched",
  ],
  [
    "a second NIC's network from k8s.v1.cni.cncf.io/networks",
    pool("p", { multusName: ["app/vlan200"] }),
    {
      nic: "net1",
      firstNic: false,
      pod: {
        namespace: "app",
        name: "web-1",
        labels: {},
        annotations: { "k8s.v1.cni.cncf.io/networks": "vlan200" },
        nodeName: "node1",
      },
    },
    undefined,
  ],
];
