// The coordinator role wired into spiderpool-agent: the shim installed as `coordinator` reaches
// the agent, which answers from its SpiderCoordinator informer (phase Synced, the pod's
// default-route-nic annotation) and plans against the node it was given (FakeHost here).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { SpiderpoolAgent } from "../../src/agent/agent.ts";
import { loadAgentConfig } from "../../src/agent/config.ts";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../../src/api/coordinator.ts";
import type { HostOp, NetnsRef } from "../../src/host/model.ts";
import { Resources } from "../../src/kube/index.ts";
import { resourceTypeOf } from "../../src/kube/resources.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { createPod, SHIM, shimBuilt } from "../support/cluster.ts";
import { FakeHost } from "../support/fake-host.ts";

const COORDINATORS = resourceTypeOf(SpiderCoordinatorKind);
const HOST: NetnsRef = { kind: "host" };

function runShim(socket: string, command: string, netns: string, pod: string, extra: Record<string, unknown> = {}) {
  const stdin = JSON.stringify({
    cniVersion: "1.0.0",
    name: "macvlan-ens192",
    type: "coordinator",
    // Our shim finds its agent through this key wherever it runs; the coordinator ignores it.
    ipam: { ipam_unix_socket_path: socket },
    prevResult: { cniVersion: "1.0.0", ips: [{ address: "192.0.2.10/24" }], dns: {} },
    ...extra,
  });
  return new Promise<{ code: number | null; out: Record<string, unknown> | undefined }>((resolve) => {
    const child = spawn(SHIM.replace(/spiderpool$/, "coordinator"), [], {
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: "0123456789abcdef",
        CNI_NETNS: netns,
        CNI_IFNAME: "eth0",
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}`,
        CNI_PATH: "/opt/cni/bin",
      },
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("close", (code) => resolve({ code, out: stdout.trim() === "" ? undefined : JSON.parse(stdout) }));
    child.stdin.end(stdin);
  });
}

describe("coordinator role in spiderpool-agent", { skip: !shimBuilt() && "the shim is not built" }, () => {
  let h: Harness;
  let agent: SpiderpoolAgent;
  let dir: string;
  const fake = new FakeHost();
  const podNs = fake.addNetns("/var/run/netns/pod-a");
  const socket = () => join(dir, "agent.sock");

  before(async () => {
    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "coord-agent-"));
    await h.client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
    const scc = await h.client.create<SpiderCoordinator>(COORDINATORS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { mode: "auto", podCIDRType: "cluster", hijackCIDR: ["169.254.0.0/16"], tunePodRoutes: true },
    });
    await h.client.updateStatus(COORDINATORS, { ...scc, status: { phase: "NotReady", reason: "not yet" } });
    await createPod(h, { name: "pod-a", node: "node1" });
    const lan = fake.addNetns("lan");
    const ops: HostOp[] = [
      { op: "link.addVeth", ns: lan, name: "l0", mtu: 1500, mac: "", peerName: "ens192", peerNs: HOST, peerMac: "" },
      { op: "link.addVeth", ns: lan, name: "l1", mtu: 1500, mac: "", peerName: "eth0", peerNs: podNs, peerMac: "" },
      ...["l0", "l1"].map((name): HostOp => ({ op: "link.set", ns: lan, name, up: true })),
      { op: "link.set", ns: HOST, name: "ens192", up: true },
      { op: "link.set", ns: podNs, name: "eth0", up: true },
      { op: "addr.add", ns: HOST, dev: "ens192", cidr: "192.0.2.2/24" },
      { op: "addr.add", ns: podNs, dev: "eth0", cidr: "192.0.2.10/24" },
    ];
    assert.equal(await fake.apply(ops), undefined);
    const config = {
      ...loadAgentConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "agent",
        SPIDERPOOL_NODE_NAME: "node1",
      }),
      socketPath: join(dir, "agent.sock"),
    };
    agent = new SpiderpoolAgent({
      config,
      client: h.newClient(),
      logger: pino({ level: "silent" }),
      healthPort: 0,
      metricPort: 0,
      hostNetwork: { network: fake, ns: HOST },
    });
    await agent.start();
  });

  after(async () => {
    await agent?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("NN-1 refuses while the SpiderCoordinator is not Synced, then ADD and DEL run", async () => {
    const refused = await runShim(socket(), "ADD", "/var/run/netns/pod-a", "pod-a");
    assert.equal(refused.code, 1);
    assert.equal(
      refused.out?.["msg"],
      'failed to GetCoordinatorConfig: [GET /coordinator/config][500] getCoordinatorConfigFailure  "spidercoordinator: default no ready"',
    );
    const scc = await h.client.get<SpiderCoordinator>(COORDINATORS, "default");
    await h.client.updateStatus(COORDINATORS, {
      ...scc,
      status: { phase: "Synced", overlayPodCIDR: ["10.244.0.0/16"], serviceCIDR: ["10.96.0.0/12"] },
    });
    let added: Awaited<ReturnType<typeof runShim>> | undefined;
    await eventually(
      async () => {
        added = await runShim(socket(), "ADD", "/var/run/netns/pod-a", "pod-a");
        return added.code === 0;
      },
      5000,
      "the informer to see Synced",
    );
    assert.deepEqual(added?.out, { cniVersion: "1.0.0", ips: [{ address: "192.0.2.10/24" }], dns: {} });
    const node = await fake.observe(HOST);
    assert.ok(node.links.some((l) => l.name === "veth0123456789a"));
    const pod = await fake.observe(podNs);
    assert.ok(
      pod.routes.some(
        (r) => r.table === 254 && r.dst === "10.96.0.0/12" && r.gateway === "192.0.2.2" && r.dev === "veth0",
      ),
    );
    const del = await runShim(socket(), "DEL", "/var/run/netns/pod-a", "pod-a");
    assert.equal(del.code, 0);
    assert.ok(!(await fake.observe(HOST)).links.some((l) => l.name === "veth0123456789a"));
    const metrics = await agent.metrics.registry.metrics();
    assert.match(
      metrics,
      /spiderpool_ts_plugin_calls_total\{plugin="coordinator",command="ADD",outcome="success"[^}]*\} 1/,
    );
  });

  it("NN-27 DEL while the agent is unreachable fails with failed to GetCoordinatorConfig (from the shim)", async () => {
    const r = await runShim(join(dir, "missing.sock"), "DEL", "/var/run/netns/pod-a", "pod-a");
    assert.equal(r.code, 1);
    assert.equal(r.out?.["msg"], "failed to GetCoordinatorConfig");
    assert.match(String(r.out?.["details"]), /spiderpool-agent unreachable at .*missing\.sock/);
  });

  it("a pod unknown to the agent", async () => {
    const r = await runShim(socket(), "ADD", "/var/run/netns/pod-a", "ghost");
    assert.equal(r.code, 1);
    assert.match(String(r.out?.["msg"]), /failed to get pod default\/ghost/);
  });
});
