// NN-29: IP-conflict and gateway detection in the IPAM ADD (spec §1.12), the ADD and DEL flows
// on the in-memory seams and the probes on FakeHost: a neighbour that answers for the address
// makes the allocation go back (the endpoint with it) and the ADD fail with upstream's text; a
// gateway that answers lets it pass and the addresses are announced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { AddFlow, type AddRequest } from "../../src/agent/add-flow.ts";
import { DelFlow } from "../../src/agent/del-flow.ts";
import { DETECTION, DetectFlow, type ProbeOutcome } from "../../src/agent/detect-flow.ts";
import type { DetectSwitches } from "../../src/agent/detect-plan.ts";
import type { NetnsRef } from "../../src/host/model.ts";
import { addFailure } from "../../src/cni/map-error.ts";
import { fakeAgent } from "../support/agent-fakes.ts";
import { FakeHost } from "../support/fake-host.ts";

const log = pino({ level: "silent" });
const NETNS = "/var/run/netns/pod1";
const OTHER_MAC = "02:00:00:00:00:99";
const GW_MAC = "02:00:00:00:00:01";

interface Options {
  switches?: DetectSwitches;
  /** Existing VirtualMachineInstanceMigrations, `ns/name`. */
  migrations?: string[];
  host?: FakeHost | "none";
  podMeta?: Record<string, unknown>;
}

function setup(o: Options = {}) {
  const f = fakeAgent();
  f.pool("v4", "192.0.2.0/24", "192.0.2.10-192.0.2.12", { gateway: "192.0.2.1" });
  f.pool("v6", "2001:db8::/64", "2001:db8::10-2001:db8::12", { gateway: "2001:db8::1" });
  const host = o.host === "none" ? undefined : (o.host ?? new FakeHost());
  let ns: NetnsRef | undefined;
  if (host !== undefined) {
    ns = host.addNetns(NETNS);
    // The main plugin's macvlan, down as the plugin leaves it before calling IPAM.
    host.addLink(ns, { name: "net1", mac: "02:00:00:00:00:10", kind: "macvlan" });
  }
  const add = new AddFlow(f.deps, f.memo);
  const del = new DelFlow(f.deps, f.memo);
  const probes: { family: 4 | 6; purpose: string; outcome: ProbeOutcome }[] = [];
  const detect = new DetectFlow({
    host,
    clock: f.clock,
    view: f.view,
    switches: o.switches ?? { ipConflict: true, gateway: true },
    migrationExists: async (ns, name) => (o.migrations ?? []).includes(`${ns}/${name}`),
    release: async (req, l) => void (await del.releaseAll(req, l)),
    metrics: { probe: (family, purpose, outcome) => probes.push({ family, purpose, outcome }) },
  });
  f.pod("default", "web", "u1", o.podMeta === undefined ? {} : { metadata: o.podMeta as never });
  /** An ADD as the CNI handler runs it: allocation, then detection. */
  const cniAdd = async (r: AddRequest) => {
    const res = await add.add(r, log);
    await detect.run(r, res, log);
    return res;
  };
  return { ...f, host, ns, add, del, detect, probes, cniAdd };
}

const req = (pools: { v4?: string[]; v6?: string[] } = { v4: ["v4"], v6: ["v6"] }): AddRequest => ({
  containerID: "c-web",
  ifName: "net1",
  netns: NETNS,
  podName: "web",
  podNamespace: "default",
  podUid: "u1",
  defaultIPv4IPPool: pools.v4 ?? [],
  defaultIPv6IPPool: pools.v6 ?? [],
  cleanGateway: false,
});

