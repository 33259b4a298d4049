// The pure allocation core: candidate rules, filters, sort, picking, release, results.
// Test names carry the acceptance-case IDs of shared/spec/ipam-behavior.md §10.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IPRangeSet, parseCIDR, parseIP } from "../ip/index.ts";
import { selectCandidates, type CandidateInput } from "./candidates.ts";
import { IpamError } from "./errors.ts";
import { filterReason, sortPools, type FilterContext, type PoolForFilter } from "./filter.ts";
import {
  isPodAlive,
  isValidStatefulSetPod,
  isValidVMPod,
  resolveTopController,
  workloadKind,
  workloadKindOfEndpoint,
} from "./pod.ts";
import { allocationFailed, usedOut } from "./errors.ts";
import { pickInDraft, releaseInDraft } from "./pick.ts";
import { parseAllocatedIPs, poolAddresses, type PoolAddresses, type PoolRecord } from "./pool-state.ts";
import { Draft, RecordSet } from "./record-set.ts";
import { assemble } from "./result.ts";
import { ctx, FILTER_CASES, pool } from "./testdata/filter-cases.ts";

const base: CandidateInput = {
  ifName: "eth0",
  podAnnotations: {},
  namespaceAnnotations: {},
  netconf: { defaultIPv4IPPool: [], defaultIPv6IPPool: [], cleanGateway: false },
  clusterDefaults: { v4: ["default-v4"], v6: ["default-v6"] },
  poolNames: { v4: ["a", "b", "default-v4", "ns-v4-1", "ns-v4-2", "x-1", "x-2"], v6: ["default-v6", "v6-a"] },
  enableIPv4: true,
  enableIPv6: true,
  enableSpiderSubnet: true,
  enableAutoPoolForApplication: true,
};
const input = (o: Partial<CandidateInput>): CandidateInput => ({ ...base, ...o });

