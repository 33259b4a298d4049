// Issue 18: `match_master_subnet` on the agent side, against the kernel in namespaces the test
// makes: a node namespace whose master holds an address, a pod namespace with a macvlan made on
// that master (as the plugin makes it, then moved into the pod). The ADD reads the master
// through NetlinkHost and keeps only the pools whose subnet holds its address.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import pino from "pino";
import { AddFlow, type AddRequest } from "../../src/agent/add-flow.ts";
import { masterLookup } from "../../src/agent/master-interface.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import { fakeAgent } from "../support/agent-fakes.ts";
import { tempNetns } from "../support/netns.ts";

const log = pino({ level: "silent" });
const ip = (...args: string[]): void => void execFileSync("ip", args, { stdio: "pipe" });

/** Node with master `eth-m` (192.0.2.200/24, 2001:db8:ff::2/64), pod with `net1`, a macvlan on it. */
function lab(t: TestContext) {
  const node = tempNetns(t, "spt-s2-");
  const pod = tempNetns(t, "spt-s2-");
  ip("-n", node.name, "link", "add", "eth-m", "type", "veth", "peer", "name", "eth-m-p");
  ip("-n", node.name, "link", "set", "eth-m", "up");
  ip("-n", node.name, "link", "set", "eth-m-p", "up");
  ip("-n", node.name, "addr", "add", "192.0.2.200/24", "dev", "eth-m");
  ip("-n", node.name, "addr", "add", "2001:db8:ff::2/64", "dev", "eth-m", "nodad");
  // An address on another link of the node must not count as the master's.
  ip("-n", node.name, "addr", "add", "203.0.113.9/24", "dev", "eth-m-p");
  ip("-n", node.name, "link", "add", "net1", "link", "eth-m", "type", "macvlan", "mode", "bridge");
  ip("-n", node.name, "link", "set", "net1", "netns", pod.name);
  const f = fakeAgent();
  f.pool("other", "203.0.113.0/24", "203.0.113.10-203.0.113.12");
  f.pool("master", "192.0.2.0/24", "192.0.2.10-192.0.2.12");
  f.pool("master6", "2001:db8:ff::/64", "2001:db8:ff::10-2001:db8:ff::12");
  f.pool("other6", "2001:db8:1::/64", "2001:db8:1::10-2001:db8:1::12");
  f.pod("default", "web", "u1");
  // A sysfs with one VF whose PF is eth-m, as the SR-IOV device plugin's VF 0000:af:06.2 would have.
  const sysfs = mkdtempSync(join(tmpdir(), "spt-s2-sysfs-"));
  t.after(() => rmSync(sysfs, { recursive: true, force: true }));
  mkdirSync(join(sysfs, "bus", "pci", "devices", "0000:af:06.2", "physfn", "net", "eth-m"), { recursive: true });
  mkdirSync(join(sysfs, "bus", "pci", "devices", "0000:af:06.3"), { recursive: true });
  const add = new AddFlow({ ...f.deps, masterOf: masterLookup(new NetlinkHost(), node, sysfs) }, f.memo);
  const req = (over: Partial<AddRequest>): AddRequest => ({
    containerID: "c-web",
    ifName: "net1",
    netns: pod.path,
    podName: "web",
    podNamespace: "default",
    podUid: "u1",
    defaultIPv4IPPool: ["other", "master"],
    defaultIPv6IPPool: ["other6", "master6"],
    cleanGateway: false,
    ...over,
  });
  return { f, add, req, node, pod };
}

describe("issue 18 match_master_subnet: the pool whose subnet holds the master's address (kernel)", () => {
  it("MMS-7 with match_master_subnet the ADD draws from the master's subnets, skipping the first pools", async (t) => {
    const { add, req } = lab(t);
    const res = await add.add(req({ matchMasterSubnet: true }), log);
    assert.deepEqual(
      res.ips.map((i) => [i.address, i.pool]),
      [
        ["192.0.2.10/24", "master"],
        ["2001:db8:ff::10/64", "master6"],
      ],
    );
  });

  it("MMS-8 without it the first pools are used, as before", async (t) => {
    const { add, req } = lab(t);
    const res = await add.add(req({}), log);
    assert.deepEqual(
      res.ips.map((i) => i.pool),
      ["other", "other6"],
    );
  });

  it("MMS-9 no pool in the master's subnet: every pool filtered, with the master named", async (t) => {
    const { add, req, f } = lab(t);
    await assert.rejects(
      add.add(req({ matchMasterSubnet: true, defaultIPv4IPPool: ["other"], defaultIPv6IPPool: [] }), log),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "ERR_ALL_POOLS_FILTERED");
        assert.match(
          err.message,
          /all IPv4 IPPools \[other\] of net1 filtered out: filterPoolCandidatesByPfSubnet: the subnet 203\.0\.113\.0\/24 of IPPool other holds no address of the master interface eth-m \[192\.0\.2\.200 2001:db8:ff::2\]/,
        );
        return true;
      },
    );
    assert.deepEqual(f.writers.held("u1"), [], "nothing allocated");
  });

  it("MMS-10 a NIC without a master on the node is refused with the reason, nothing allocated", async (t) => {
    const { add, req, pod, f } = lab(t);
    ip("-n", pod.name, "link", "add", "net2", "type", "veth", "peer", "name", "net2-p");
    const refused = async (ifName: string, reason: RegExp): Promise<void> => {
      await assert.rejects(add.add(req({ matchMasterSubnet: true, ifName }), log), (err: Error & { code?: string }) => {
        assert.equal(err.code, "ERR_MASTER_NOT_FOUND");
        assert.match(err.message, reason);
        return true;
      });
    };
    // A veth's IFLA_LINK is its peer in the pod's namespace: an index that must not be looked up on the node.
    await refused(
      "net2",
      /failed to find the master interface of NIC net2: net2 is a veth, not a macvlan, ipvlan or vlan/,
    );
    await refused(
      "net3",
      /failed to find the master interface of NIC net3: no interface net3 in \/var\/run\/netns\/spt-s2-/,
    );
    assert.deepEqual(f.writers.held("u1"), []);
  });

  it("MMS-11 an SR-IOV VF: the PF behind the netconf's deviceID is the master", async (t) => {
    const { add, req, pod } = lab(t);
    // The VF stands in as a veth: a VF has no parent link either, only its PCI address says where it comes from.
    ip("-n", pod.name, "link", "add", "net2", "type", "veth", "peer", "name", "net2-p");
    const res = await add.add(req({ matchMasterSubnet: true, ifName: "net2", deviceID: "0000:af:06.2" }), log);
    assert.deepEqual(
      res.ips.map((i) => i.pool),
      ["master", "master6"],
    );
  });

  it("MMS-12 a VF without a PF, or a deviceID that is no PCI address, is refused with the reason", async (t) => {
    const { add, req, f } = lab(t);
    const refused = async (deviceID: string, reason: RegExp): Promise<void> => {
      await assert.rejects(
        add.add(req({ matchMasterSubnet: true, deviceID }), log),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, "ERR_MASTER_NOT_FOUND");
          assert.match(err.message, reason);
          return true;
        },
      );
    };
    await refused("0000:af:06.3", /NIC net1: no PF behind VF 0000:af:06\.3 \(ENOENT\)/);
    await refused("../../etc", /NIC net1: deviceID '\.\.\/\.\.\/etc' is not a PCI address/);
    assert.deepEqual(f.writers.held("u1"), []);
  });
});