describe("NN-29 IP-conflict and gateway detection (flows on FakeHost)", () => {
  it("NN-29 no conflict, gateways answer: interface up, both families probed, every address announced", async () => {
    const s = setup();
    const host = s.host as FakeHost;
    const ns = s.ns as NetnsRef;
    host.addResponder(ns, "net1", "192.0.2.1", GW_MAC);
    host.addResponder(ns, "net1", "2001:db8::1", GW_MAC);
    const res = await s.cniAdd(req());
    assert.deepEqual(
      res.ips.map((i) => i.address),
      ["192.0.2.10/24", "2001:db8::10/64"],
    );
    assert.equal((await host.observe(ns)).links.find((l) => l.name === "net1")?.flags.up, true);
    assert.deepEqual(
      host.probes.map((p) => [p.family, p.purpose, p.target, p.source, p.retries, p.timeoutMs]).sort(),
      [
        [4, "conflict", "192.0.2.10", undefined, DETECTION.retries, DETECTION.readMs],
        [4, "gateway", "192.0.2.1", "192.0.2.10", 3, 100],
        [6, "conflict", "2001:db8::10", undefined, 3, 100],
        [6, "gateway", "2001:db8::1", undefined, 3, 100],
      ].sort(),
    );
    assert.ok(host.probes.every((p) => p.dev === "net1" && p.ns.kind === "path" && p.ns.path === NETNS));
    assert.deepEqual(
      host.announcements.map((a) => [a.dev, a.address]),
      [
        ["net1", "192.0.2.10"],
        ["net1", "2001:db8::10"],
      ],
    );
    assert.deepEqual(s.probes.map((p) => `${p.family}/${p.purpose}/${p.outcome}`).sort(), [
      "4/conflict/clear",
      "4/gateway/reachable",
      "6/conflict/clear",
      "6/gateway/reachable",
    ]);
    assert.deepEqual(s.writers.held("u1").sort(), ["192.0.2.10", "2001:db8::10"]);
  });

  it("NN-29 AC-114 an IPv4 conflict: ADD fails with upstream's text, every address and the endpoint go back", async () => {
    const s = setup({ switches: { ipConflict: true, gateway: false } });
    const host = s.host as FakeHost;
    host.addResponder(s.ns as NetnsRef, "net1", "192.0.2.10", OTHER_MAC);
    await assert.rejects(s.cniAdd(req()), (err: Error & { code?: string }) => {
      assert.equal(err.code, "ERR_IP_CONFLICT");
      assert.equal(
        err.message,
        `ip conflict: pod's interface net1 with an conflicting ip 192.0.2.10, 192.0.2.10 is located at ${OTHER_MAC}`,
      );
      // The runtime sees the message as is (no allocation prefix), with upstream's code.
      const cni = addFailure(err);
      assert.equal(cni.msg, err.message);
      assert.equal(cni.cniCode, 999);
      return true;
    });
    assert.deepEqual(s.writers.held("u1"), [], "both families' records released (the whole endpoint)");
    assert.equal(await s.endpoints.get("default", "web"), undefined, "the endpoint is gone");
    assert.deepEqual(host.announcements, [], "nothing announced");
    assert.ok(s.probes.some((p) => p.family === 4 && p.outcome === "conflict"));
  });

  it("NN-29 after a conflict the kubelet's retry allocates afresh (never answers with what went back)", async () => {
    const s = setup({ switches: { ipConflict: true, gateway: false } });
    const host = s.host as FakeHost;
    host.addResponder(s.ns as NetnsRef, "net1", "192.0.2.10", OTHER_MAC);
    await assert.rejects(s.cniAdd(req({ v4: ["v4"] })), { code: "ERR_IP_CONFLICT" });
    // The retry's allocation: from the pool again, so what it answers is recorded there.
    const res = await s.add.add(req({ v4: ["v4"] }), log);
    const ip = res.ips[0]?.address ?? "";
    assert.deepEqual(s.writers.held("u1"), [ip.split("/")[0]], "the answer is recorded in the pool");
    assert.equal((await s.endpoints.get("default", "web"))?.status?.current.ips[0]?.ipv4, ip);
  });

  it("NN-29 an IPv6 conflict is found after the link-local address is ready", async () => {
    const s = setup({ switches: { ipConflict: true, gateway: false } });
    const host = s.host as FakeHost;
    host.addResponder(s.ns as NetnsRef, "net1", "2001:db8::10", OTHER_MAC);
    await assert.rejects(s.cniAdd(req()), {
      code: "ERR_IP_CONFLICT",
      message: `ip conflict: pod's interface net1 with an conflicting ip 2001:db8::10, 2001:db8::10 is located at ${OTHER_MAC}`,
    });
    assert.deepEqual(s.writers.held("u1"), []);
  });

  it("NN-29 an unreachable gateway: `gateway <gw> is unreachable`, code 11, the allocation released", async () => {
    const s = setup({ switches: { ipConflict: false, gateway: true } });
    const host = s.host as FakeHost;
    host.addResponder(s.ns as NetnsRef, "net1", "2001:db8::1", GW_MAC);
    await assert.rejects(s.cniAdd(req()), (err: Error & { code?: string }) => {
      assert.equal(err.message, "gateway 192.0.2.1 is unreachable");
      assert.equal(addFailure(err).cniCode, 11);
      return true;
    });
    assert.deepEqual(s.writers.held("u1"), []);
    assert.ok(s.probes.some((p) => p.family === 4 && p.purpose === "gateway" && p.outcome === "unreachable"));
  });

  it("NN-29 switches off: no probe, the interface untouched, nothing announced", async () => {
    const s = setup({ switches: { ipConflict: false, gateway: false } });
    const host = s.host as FakeHost;
    await s.cniAdd(req());
    assert.deepEqual(host.probes, []);
    assert.deepEqual(host.applied, []);
    assert.deepEqual(host.announcements, []);
  });

  it("NN-29 only the addresses of CNI_IFNAME are probed", async () => {
    const s = setup({ switches: { ipConflict: true, gateway: false } });
    const host = s.host as FakeHost;
    const res = await s.add.add(req({ v4: ["v4"] }), log);
    // As in a no-name multi-NIC answer, which lists other NICs' addresses too.
    res.ips.push({ nic: "eth0", family: 4, address: "198.51.100.7/24", pool: "x" });
    await s.detect.run(req({ v4: ["v4"] }), res, log);
    assert.deepEqual(
      host.probes.map((p) => p.target),
      ["192.0.2.10"],
    );
  });

  it("NN-29 AC-67 KubeVirt live-migration target (VMIM exists): no conflict detection; VMIM gone: detection on", async () => {
    const podMeta = {
      annotations: { "kubevirt.io/migrationJobName": "mig-1" },
      ownerReferences: [
        { apiVersion: "kubevirt.io/v1", kind: "VirtualMachineInstance", name: "vm1", uid: "vmi-u", controller: true },
      ],
    };
    const s = setup({ switches: { ipConflict: true, gateway: false }, migrations: ["default/mig-1"], podMeta });
    const host = s.host as FakeHost;
    host.addResponder(s.ns as NetnsRef, "net1", "192.0.2.10", OTHER_MAC);
    const res = await s.add.add(req({ v4: ["v4"] }), log);
    await s.detect.run(req({ v4: ["v4"] }), res, log);
    assert.deepEqual(host.probes, [], "the source pod still answers for the address");

    const t = setup({ switches: { ipConflict: true, gateway: false }, migrations: [], podMeta });
    (t.host as FakeHost).addResponder(t.ns as NetnsRef, "net1", "192.0.2.10", OTHER_MAC);
    const res2 = await t.add.add(req({ v4: ["v4"] }), log);
    await assert.rejects(t.detect.run(req({ v4: ["v4"] }), res2, log), { code: "ERR_IP_CONFLICT" });
  });

  it("NN-29 IPv6 waits at most 10 s for the link-local address, then fails without releasing", async () => {
    const host = new FakeHost();
    const s = setup({ switches: { ipConflict: true, gateway: false }, host });
    // A veth whose peer stays down never gets carrier, so never a link-local address.
    const ns = s.ns as NetnsRef;
    await host.apply([
      { op: "link.del", ns, name: "net1" },
      {
        op: "link.addVeth",
        ns,
        name: "net1",
        mtu: 1500,
        mac: "02:00:00:00:00:10",
        peerName: "peer1",
        peerMac: "02:00:00:00:00:11",
        peerNs: { kind: "host" },
      },
    ]);
    const started = s.clock.now();
    await assert.rejects(s.cniAdd(req({ v6: ["v6"] })), {
      code: "ERR_DETECTION_FAILED",
      message: "waiting for the maximum timeout of 10s, the state of the local link address is still not READY",
    });
    assert.equal(s.clock.now() - started, DETECTION.dadCapMs);
    assert.deepEqual(host.probes, []);
    assert.deepEqual(s.writers.held("u1"), ["2001:db8::10"], "not a conflict: the records stay for the retry");
  });

  it("NN-29 probe sends failing: upstream's text, the records kept", async () => {
    const host = new FakeHost();
    host.probe = async () => {
      throw Object.assign(new Error("network is down"), { code: "HOST_SYSCALL_FAILED" });
    };
    const s = setup({ switches: { ipConflict: true, gateway: false }, host });
    await assert.rejects(s.cniAdd(req({ v4: ["v4"] })), {
      code: "ERR_DETECTION_FAILED",
      message: "failed to detect IPv4 address conflict after three attempts: network is down",
    });
    assert.deepEqual(s.writers.held("u1"), ["192.0.2.10"]);
    assert.ok(s.probes.some((p) => p.outcome === "error"));
  });

  it("NN-29 an IPv4 conflict probe past its 1 s cap fails with upstream's text", async () => {
    const host = new FakeHost();
    const s = setup({ switches: { ipConflict: true, gateway: false }, host });
    let started!: () => void;
    const probing = new Promise<void>((r) => (started = r));
    host.probe = () => {
      started();
      return new Promise(() => undefined);
    };
    const out = s.cniAdd(req({ v4: ["v4"] }));
    await probing;
    s.clock.advance(DETECTION.v4ConflictCapMs);
    await assert.rejects(out, {
      code: "ERR_DETECTION_FAILED",
      message: "failed to detect IPv4 address conflicting, more than the max timeout: 1s",
    });
  });

  it("NN-29 detection switched on without host access fails the ADD, never skips the check", async () => {
    const s = setup({ host: "none", switches: { ipConflict: true, gateway: false } });
    await assert.rejects(s.cniAdd(req({ v4: ["v4"] })), { code: "ERR_DETECTION_FAILED" });
  });
});