describe("candidate pools by priority", () => {
  it("AC-06: ippools beats ippool; wildcards expand", () => {
    const c = selectCandidates(
      input({
        podAnnotations: {
          "ipam.spidernet.io/ippool": '{"ipv4":["default-v4"]}',
          "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["x-*"]}]',
        },
      }),
    );
    assert.equal(c.kind, "pools");
    if (c.kind === "pools") {
      assert.equal(c.rule, "ippools");
      assert.deepEqual(c.nics[0]?.v4, ["x-1", "x-2"]);
    }
  });
  it("AC-07: pod ippool beats namespace defaults", () => {
    const c = selectCandidates(
      input({
        podAnnotations: { "ipam.spidernet.io/ippool": '{"ipv4":["a"]}' },
        namespaceAnnotations: { "ipam.spidernet.io/default-ipv4-ippool": '["ns-v4-1"]' },
      }),
    );
    assert.equal(c.kind === "pools" && c.rule, "ippool");
    assert.deepEqual(c.kind === "pools" && c.nics[0]?.v4, ["a"]);
  });
  it("AC-08: namespace defaults (with wildcards) beat cluster defaults", () => {
    const c = selectCandidates(
      input({ namespaceAnnotations: { "ipam.spidernet.io/default-ipv4-ippool": '["ns-v4-*"]' } }),
    );
    assert.equal(c.kind === "pools" && c.rule, "namespace");
    assert.deepEqual(c.kind === "pools" && c.nics[0]?.v4, ["ns-v4-1", "ns-v4-2"]);
  });
  it("AC-09: netconf defaults, then cluster defaults; none → the spec's error", () => {
    const nc = selectCandidates(
      input({ netconf: { defaultIPv4IPPool: ["b"], defaultIPv6IPPool: [], cleanGateway: true } }),
    );
    assert.equal(nc.kind === "pools" && nc.rule, "netconf");
    assert.equal(nc.kind === "pools" && nc.nics[0]?.cleanGateway, true);
    const cl = selectCandidates(input({}));
    assert.deepEqual(cl.kind === "pools" && [cl.rule, cl.nics[0]?.v4, cl.nics[0]?.v6], [
      "cluster",
      ["default-v4"],
      ["default-v6"],
    ]);
    assert.throws(() => selectCandidates(input({ clusterDefaults: { v4: [], v6: [] } })), {
      message: "no IPPool available, no pool selection rules of any type are specified",
    });
  });
  it("AC-12, AC-14, AC-16: ippools errors surface with upstream's texts", () => {
    assert.throws(
      () =>
        selectCandidates(
          input({
            podAnnotations: { "ipam.spidernet.io/ippools": '[{"interface":"eth0","cleanGateway": IPamErrRouteBool}]' },
          }),
        ),
      /invalid format of Pod annotation 'ipam.spidernet.io\/ippools'/,
    );
    assert.throws(
      () =>
        selectCandidates(
          input({ podAnnotations: { "ipam.spidernet.io/ippools": '[{"interface":"net1","ipv4":["a"]}]' } }),
        ),
      /interface eth0 must be specified/,
    );
    assert.throws(
      () =>
        selectCandidates(
          input({
            podAnnotations: { "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["a"]},{"ipv4":["b"]}]' },
          }),
        ),
      /NIC should be either all specified or all unspecified/,
    );
  });
  it("AC-13: an ippool object with only unknown keys gives no pools", () => {
    const c = selectCandidates(input({ podAnnotations: { "ipam.spidernet.io/ippool": '{"v4":["a"]}' } }));
    assert.deepEqual(c.kind === "pools" && [c.nics[0]?.v4, c.nics[0]?.v6], [[], []]);
  });
  it("AC-17/AC-18: named and unnamed multi-NIC ippools allocate every NIC", () => {
    const named = selectCandidates(
      input({
        podAnnotations: {
          "ipam.spidernet.io/ippools":
            '[{"interface":"eth0","ipv4":["default-v4"]},{"interface":"net1","ipv4":["b"],"cleangateway":true}]',
        },
      }),
    );
    assert.deepEqual(named.kind === "pools" && named.nics.map((n) => [n.nic, n.v4, n.cleanGateway]), [
      ["eth0", ["default-v4"], false],
      ["net1", ["b"], true],
    ]);
    const unnamed = selectCandidates(
      input({ podAnnotations: { "ipam.spidernet.io/ippools": '[{"ipv4":["default-v4"]},{"ipv4":["b"]}]' } }),
    );
    assert.deepEqual(unnamed.kind === "pools" && [unnamed.namedNics, unnamed.nics.map((n) => n.nic)], [
      false,
      ["0", "1"],
    ]);
  });
  it("AC-27: a disabled family is dropped silently", () => {
    const c = selectCandidates(
      input({ enableIPv6: false, podAnnotations: { "ipam.spidernet.io/ippool": '{"ipv4":["a"],"ipv6":["v6-a"]}' } }),
    );
    assert.deepEqual(c.kind === "pools" && [c.nics[0]?.v4, c.nics[0]?.v6], [["a"], []]);
  });
  it("duplicates per NIC are refused", () => {
    assert.throws(
      () => selectCandidates(input({ podAnnotations: { "ipam.spidernet.io/ippool": '{"ipv4":["a","a"]}' } })),
      { message: "wrong input, duplicate IPPool a specified for NIC eth0" },
    );
    assert.throws(
      () => selectCandidates(input({ podAnnotations: { "ipam.spidernet.io/ippool": '{"ipv4":["x-1","x-*"]}' } })),
      /duplicate IPPool x-1/,
    );
  });
  it("subnet annotations win when the feature is on; refused when auto pools are off; ignored when the feature is off", () => {
    const s = selectCandidates(
      input({
        podAnnotations: { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}', "ipam.spidernet.io/ippool": '{"ipv4":["a"]}' },
      }),
    );
    assert.deepEqual(s, { kind: "subnet", rule: "subnets", selections: [{ interface: "eth0", ipv4: "s4" }] });
    assert.throws(
      () =>
        selectCandidates(
          input({
            enableAutoPoolForApplication: false,
            podAnnotations: { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}' },
          }),
        ),
      /when Auto-Pool feature is disabled/,
    );
    const off = selectCandidates(
      input({ enableSpiderSubnet: false, podAnnotations: { "ipam.spidernet.io/subnet": '{"ipv4":["s4"]}' } }),
    );
    assert.equal(off.kind === "pools" && off.rule, "cluster");
  });
});

describe("filters, in the spec's order and words", () => {
  for (const [name, p, c, want] of FILTER_CASES) it(name, () => assert.equal(filterReason(p, ctx(c)), want));
});

describe("filter step 9, match_master_subnet: the pool's subnet holds an address of the NIC's master", () => {
  const cases: Array<[string, PoolForFilter, Partial<FilterContext>, string | undefined]> = [
    [
      "MMS-1: match_master_subnet keeps a pool whose subnet holds the master's address",
      pool("p", {}),
      { master: { name: "eth-m", addresses: ["198.51.100.2", "192.0.2.200", "2001:db8::2"] } },
      undefined,
    ],
    [
      "MMS-2: match_master_subnet drops a pool whose subnet the master is not in",
      pool("p", { subnet: "203.0.113.0/24" }),
      { master: { name: "eth-m", addresses: ["192.0.2.200", "2001:db8::2"] } },
      "filterPoolCandidatesByPfSubnet: the subnet 203.0.113.0/24 of IPPool p holds no address of the master interface eth-m [192.0.2.200 2001:db8::2]",
    ],
    [
      "MMS-3: an IPv6 pool matches by the master's IPv6 address",
      pool("p6", { subnet: "2001:db8:1::/64" }),
      { family: 6, master: { name: "eth-m", addresses: ["192.0.2.200", "2001:db8:1::5"] } },
      undefined,
    ],
    [
      "MMS-4: a master without addresses matches no pool",
      pool("p", {}),
      { master: { name: "eth-m", addresses: [] } },
      "filterPoolCandidatesByPfSubnet: the subnet 192.0.2.0/24 of IPPool p holds no address of the master interface eth-m []",
    ],
    [
      "MMS-5: an auto-created pool of this application still has to match the master's subnet",
      pool(
        "auto4-web",
        {
          subnet: "203.0.113.0/24",
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
      { master: { name: "eth-m", addresses: ["192.0.2.200"] } },
      "filterPoolCandidatesByPfSubnet: the subnet 203.0.113.0/24 of IPPool auto4-web holds no address of the master interface eth-m [192.0.2.200]",
    ],
    [
      "MMS-6: an earlier filter's reason wins over the master's subnet",
      pool("p", { subnet: "203.0.113.0/24", disable: true }),
      { master: { name: "eth-m", addresses: [] } },
      "disabled IPPool p",
    ],
  ];
  for (const [name, p, c, want] of cases) it(name, () => assert.equal(filterReason(p, ctx(c)), want));
});

describe("sort", () => {
  it("AC-24: more specific pools first; ties keep the given order", () => {
    const sorted = sortPools([
      pool("a", {}),
      pool("b", { podAffinity: { matchLabels: { app: "web" } } }),
      pool("c", { nodeName: ["n"] }),
      pool("d", {}),
      pool("e", { multusName: ["m"] }),
    ]);
    assert.deepEqual(
      sorted.map((p) => p.metadata.name),
      ["b", "c", "e", "a", "d"],
    );
  });
});

/** Records as a pool's status holds them, read the way the pool writer reads them. */
function recordSet(family: 4 | 6, records: Map<string, PoolRecord>): RecordSet {
  return RecordSet.parse(family, records.size === 0 ? undefined : JSON.stringify(Object.fromEntries(records)));
}

/** One pick as the pool writer makes it: a draft over the records, the pool less reserved addresses. */
function pickAddress(
  pool: string,
  addrs: PoolAddresses,
  records: Map<string, PoolRecord>,
  reserved: IPRangeSet,
  podUid: string,
  maxRecords: number,
): { ip: string; reused: boolean } {
  const available = reserved.family === addrs.family ? addrs.effective.subtract(reserved) : addrs.effective;
  return pickInDraft(pool, available, new Draft(recordSet(addrs.family, records)), podUid, maxRecords);
}

describe("picking an address", () => {
  const addrs = poolAddresses({
    subnet: "192.0.2.0/24",
    ips: ["192.0.2.10-192.0.2.20"],
    excludeIPs: ["192.0.2.10"],
    gateway: "192.0.2.1",
  });
  const reserved = IPRangeSet.parse(4, ["192.0.2.11"]);
  it("AC-21: the lowest address that is not excluded, reserved or recorded", () => {
    const records = new Map<string, PoolRecord>([["192.0.2.12", { pod: "app/a", podUid: "u-a" }]]);
    assert.deepEqual(pickAddress("p", addrs, records, reserved, "u-new", 5000), { ip: "192.0.2.13", reused: false });
  });
  it("AC-28: the same pod UID gets its address back", () => {
    const records = new Map<string, PoolRecord>([["192.0.2.15", { pod: "app/a", podUid: "u-a" }]]);
    assert.deepEqual(pickAddress("p", addrs, records, reserved, "u-a", 5000), { ip: "192.0.2.15", reused: true });
  });
  it("AC-26: the record cap", () => {
    const records = new Map<string, PoolRecord>([["192.0.2.12", { pod: "app/a", podUid: "u-a" }]]);
    assert.throws(() => pickAddress("a", addrs, records, reserved, "u-b", 1), {
      message: "all IP addresses used out, threshold of IP records(<=1) for IPPool a exceeded",
    });
  });
  it("AC-23: all pools used out aggregates each pool's reason (the agent's fallback is tested in agent.test.ts, AC-22)", () => {
    assert.equal(
      allocationFailed(4, "eth0", ["a", "b"], [usedOut(), usedOut()]).message,
      "failed to allocate any IPv4 IP address to NIC eth0 from IPPools [a b]: [all IP addresses used out, all IP addresses used out]",
    );
  });
  it("IPv6 /64: lowest free without walking the range", () => {
    const v6 = poolAddresses({
      subnet: "2001:db8::/64",
      ips: ["2001:db8::-2001:db8::ffff:ffff:ffff:ffff"],
      excludeIPs: ["2001:db8::"],
    });
    assert.deepEqual(
      pickAddress("v6", v6, new Map([["2001:db8::1", { pod: "a/b", podUid: "x" }]]), IPRangeSet.empty(6), "y", 5000),
      { ip: "2001:db8::2", reused: false },
    );
  });
  it("property: N picks with records added in between never repeat, never touch excluded or reserved", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat({ max: 63 }), { maxLength: 10 }),
        fc.array(fc.nat({ max: 63 }), { maxLength: 10 }),
        (n, ex, res) => {
          const a = poolAddresses({
            subnet: "203.0.113.0/26",
            ips: ["203.0.113.0-203.0.113.63"],
            excludeIPs: ex.map((i) => `203.0.113.${i}`),
          });
          const rs = IPRangeSet.parse(
            4,
            res.map((i) => `203.0.113.${i}`),
          );
          const records = new Map<string, PoolRecord>();
          const free = a.effective.subtract(rs).size;
          for (let k = 0; k < n; k++) {
            if (BigInt(k) >= free) {
              assert.throws(() => pickAddress("p", a, records, rs, `u${k}`, 5000), {
                message: "all IP addresses used out",
              });
              break;
            }
            const { ip } = pickAddress("p", a, records, rs, `u${k}`, 5000);
            const v = parseIP(ip).value;
            assert.ok(a.effective.has(v) && !rs.has(v), ip);
            assert.ok(!records.has(ip), `duplicate ${ip}`);
            records.set(ip, { pod: `ns/p${k}`, podUid: `u${k}` });
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("release", () => {
  it("only records of the caller's pod UID are removed", () => {
    const records = new Map<string, PoolRecord>([
      ["192.0.2.10", { pod: "a/x", podUid: "u1" }],
      ["192.0.2.11", { pod: "a/x", podUid: "u2" }],
    ]);
    const base = recordSet(4, records);
    const draft = new Draft(base);
    const released = releaseInDraft(draft, ["192.0.2.10/24", "192.0.2.11"], "u1");
    assert.deepEqual(released, ["192.0.2.10"]);
    base.apply(draft);
    assert.deepEqual([...base.toMap().keys()], ["192.0.2.11"]);
  });
  it("status.allocatedIPs round-trips in upstream's format; empty is absent", () => {
    const text = '{"192.0.2.10":{"pod":"default/web","podUid":"3c1d"}}';
    assert.equal(RecordSet.parse(4, text).render(), text);
    assert.equal(RecordSet.parse(4, undefined).render(), undefined);
    assert.equal(parseAllocatedIPs(undefined).size, 0);
    assert.deepEqual([...parseAllocatedIPs('{"2001:DB8::0:1":{"pod":"a/b","podUid":"u"}}').keys()], ["2001:db8::1"]);
  });
});

describe("result and endpoint items", () => {
  const subnet4 = parseCIDR("192.0.2.0/24");
  const subnet6 = parseCIDR("2001:db8::/64");
  const net1 = parseCIDR("198.51.100.0/24");
  it("AC-111: default routes unless cleanGateway, pool routes, pod routes on the NIC whose subnet holds the gateway", () => {
    const r = assemble(
      [
        {
          nic: "eth0",
          family: 4,
          ip: "192.0.2.10",
          pool: "v4",
          subnet: subnet4,
          gateway: "192.0.2.1",
          poolRoutes: [{ dst: "203.0.113.0/24", gw: "192.0.2.254" }],
          cleanGateway: false,
        },
        { nic: "eth0", family: 6, ip: "2001:db8::a", pool: "v6", subnet: subnet6, poolRoutes: [], cleanGateway: false },
        {
          nic: "net1",
          family: 4,
          ip: "198.51.100.5",
          pool: "b",
          subnet: net1,
          gateway: "198.51.100.1",
          poolRoutes: [],
          cleanGateway: true,
        },
      ],
      [
        { dst: "10.7.0.0/16", gw: "198.51.100.1" },
        { dst: "10.8.0.0/16", gw: "203.0.113.9" },
      ],
    );
    assert.deepEqual(
      r.ips.map((i) => [i.nic, i.address, i.gateway]),
      [
        ["eth0", "192.0.2.10/24", "192.0.2.1"],
        ["eth0", "2001:db8::a/64", undefined],
        ["net1", "198.51.100.5/24", "198.51.100.1"],
      ],
    );
    assert.deepEqual(r.routes, [
      { dst: "0.0.0.0/0", gw: "192.0.2.1", nic: "eth0" },
      { dst: "203.0.113.0/24", gw: "192.0.2.254", nic: "eth0" },
      { dst: "10.7.0.0/16", gw: "198.51.100.1", nic: "net1" },
    ]);
    assert.deepEqual(r.dropped, [{ dst: "10.8.0.0/16", gw: "203.0.113.9" }]);
    assert.deepEqual(r.details, [
      {
        interface: "eth0",
        vlan: 0,
        ipv4: "192.0.2.10/24",
        ipv4Pool: "v4",
        ipv4Gateway: "192.0.2.1",
        cleanGateway: false,
        routes: [{ dst: "203.0.113.0/24", gw: "192.0.2.254" }],
        ipv6: "2001:db8::a/64",
        ipv6Pool: "v6",
      },
      {
        interface: "net1",
        vlan: 0,
        ipv4: "198.51.100.5/24",
        ipv4Pool: "b",
        ipv4Gateway: "198.51.100.1",
        cleanGateway: true,
        routes: [{ dst: "10.7.0.0/16", gw: "198.51.100.1" }],
      },
    ]);
  });
});

describe("pods", () => {
  it("liveness per upstream's IsPodAlive", () => {
    const p = (phase: string, restartPolicy: string, extra: object = {}): Parameters<typeof isPodAlive>[0] => ({
      metadata: { name: "p" },
      spec: { restartPolicy },
      status: { phase, ...extra },
    });
    assert.equal(isPodAlive(p("Running", "Always")), true);
    assert.equal(isPodAlive({ metadata: { name: "p", deletionTimestamp: "x" } }), false);
    assert.equal(isPodAlive(p("Succeeded", "OnFailure")), false);
    assert.equal(isPodAlive(p("Succeeded", "Always")), true);
    assert.equal(isPodAlive(p("Failed", "Never")), false);
    assert.equal(isPodAlive(p("Failed", "Always", { reason: "Evicted" })), false);
    assert.equal(isPodAlive(p("Failed", "OnFailure")), true);
  });
  it("top controller: Deployment through its ReplicaSet, CronJob through its Job, orphans, third parties", async () => {
    const owner = (apiVersion: string, kind: string, name: string) => ({
      apiVersion,
      kind,
      name,
      uid: `${kind}-uid`,
      controller: true,
    });
    const lookup = async (kind: string, _ns: string, name: string) =>
      kind === "ReplicaSet"
        ? { metadata: { name, ownerReferences: [owner("apps/v1", "Deployment", "web")] } }
        : { metadata: { name, ownerReferences: [owner("batch/v1", "CronJob", "nightly")] } };
    const pod = (refs: ReturnType<typeof owner>[]) => ({
      metadata: { name: "p", namespace: "app", uid: "pod-uid", ownerReferences: refs },
    });
    assert.deepEqual(await resolveTopController(pod([owner("apps/v1", "ReplicaSet", "web-7f5")]), lookup), {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "app",
      name: "web",
      uid: "Deployment-uid",
    });
    assert.deepEqual(
      (await resolveTopController(pod([owner("batch/v1", "Job", "nightly-1")]), lookup)).kind,
      "CronJob",
    );
    assert.deepEqual((await resolveTopController(pod([owner("apps/v1", "StatefulSet", "db")]), lookup)).name, "db");
    assert.deepEqual(await resolveTopController(pod([]), lookup), {
      apiVersion: "v1",
      kind: "Pod",
      namespace: "app",
      name: "p",
      uid: "pod-uid",
    });
    assert.deepEqual(
      (await resolveTopController(pod([owner("kubevirt.io/v1", "VirtualMachineInstance", "vm1")]), lookup)).kind,
      "VirtualMachineInstance",
    );
  });
  it("fixed addresses by the owner's group and kind, each behind its switch; by kind alone only from an endpoint", () => {
    const on = { enableStatefulSet: true, enableKubevirtStaticIP: true };
    const off = { enableStatefulSet: false, enableKubevirtStaticIP: false };
    const o = (apiVersion: string, kind: string) => ({ apiVersion, kind });
    assert.equal(workloadKind(o("apps/v1", "StatefulSet"), on), "statefulset");
    assert.equal(workloadKind(o("apps.kruise.io/v1beta1", "StatefulSet"), on), "stateless");
    assert.equal(workloadKind(o("kubevirt.io/v1", "VirtualMachineInstance"), on), "kubevirt");
    assert.equal(workloadKind(o("example.io/v1", "VirtualMachineInstance"), on), "stateless");
    assert.equal(workloadKind(o("apps/v1", "StatefulSet"), off), "stateless");
    assert.equal(workloadKind(undefined, on), "stateless");
    assert.equal(workloadKindOfEndpoint("StatefulSet", on), "statefulset");
    assert.equal(workloadKindOfEndpoint("VirtualMachineInstance", on), "kubevirt");
    assert.equal(workloadKindOfEndpoint("StatefulSet", off), "stateless");
    assert.equal(workloadKindOfEndpoint("Deployment", on), "stateless");
  });
  it("AC-61: StatefulSet ordinals with ordinals.start", () => {
    const sts = (replicas: number, start?: number) => ({
      metadata: { name: "x" },
      spec: start === undefined ? { replicas } : { replicas, ordinals: { start } },
    });
    assert.equal(isValidStatefulSetPod("x-3", sts(2, 2)), true);
    assert.equal(isValidStatefulSetPod("x-3", sts(1, 2)), false);
    assert.equal(isValidStatefulSetPod("x-1", sts(2)), true);
    assert.equal(isValidStatefulSetPod("x-2", sts(2)), false);
    assert.equal(isValidStatefulSetPod("x-1", undefined), false);
    assert.equal(isValidStatefulSetPod("nonumber", sts(2)), false);
  });
  it("KubeVirt VM pods: valid while the VMI or its VirtualMachine lives", () => {
    const live = { metadata: { name: "vm1" } };
    const dying = (byVm: boolean) => ({
      metadata: {
        name: "vm1",
        deletionTimestamp: "t",
        ownerReferences: byVm
          ? [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "vm1", uid: "u", controller: true }]
          : [],
      },
    });
    assert.equal(isValidVMPod(live, undefined), true);
    assert.equal(isValidVMPod(dying(false), live), false);
    assert.equal(isValidVMPod(dying(true), live), true);
    assert.equal(isValidVMPod(undefined, live), true);
    assert.equal(isValidVMPod(undefined, undefined), false);
    assert.equal(isValidVMPod(undefined, { metadata: { name: "vm1", deletionTimestamp: "t" } }), false);
  });
});

describe("errors", () => {
  it("carry stable codes", () => {
    try {
      selectCandidates(input({ clusterDefaults: { v4: [], v6: [] } }));
    } catch (e) {
      assert.ok(e instanceof IpamError);
      assert.equal(e.code, "ERR_NO_POOL_RULES");
    }
  });
});
