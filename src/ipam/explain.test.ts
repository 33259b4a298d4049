// explain: the agent's selection replayed step by step. Every filter reason comes from the
// table the filter's own test uses (src/ipam/testdata/filter-cases.ts); every selection rule once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SpiderIPPool } from "../api/ippool.ts";
import { IPRangeSet } from "../ip/index.ts";
import { ctx as filterCtx, FILTER_CASES, top } from "./testdata/filter-cases.ts";
import { allFiltered, inStandardMode } from "./errors.ts";
import { explainPod, renderExplanation, type ExplainInput } from "./explain.ts";
import type { PoolForFilter } from "./filter.ts";

const asPool = (p: PoolForFilter, records: Record<string, { pod: string; podUid: string }> = {}): SpiderIPPool => ({
  apiVersion: "spiderpool.spidernet.io/v2beta1",
  kind: "SpiderIPPool",
  metadata: p.metadata,
  spec: { ips: ["192.0.2.10-192.0.2.12"], ...p.spec },
  status: { allocatedIPs: JSON.stringify(records) },
});

const base = (o: Partial<ExplainInput> = {}): ExplainInput => ({
  pod: {
    metadata: { namespace: "app", name: "web-1", uid: "pod-uid", labels: { app: "web" }, annotations: {} },
    spec: { nodeName: "node1" },
  },
  top,
  namespace: { labels: { team: "x" }, annotations: {} },
  nodeLabels: { zone: "a" },
  pools: [],
  reserved: { 4: IPRangeSet.empty(4), 6: IPRangeSet.empty(6) },
  ifName: "eth0",
  netconf: { defaultIPv4IPPool: [], defaultIPv6IPPool: [], cleanGateway: false },
  config: {
    enableIPv4: true,
    enableIPv6: true,
    enableSpiderSubnet: true,
    enableAutoPoolForApplication: true,
    agentNamespace: "kube-system",
    clusterNetwork: "kube-system/macvlan",
    maxRecords: 5000,
  },
  ...o,
});

describe("explain: every filter reason in the agent's words (the filter's own table)", () => {
  for (const [name, p, c, want] of FILTER_CASES) {
    it(name, () => {
      const fc = filterCtx(c);
      const poolName = p.metadata.name ?? "";
      const e = explainPod(
        base({
          pod: {
            metadata: {
              namespace: fc.pod.namespace,
              name: fc.pod.name,
              uid: "pod-uid",
              labels: fc.pod.labels,
              annotations: { ...fc.pod.annotations, "ipam.spidernet.io/ippool": JSON.stringify({ ipv4: [poolName] }) },
            },
            spec: { nodeName: fc.pod.nodeName },
          },
          nodeLabels: fc.nodeLabels,
          namespace: { labels: fc.namespaceLabels, annotations: {} },
          ifName: fc.nic,
          pools: [asPool(p)],
          config: { ...base().config, clusterNetwork: fc.clusterNetwork },
        }),
      );
      assert.equal(e.rule, "ippool");
      const fam = e.nics[0]?.families[0];
      const row = fam?.pools[0];
      assert.equal(row?.pool, poolName);
      if (want === undefined) {
        assert.equal(e.ok, true, renderExplanation(e));
        assert.deepEqual([row?.kept, row?.tried, row?.address, row?.held], [true, 1, "192.0.2.10", false]);
      } else {
        assert.equal(row?.kept, false);
        assert.equal(row?.reason, want);
        assert.equal(e.ok, false);
        assert.equal(e.error, inStandardMode(allFiltered(4, [poolName], fc.nic, [want])).message);
        assert.match(e.fix ?? "", new RegExp(poolName));
      }
    });
  }
});

