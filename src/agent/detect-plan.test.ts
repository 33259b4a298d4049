// NN-29's decision: which probes an IPAM ADD runs, for which addresses, and what it announces.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { IpConfig } from "../ipam/result.ts";
import { migrationJobOf, planDetection, type DetectSwitches } from "./detect-plan.ts";

const v4: IpConfig = { nic: "net1", family: 4, address: "192.0.2.10/24", gateway: "192.0.2.1", pool: "a" };
const v6: IpConfig = { nic: "net1", family: 6, address: "2001:db8::10/64", gateway: "2001:db8::1", pool: "b" };
const v4NoGw: IpConfig = { nic: "net1", family: 4, address: "192.0.2.11/24", pool: "a" };
const eth0: IpConfig = { nic: "eth0", family: 4, address: "198.51.100.10/24", gateway: "198.51.100.1", pool: "c" };

const BOTH: DetectSwitches = { ipConflict: true, gateway: true };
const CONFLICT: DetectSwitches = { ipConflict: true, gateway: false };
const GATEWAY: DetectSwitches = { ipConflict: false, gateway: true };
const OFF: DetectSwitches = { ipConflict: false, gateway: false };

describe("planDetection (NN-29)", () => {
  const table: {
    name: string;
    ips: IpConfig[];
    on: DetectSwitches;
    migrating?: boolean;
    want: ReturnType<typeof planDetection>;
  }[] = [
    { name: "both switches off: nothing", ips: [v4, v6], on: OFF, want: undefined },
    {
      name: "both on, dual stack: conflict then gateway per family, both announced",
      ips: [v4, v6],
      on: BOTH,
      want: {
        checks: [
          { family: 4, ip: "192.0.2.10", conflict: true, gateway: "192.0.2.1" },
          { family: 6, ip: "2001:db8::10", conflict: true, gateway: "2001:db8::1" },
        ],
        announce: ["192.0.2.10", "2001:db8::10"],
      },
    },
    {
      name: "conflict only",
      ips: [v4],
      on: CONFLICT,
      want: { checks: [{ family: 4, ip: "192.0.2.10", conflict: true }], announce: ["192.0.2.10"] },
    },
    {
      name: "gateway only",
      ips: [v6],
      on: GATEWAY,
      want: {
        checks: [{ family: 6, ip: "2001:db8::10", conflict: false, gateway: "2001:db8::1" }],
        announce: ["2001:db8::10"],
      },
    },
    { name: "gateway only, the pool has no gateway: nothing", ips: [v4NoGw], on: GATEWAY, want: undefined },
    {
      name: "both on, no gateway: the conflict check alone",
      ips: [v4NoGw],
      on: BOTH,
      want: { checks: [{ family: 4, ip: "192.0.2.11", conflict: true }], announce: ["192.0.2.11"] },
    },
    {
      name: "other NICs' addresses in a multi-NIC answer are not this ADD's",
      ips: [eth0, v4],
      on: CONFLICT,
      want: { checks: [{ family: 4, ip: "192.0.2.10", conflict: true }], announce: ["192.0.2.10"] },
    },
    { name: "no address for this NIC: nothing", ips: [eth0], on: BOTH, want: undefined },
    {
      name: "live-migration target, conflict only: nothing",
      ips: [v4],
      on: CONFLICT,
      migrating: true,
      want: undefined,
    },
    {
      name: "live-migration target, both: the gateway alone",
      ips: [v4],
      on: BOTH,
      migrating: true,
      want: {
        checks: [{ family: 4, ip: "192.0.2.10", conflict: false, gateway: "192.0.2.1" }],
        announce: ["192.0.2.10"],
      },
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(planDetection("net1", c.ips, c.on, c.migrating ?? false), c.want);
    });
  }
});

describe("migrationJobOf (NN-29's KubeVirt exception)", () => {
  const vmi = { apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstance", name: "vm1", uid: "u", controller: true };
  const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u", controller: true };
  const anno = { "kubevirt.io/migrationJobName": "mig-1" };
  const table: { name: string; meta: Parameters<typeof migrationJobOf>[0]; want: string | undefined }[] = [
    { name: "VMI pod with the annotation", meta: { annotations: anno, ownerReferences: [vmi] }, want: "mig-1" },
    { name: "VMI pod without it", meta: { ownerReferences: [vmi] }, want: undefined },
    {
      name: "empty annotation",
      meta: { annotations: { "kubevirt.io/migrationJobName": "" }, ownerReferences: [vmi] },
      want: undefined,
    },
    { name: "not a VMI pod", meta: { annotations: anno, ownerReferences: [rs] }, want: undefined },
    { name: "orphan pod", meta: { annotations: anno }, want: undefined },
  ];
  for (const c of table) it(c.name, () => assert.equal(migrationJobOf(c.meta), c.want));
});
