import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvalidAnnotationError } from "../api/annotations/index.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { IPRangeSet } from "../ip/index.ts";
import {
  applicationKey,
  autoPoolConfig,
  autoPoolName,
  carve,
  desiredAutoPool,
  desiredIPNumber,
  ipNumberText,
  parseApplicationKey,
  replicasOf,
  type CarveInput,
} from "./auto-pool.ts";
import { IpamError } from "./errors.ts";

const set = (...xs: string[]): IPRangeSet => IPRangeSet.parse(4, xs);
const none = IPRangeSet.empty(4);

describe("auto-pool naming and labels", () => {
  it("AC-103: Deployment Nginx, uid …-9a2b3c4d5e6f, eth0, IPv4 → auto4-nginx-eth0-9a2b3", () => {
    assert.equal(autoPoolName(4, "Nginx", "eth0", "0f1e2d3c-aaaa-bbbb-cccc-9a2b3c4d5e6f"), "auto4-nginx-eth0-9a2b3");
    assert.equal(autoPoolName(6, "web", "NET1", "x-ABCDEF"), "auto6-web-net1-abcde");
  });

  it("AC-92: a very long application name is cut so the pool name fits 253 characters", () => {
    const long = `a${"b".repeat(251)}-c`;
    const name = autoPoolName(4, long, "eth0", "0-12345678");
    assert.ok(name.length <= 253, `${name.length}`);
    assert.match(name, /^auto4-ab+-eth0-12345$/);
    const v = autoPoolName(4, long, "eth0", "0-12345678", "f00ba");
    assert.ok(v.length <= 253);
    assert.match(v, /-eth0-12345-f00ba$/);
  });

  it("the application key round-trips, core group included", () => {
    for (const app of [
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" },
      { apiVersion: "v1", kind: "Pod", namespace: "ns", name: "p.q" },
      { apiVersion: "apps.kruise.io/v1alpha1", kind: "CloneSet", namespace: "n", name: "c" },
    ]) {
      assert.deepEqual(parseApplicationKey(applicationKey(app)), app);
    }
    assert.equal(
      applicationKey({ apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" }),
      "apps_v1_Deployment_default_web",
    );
    assert.equal(parseApplicationKey("nonsense"), undefined);
  });

  it("the pool carries every label of §0.2, the app podAffinity, the subnet as owner", () => {
    const sub = {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s1", uid: "sub-uid" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.1-192.0.2.100"], gateway: "192.0.2.254" },
    } as SpiderSubnet;
    const p = desiredAutoPool({
      name: "auto4-web-eth0-12345",
      subnet: sub,
      app: { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web", uid: "u-12345" },
      iface: "eth0",
      family: 4,
      reclaim: false,
      ipNumber: "+1",
      ips: ["192.0.2.1-192.0.2.3"],
    });
    assert.deepEqual(p.metadata.labels, {
      "ipam.spidernet.io/owner-spider-subnet": "s1",
      "ipam.spidernet.io/owner-application-gv": "apps_v1",
      "ipam.spidernet.io/owner-application-kind": "Deployment",
      "ipam.spidernet.io/owner-application-namespace": "default",
      "ipam.spidernet.io/owner-application-name": "web",
      "ipam.spidernet.io/interface": "eth0",
      "ipam.spidernet.io/ip-version": "IPv4",
      "ipam.spidernet.io/owner-application-uid": "u-12345",
      "ipam.spidernet.io/ippool-reclaim": "false",
      "ipam.spidernet.io/ippool-cidr": "192-0-2-0-24",
    });
    assert.deepEqual(p.spec.podAffinity, {
      matchLabels: {
        "ipam.spidernet.io/app-api-group": "apps",
        "ipam.spidernet.io/app-api-version": "v1",
        "ipam.spidernet.io/app-kind": "Deployment",
        "ipam.spidernet.io/app-namespace": "default",
        "ipam.spidernet.io/app-name": "web",
      },
    });
    assert.equal(p.spec.gateway, "192.0.2.254");
    assert.equal(p.metadata.annotations?.["ipam.spidernet.io/ippool-ip-number"], "+1");
    assert.deepEqual(p.metadata.finalizers, ["spiderpool.spidernet.io"]);
    assert.equal(p.metadata.ownerReferences?.[0]?.name, "s1");
    assert.equal(p.metadata.ownerReferences?.[0]?.controller, true);
  });
});

describe("auto-pool annotations and sizes (§5.1, §5.2)", () => {
  it("subnets wins over subnet; subnet alone means eth0; reclaim defaults to true", () => {
    const c = autoPoolConfig({
      "ipam.spidernet.io/subnet": '{"ipv4":["a"]}',
      "ipam.spidernet.io/subnets": '[{"interface":"eth0","ipv4":["s1"]},{"interface":"net1","ipv4":["s2"]}]',
    });
    assert.deepEqual(
      c?.items.map((i) => [i.interface, i.ipv4]),
      [
        ["eth0", "s1"],
        ["net1", "s2"],
      ],
    );
    assert.equal(c?.reclaim, true);
    assert.deepEqual(autoPoolConfig({ "ipam.spidernet.io/subnet": '{"ipv4":["a","b"]}' })?.items, [
      { interface: "eth0", ipv4: "a" },
    ]);
    assert.equal(autoPoolConfig({}), undefined);
  });

  it("bad values are refused with upstream's texts", () => {
    assert.throws(
      () =>
        autoPoolConfig({ "ipam.spidernet.io/subnet": '{"ipv4":["a"]}', "ipam.spidernet.io/ippool-ip-number": "++1" }),
      (e: unknown) => e instanceof InvalidAnnotationError && /invalid input '\+\+1'/.test(e.message),
    );
    assert.throws(
      () =>
        autoPoolConfig({ "ipam.spidernet.io/subnet": '{"ipv4":["a"]}', "ipam.spidernet.io/ippool-ip-number": "-1" }),
      /must equal or greater than 0/,
    );
    assert.throws(
      () =>
        autoPoolConfig({ "ipam.spidernet.io/subnet": '{"ipv4":["a"]}', "ipam.spidernet.io/ippool-reclaim": "maybe" }),
      InvalidAnnotationError,
    );
  });

  it("replicas per kind", () => {
    assert.equal(replicasOf("Deployment", { metadata: {}, spec: { replicas: 3 } }), 3);
    assert.equal(replicasOf("StatefulSet", { metadata: {}, spec: {} }), 0);
    assert.equal(replicasOf("DaemonSet", { metadata: {}, status: { desiredNumberScheduled: 7 } }), 7);
    assert.equal(replicasOf("Job", { metadata: {}, spec: { parallelism: 4 } }), 4);
    assert.equal(replicasOf("Job", { metadata: {}, spec: { parallelism: 0 } }), 1);
    assert.equal(replicasOf("Job", { metadata: {}, spec: { parallelism: 2, completions: 5 } }), 5);
    assert.equal(replicasOf("Job", { metadata: {}, spec: {} }), 1);
    assert.equal(replicasOf("CronJob", { metadata: {}, spec: { jobTemplate: { spec: { completions: 0 } } } }), 1);
  });

  it("N is fixed, +N follows replicas, absent uses the cluster default", () => {
    assert.equal(desiredIPNumber({ flexible: false, n: 5 }, 30, 1), 5);
    assert.equal(desiredIPNumber({ flexible: true, n: 1 }, 3, 9), 4);
    assert.equal(desiredIPNumber(undefined, 3, 1), 4);
    assert.equal(ipNumberText(undefined, 1), "+1");
    assert.equal(ipNumberText({ flexible: false, n: 2 }, 1), "2");
  });
});

const base = (o: Partial<CarveInput>): CarveInput => ({
  pool: "p",
  subnet: set("192.0.2.1-192.0.2.20"),
  others: none,
  reserved: none,
  entry: undefined,
  poolIPs: none,
  allocated: none,
  desired: 3n,
  ...o,
});

describe("carving (§5.4)", () => {
  it("a new pool takes the lowest free addresses, skipping other pools and reservations", () => {
    const ips = carve(base({ others: set("192.0.2.1-192.0.2.2"), reserved: set("192.0.2.4"), desired: 3n }));
    assert.deepEqual(ips.toStrings(), ["192.0.2.3", "192.0.2.5-192.0.2.6"]);
  });

  it("growing keeps what the pool has and adds the lowest free addresses", () => {
    const ips = carve(base({ entry: set("192.0.2.10-192.0.2.11"), desired: 4n }));
    assert.deepEqual(ips.toStrings(), ["192.0.2.1-192.0.2.2", "192.0.2.10-192.0.2.11"]);
  });

  it("AC-104: shrinking drops the lowest free addresses, and waits when pods hold too many", () => {
    const entry = set("192.0.2.1-192.0.2.4");
    const allocated = set("192.0.2.1", "192.0.2.3", "192.0.2.4");
    assert.throws(
      () => carve(base({ entry, allocated, desired: 2n })),
      (e: unknown) =>
        e instanceof IpamError &&
        e.code === "ERR_POOL_SHRINK_BLOCKED" &&
        e.message === "failed to scale down IPPool p IPs: IPPool available free IPs are not enough",
    );
    const after = carve(base({ entry, allocated: set("192.0.2.3", "192.0.2.4"), desired: 2n }));
    assert.deepEqual(after.toStrings(), ["192.0.2.3-192.0.2.4"]);
  });

  it("an exhausted subnet says how many were needed and how many are left", () => {
    assert.throws(
      () => carve(base({ subnet: set("192.0.2.1-192.0.2.2"), desired: 3n })),
      (e: unknown) =>
        e instanceof IpamError && e.message === "insufficient subnet FreeIPs, required '3' but only left '2'",
    );
  });

  it("a pod's address outside the entry is kept, never handed to the subnet", () => {
    const ips = carve(base({ entry: set("192.0.2.1"), allocated: set("192.0.2.9"), desired: 2n }));
    assert.deepEqual(ips.toStrings(), ["192.0.2.1", "192.0.2.9"]);
  });

  it("property: the result never takes another pool's or a reserved address and keeps every pod's", () => {
    const addr = fc.integer({ min: 1, max: 40 });
    const toSet = (xs: number[]): IPRangeSet =>
      IPRangeSet.parse(
        4,
        xs.map((x) => `192.0.2.${x}`),
      );
    fc.assert(
      fc.property(
        fc.uniqueArray(addr, { maxLength: 30 }),
        fc.nat({ max: 45 }),
        fc.nat({ max: 100 }),
        (xs, desired, split) => {
          // Partition random addresses into others / reserved / this entry, and pods among the entry.
          const others = toSet(xs.filter((_, i) => i % 3 === 0));
          const reserved = toSet(xs.filter((_, i) => i % 3 === 1));
          const entry = toSet(xs.filter((_, i) => i % 3 === 2));
          const allocated = toSet(xs.filter((x, i) => i % 3 === 2 && x % 100 < split % 40));
          const c = base({
            subnet: set("192.0.2.1-192.0.2.40"),
            others,
            reserved,
            entry,
            allocated,
            desired: BigInt(desired),
          });
          let out: IPRangeSet;
          try {
            out = carve(c);
          } catch (e) {
            assert.ok(e instanceof IpamError);
            if (e.code === "ERR_POOL_SHRINK_BLOCKED")
              assert.ok(entry.subtract(allocated).size < entry.size - BigInt(desired));
            else assert.equal(e.code, "ERR_SUBNET_EXHAUSTED");
            return;
          }
          assert.equal(out.size, BigInt(desired));
          assert.ok(!out.overlaps(others));
          assert.ok(out.containsAll(allocated));
          assert.ok(out.subtract(entry).intersect(reserved).isEmpty, "never newly takes a reserved address");
          assert.ok(c.subnet.union(entry).containsAll(out));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