describe("explain: every selection rule", () => {
  const pools = [
    asPool({ metadata: { name: "a" }, spec: { subnet: "192.0.2.0/24" } }),
    asPool({ metadata: { name: "b" }, spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.20"] } }),
    asPool({ metadata: { name: "def" }, spec: { subnet: "192.0.2.0/24", default: true, ips: ["192.0.2.30"] } }),
  ];
  const podWith = (annotations: Record<string, string>): ExplainInput["pod"] => ({
    metadata: { namespace: "app", name: "web-1", uid: "pod-uid", labels: {}, annotations },
    spec: { nodeName: "node1" },
  });
  const cases: Array<[string, Partial<ExplainInput>, string, string]> = [
    [
      "AC-06: pod ippools",
      { pod: podWith({ "ipam.spidernet.io/ippools": JSON.stringify([{ interface: "eth0", ipv4: ["b"] }]) }) },
      "ippools",
      "192.0.2.20",
    ],
    ["AC-07: pod ippool", { pod: podWith({ "ipam.spidernet.io/ippool": '{"ipv4":["b"]}' }) }, "ippool", "192.0.2.20"],
    [
      "AC-08: namespace default",
      { namespace: { labels: {}, annotations: { "ipam.spidernet.io/default-ipv4-ippool": '["b"]' } } },
      "namespace",
      "192.0.2.20",
    ],
    [
      "AC-09: netconf default",
      { netconf: { defaultIPv4IPPool: ["a"], defaultIPv6IPPool: [], cleanGateway: false } },
      "netconf",
      "192.0.2.10",
    ],
    ["AC-09: cluster default", {}, "cluster", "192.0.2.30"],
  ];
  for (const [name, o, rule, address] of cases) {
    it(name, () => {
      const e = explainPod(base({ pools, ...o }));
      assert.equal(e.ok, true, renderExplanation(e));
      assert.equal(e.rule, rule);
      assert.equal(e.nics[0]?.families[0]?.address, address);
    });
  }

  it("subnet auto-pool: the application's pool once the controller made it; missing, the agent's error", () => {
    const anno = { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}' };
    const auto = asPool({
      metadata: {
        name: "auto4-web-eth0-x",
        labels: {
          "ipam.spidernet.io/owner-spider-subnet": "s4",
          "ipam.spidernet.io/owner-application-gv": "apps_v1",
          "ipam.spidernet.io/owner-application-kind": "Deployment",
          "ipam.spidernet.io/owner-application-namespace": "app",
          "ipam.spidernet.io/owner-application-name": "web",
          "ipam.spidernet.io/owner-application-uid": "d-uid",
          "ipam.spidernet.io/interface": "eth0",
          "ipam.spidernet.io/ip-version": "IPv4",
        },
      },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.40"] },
    });
    const ok = explainPod(base({ pod: podWith(anno), pools: [...pools, auto] }));
    assert.equal(ok.rule, "subnets", renderExplanation(ok));
    assert.equal(ok.nics[0]?.families[0]?.address, "192.0.2.40");
    const missing = explainPod(base({ pod: podWith(anno), pools }));
    assert.equal(missing.ok, false);
    assert.match(missing.error ?? "", /no matching auto-created IPPool candidate/);
    assert.match(missing.fix ?? "", /controller creates/);
  });

  it("no rule at all: upstream's error and where to set a pool", () => {
    const e = explainPod(base({ pools: [pools[0] as SpiderIPPool] }));
    assert.equal(e.ok, false);
    assert.equal(
      e.error,
      "failed to allocate IP addresses in standard mode: no IPPool available, no pool selection rules of any type are specified",
    );
    assert.match(e.fix ?? "", /spec.default: true/);
  });

  it("a pool that does not exist: the agent's error, the fix names where it came from", () => {
    const e = explainPod(base({ pools, pod: podWith({ "ipam.spidernet.io/ippool": '{"ipv4":["nope"]}' }) }));
    assert.equal(e.ok, false);
    assert.equal(e.nics[0]?.families[0]?.pools[0]?.check, "missing");
    assert.match(
      e.fix ?? "",
      /create SpiderIPPool nope, or remove it from the pod's ipam.spidernet.io\/ippool annotation/,
    );
  });
});

describe("explain: addresses", () => {
  it("AC-28: the address the pod holds; AC-22: a full pool falls back to the next; all full fails with each reason", () => {
    const full = asPool(
      { metadata: { name: "full" }, spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.50"] } },
      {
        "192.0.2.50": { pod: "app/other", podUid: "other" },
      },
    );
    const mine = asPool(
      { metadata: { name: "mine" }, spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.60-192.0.2.61"] } },
      {
        "192.0.2.61": { pod: "app/web-1", podUid: "pod-uid" },
      },
    );
    const pod = (pools: string[]): ExplainInput["pod"] => ({
      metadata: {
        namespace: "app",
        name: "web-1",
        uid: "pod-uid",
        annotations: { "ipam.spidernet.io/ippool": JSON.stringify({ ipv4: pools }) },
      },
      spec: { nodeName: "node1" },
    });
    const e = explainPod(base({ pools: [full, mine], pod: pod(["full", "mine"]) }));
    assert.equal(e.ok, true, renderExplanation(e));
    const fam = e.nics[0]?.families[0];
    assert.deepEqual([fam?.pool, fam?.address, fam?.held], ["mine", "192.0.2.61", true]);
    assert.deepEqual(fam?.pools[0], {
      pool: "full",
      kept: true,
      tried: 1,
      check: "allocation",
      reason: "all IP addresses used out",
    });
    const bad = explainPod(base({ pools: [full], pod: pod(["full"]) }));
    assert.equal(bad.ok, false);
    assert.equal(
      bad.error,
      "failed to allocate IP addresses in standard mode: failed to allocate any IPv4 IP address to NIC eth0 from IPPools [full]: all IP addresses used out",
    );
    assert.match(bad.fix ?? "", /add addresses to spec.ips of IPPool full/);
  });

  it("a dead pod is told so", () => {
    const e = explainPod(
      base({
        pod: {
          metadata: { namespace: "app", name: "web-1", uid: "u" },
          spec: { nodeName: "node1", restartPolicy: "Never" },
          status: { phase: "Failed" },
        },
      }),
    );
    assert.equal(e.ok, false);
    assert.match(e.error ?? "", /dead Pod app\/web-1/);
  });
});
