// End to end as root, NN-29: IP-conflict and gateway detection in the IPAM ADD (spec §1.12).
// Debian's macvlan with our shim as its `spiderpool` IPAM, run as a runtime would inside a
// "node" namespace the test creates, against an agent with both switches on. A "gateway"
// namespace answers ARP/NDP for the pools' gateways; a "squatter" namespace, a macvlan on the
// same parent, holds the address the pool hands out; an "observer" namespace holds a stale
// neighbour entry the announcement must correct. Nothing touches the machine's own namespace.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, afterEach, before, describe, it } from "node:test";
import type { SpiderpoolAgent } from "../../src/agent/agent.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { NetLab, runPlugin } from "../../src/cli/netlab.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { createPod, createPool, ctlCheck, records, SHIM } from "../support/cluster.ts";
import { cniArgs, labNodeAgent, labNodeUnavailable, macvlan, stopLabNode } from "../support/lab-node.ts";

const exec = promisify(execFile);
const why = await labNodeUnavailable("detection");

const ip = (...a: string[]) => exec("ip", a);
const ipj = async <T>(...argv: string[]): Promise<T> => JSON.parse((await exec("ip", ["-j", ...argv])).stdout) as T;

describe(
  "NN-29 IP-conflict and gateway detection (macvlan → spiderpool) in network namespaces",
  { skip: why ?? false },
  () => {
    const p = `spt-de-${randomBytes(2).toString("hex")}`;
    const NODE = `${p}-n`;
    const GW = `${p}-g`;
    const SQUAT = `${p}-s`;
    const OBS = `${p}-o`;
    const lab = new NetLab(p);
    let h: Harness;
    let agent: SpiderpoolAgent;
    let dir: string;
    let socket: string;
    let squatterMac: string;

    /** A macvlan on the node's parent, moved into `ns` and up. */
    async function macvlanIn(ns: string, name: string): Promise<string> {
      await ip("-n", NODE, "link", "add", "link", "eth-m", "name", name, "type", "macvlan", "mode", "bridge");
      await ip("-n", NODE, "link", "set", name, "netns", ns);
      await ip("-n", ns, "link", "set", name, "up");
      const [l] = await ipj<{ address: string }[]>("-n", ns, "link", "show", name);
      return l?.address ?? "";
    }

    before(async () => {
      await lab.addNode(NODE);
      await lab.addNamespace(GW);
      await ip("-n", NODE, "link", "set", "eth-m-p", "netns", GW);
      await ip("-n", GW, "link", "set", "eth-m-p", "up");
      await ip("-n", GW, "addr", "add", "192.0.2.1/24", "dev", "eth-m-p");
      await ip("-n", GW, "addr", "add", "2001:db8:de::1/64", "dev", "eth-m-p", "nodad");
      await lab.addNamespace(SQUAT);
      squatterMac = await macvlanIn(SQUAT, "sq0");
      await ip("-n", SQUAT, "addr", "add", "192.0.2.10/24", "dev", "sq0");
      await ip("-n", SQUAT, "addr", "add", "2001:db8:de::40/64", "dev", "sq0", "nodad");
      await lab.addNamespace(OBS);
      await macvlanIn(OBS, "ob0");
      await ip("-n", OBS, "addr", "add", "2001:db8:de::99/64", "dev", "ob0", "nodad");

      h = await startApiServer();
      dir = mkdtempSync(join(tmpdir(), "detect-e2e-"));
      socket = join(dir, "agent.sock");
      await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
      // One address each where the test needs to know which one the pod gets.
      await createPool(h, "de-conflict", { subnet: "192.0.2.0/24", ips: ["192.0.2.10"], gateway: "192.0.2.1" });
      await createPool(h, "de-conflict6", { subnet: "2001:db8:de::/64", ips: ["2001:db8:de::40"] });
      await createPool(h, "de-v6", { subnet: "2001:db8:de::/64", ips: ["2001:db8:de::10-2001:db8:de::11"] });
      await createPool(h, "de-nogw", { subnet: "192.0.2.0/24", ips: ["192.0.2.30"], gateway: "192.0.2.254" });
      await createPool(h, "de-ok4", { subnet: "192.0.2.0/24", ips: ["192.0.2.20"], gateway: "192.0.2.1" });
      await createPool(h, "de-ok6", {
        subnet: "2001:db8:de::/64",
        ips: ["2001:db8:de::20"],
        gateway: "2001:db8:de::1",
      });
      agent = labNodeAgent(h, lab.nsPath(NODE), socket, {
        enableIPConflictDetection: true,
        enableGatewayDetection: true,
      });
      await agent.start();
    });

    after(() => stopLabNode(agent, h, dir, lab));

    afterEach(async () => {
      const check = await ctlCheck(h);
      assert.equal(check.code, 0, check.report);
    });

    const add = (pod: KubeObject, ns: string) =>
      runPlugin({
        plugin: macvlan as string,
        command: "ADD",
        netconf: {
          cniVersion: "1.0.0",
          name: "macvlan-eth-m",
          type: "macvlan",
          master: "eth-m",
          mode: "bridge",
          ipam: { type: "spiderpool", ipam_unix_socket_path: socket },
        },
        containerID: `${String(pod.metadata?.name)}0123456789abcdef`.slice(0, 20),
        netns: lab.nsPath(ns),
        ifName: "eth0",
        args: cniArgs(pod),
        cniPath: dirname(SHIM),
        inNamespace: NODE,
      });

    async function held(uid: string): Promise<string[]> {
      const pools = (await h.client.list<SpiderIPPool>(POOLS)).items;
      return pools.flatMap((pl) =>
        Object.entries(records(pl))
          .filter(([, r]) => r.podUid === uid)
          .map(([a]) => a),
      );
    }
    const endpoint = (name: string) => h.client.get(ENDPOINTS, name, "default").catch(() => undefined);
    const metric = async (labels: Record<string, string>): Promise<number> => {
      const m = await agent.metrics.detectionProbes.get();
      return (
        m.values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
          ?.value ?? 0
      );
    };

    it("NN-29 AC-114 another host holding the address: ADD fails with upstream's text and both families go back to their pools", async () => {
      const pod = await createPod(h, {
        name: "de-a",
        node: "node1",
        annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["de-conflict"],"ipv6":["de-v6"]}' },
      });
      const A = `${p}-a`;
      await lab.addNamespace(A);
      const r = await add(pod, A);
      assert.notEqual(r.code, 0, r.stdout);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.equal(
        err.msg,
        `ip conflict: pod's interface eth0 with an conflicting ip 192.0.2.10, 192.0.2.10 is located at ${squatterMac}`,
      );
      assert.equal(err.code, 999);
      assert.deepEqual(await held(String(pod.metadata?.uid)), [], "every address of the pod back in its pool");
      assert.equal(await endpoint("de-a"), undefined, "no SpiderEndpoint left");
      assert.equal(await metric({ family: "ipv4", purpose: "conflict", outcome: "conflict" }), 1);
    });

    it("NN-29 an IPv6 address another host holds: found by NDP once the link-local address is ready", async () => {
      const pod = await createPod(h, {
        name: "de-d",
        node: "node1",
        annotations: { "ipam.spidernet.io/ippool": '{"ipv6":["de-conflict6"]}' },
      });
      const D = `${p}-d`;
      await lab.addNamespace(D);
      const r = await add(pod, D);
      assert.notEqual(r.code, 0, r.stdout);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.equal(
        err.msg,
        `ip conflict: pod's interface eth0 with an conflicting ip 2001:db8:de::40, 2001:db8:de::40 is located at ${squatterMac}`,
      );
      assert.deepEqual(await held(String(pod.metadata?.uid)), []);
      assert.equal(await endpoint("de-d"), undefined);
    });

    it("NN-29 a gateway nobody answers for: `gateway <gw> is unreachable`, the address back in its pool", async () => {
      const pod = await createPod(h, {
        name: "de-b",
        node: "node1",
        annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["de-nogw"]}' },
      });
      const B = `${p}-b`;
      await lab.addNamespace(B);
      const r = await add(pod, B);
      assert.notEqual(r.code, 0, r.stdout);
      const err = JSON.parse(r.stdout) as { code: number; msg: string };
      assert.equal(err.msg, "gateway 192.0.2.254 is unreachable");
      assert.equal(err.code, 11);
      assert.deepEqual(await held(String(pod.metadata?.uid)), []);
      assert.equal(await endpoint("de-b"), undefined);
    });

    it("NN-29 gateways that answer, no conflict: ADD succeeds and the addresses are announced", async () => {
      const pod = await createPod(h, {
        name: "de-c",
        node: "node1",
        annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["de-ok4"],"ipv6":["de-ok6"]}' },
      });
      // A stale entry for the pod's IPv6 address: only the unsolicited NA (override) corrects it.
      await ip(
        "-n",
        OBS,
        "neigh",
        "add",
        "2001:db8:de::20",
        "lladdr",
        "02:00:00:00:de:ad",
        "dev",
        "ob0",
        "nud",
        "stale",
      );
      const C = `${p}-c`;
      await lab.addNamespace(C);
      const r = await add(pod, C);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(await lab.addresses(C, "eth0"), ["192.0.2.20/24", "2001:db8:de::20/64"]);
      assert.deepEqual((await held(String(pod.metadata?.uid))).sort(), ["192.0.2.20", "2001:db8:de::20"]);
      const [eth0] = await ipj<{ address: string }[]>("-n", C, "link", "show", "eth0");
      const [entry] = await ipj<{ lladdr?: string }[]>("-n", OBS, "neigh", "show", "2001:db8:de::20", "dev", "ob0");
      assert.equal(entry?.lladdr, eth0?.address, "the observer's neighbour entry now names the pod's MAC");
      // The pods before this one probed IPv4 conflicts too (and found none for de-b).
      assert.equal(await metric({ family: "ipv4", purpose: "conflict", outcome: "clear" }), 2);
      assert.equal(await metric({ family: "ipv6", purpose: "conflict", outcome: "clear" }), 1);
      for (const family of ["ipv4", "ipv6"])
        assert.equal(await metric({ family, purpose: "gateway", outcome: "reachable" }), 1, family);
    });
  },
);
