// The sandbox's kubelet stand-in against the embedded API server and a real agent: pods bound
// to its node get addresses through the CNI chain, their status and network-status; deletion
// runs DEL and lets the pod go; a failing ADD retries without leaking; the Node follows its agent.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import { NADS } from "../../src/cli/sandbox/resources.ts";
import type { NetworkAttachmentDefinition } from "../../src/api/nad.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { labUnavailable, NetLab } from "../../src/cli/netlab.ts";
import { CniRuntime } from "../../src/cli/sandbox/cni-runtime.ts";
import { Kubelet } from "../../src/cli/sandbox/kubelet.ts";
import type { NetConfList } from "../../src/cli/sandbox/network-plan.ts";
import { isNodeReady } from "../../src/cli/sandbox/node-status.ts";
import { checkConsistency } from "../../src/ipam/consistency.ts";
import { ApiError, Informer, Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool, SHIM, shimBuilt, startAgent, type Node } from "../support/cluster.ts";

const MACVLAN: NetConfList = {
  cniVersion: "1.0.0",
  name: "macvlan-eth-m",
  plugins: [{ type: "macvlan", master: "eth-m", mode: "bridge", ipam: { type: "spiderpool" } }],
};
const log = pino({ level: process.env["AGENT_LOG"] ?? "silent" });

interface Pod extends KubeObject {
  metadata: NonNullable<KubeObject["metadata"]> & { annotations?: Record<string, string> };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: Array<{ ip: string }>;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }>;
  };
}

async function consistent(h: Harness): Promise<{ ok: boolean; problems: string[] }> {
  return checkConsistency({
    pools: (await h.client.listAll<SpiderIPPool>(POOLS)).items,
    pods: (await h.client.listAll(Resources.pods)).items as never,
    endpoints: (await h.client.listAll<SpiderEndpoint>(ENDPOINTS)).items,
  });
}

async function gone(h: Harness, ns: string, name: string): Promise<boolean> {
  try {
    await h.client.get(Resources.pods, name, ns);
    return false;
  } catch (err) {
    return err instanceof ApiError && err.status === 404;
  }
}

function podWith(name: string, annotations: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations },
    spec: { nodeName: "node1", terminationGracePeriodSeconds: 30, containers: [{ name: "app", image: "pause" }] },
  };
}

async function setUp(mode: "ipam" | "netns", lab?: NetLab, nodeNs?: string) {
  const h = await startApiServer({ podDeletion: "graceful" });
  const dir = mkdtempSync(join(tmpdir(), "kubelet-"));
  const nads = new Informer<NetworkAttachmentDefinition>(h.newClient(), NADS);
  nads.start();
  await nads.waitForSync();
  const kubelet = new Kubelet({
    client: h.newClient(),
    node: "node1",
    hostIP: "192.0.2.2",
    runtime: new CniRuntime({
      mode,
      shimDir: dirname(SHIM),
      socket: join(dir, "node1.sock"),
      ...(nodeNs !== undefined ? { nodeNamespace: nodeNs } : {}),
    }),
    defaultNetwork: MACVLAN,
    nads,
    ...(lab !== undefined ? { lab } : {}),
    nsPrefix: lab?.prefix ?? "spt-sb-ipam",
    log,
    backoff: { initialMs: 50, maxMs: 400 },
    heartbeatMs: 100,
  });
  await kubelet.start();
  let agent: Node | undefined = await startAgent(h, "node1", dir);
  return {
    h,
    kubelet,
    stopAgent: async () => {
      await agent?.agent.stop();
      agent = undefined;
    },
    close: async () => {
      await kubelet.stop();
      await nads.stop();
      await agent?.agent.stop();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("sandbox kubelet, IPAM only", { skip: shimBuilt() ? false : "the shim is not built" }, () => {
  let env: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    env = await setUp("ipam");
    await createPool(env.h, "kl-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], gateway: "192.0.2.1" });
  });
  after(async () => env?.close());

  it("SB-1: a bound pod gets Running, podIP from its pool and network-status; deleting it frees the address", async () => {
    const { h } = env;
    await h.client.create(Resources.pods, podWith("a", { "ipam.spidernet.io/ippool": '{"ipv4":["kl-v4"]}' }));
    let pod: Pod | undefined;
    await eventually(
      async () => {
        pod = await h.client.get<Pod>(Resources.pods, "a", "default");
        return pod.status?.phase === "Running";
      },
      15_000,
      "pod a Running",
    );
    assert.match(pod?.status?.podIP ?? "", /^192\.0\.2\.(1\d|20)$/);
    assert.deepEqual(pod?.status?.podIPs, [{ ip: pod?.status?.podIP }]);
    const status = JSON.parse(pod?.metadata.annotations?.["k8s.v1.cni.cncf.io/network-status"] ?? "[]") as unknown[];
    assert.deepEqual(status, [
      { name: "macvlan-eth-m", interface: "eth0", ips: [pod?.status?.podIP], default: true, dns: {} },
    ]);
    assert.equal((await h.client.get<SpiderIPPool>(POOLS, "kl-v4")).status?.allocatedIPCount, 1);

    // Graceful: the pod stays until the kubelet has run DEL, then goes.
    await h.client.delete(Resources.pods, "a", { namespace: "default" });
    await eventually(() => gone(h, "default", "a"), 15_000, "pod a gone");
    await eventually(
      async () => ((await h.client.get<SpiderIPPool>(POOLS, "kl-v4")).status?.allocatedIPCount ?? 0) === 0,
      10_000,
      "address released",
    );
    assert.equal((await h.client.listAll(ENDPOINTS, { namespace: "default" })).items.length, 0);
  });

  it("SB-2: a failing ADD is an Event and ContainerCreating, retried without leaking, and succeeds once the pool exists", async () => {
    const { h } = env;
    await h.client.create(Resources.pods, podWith("b", { "ipam.spidernet.io/ippool": '{"ipv4":["kl-later"]}' }));
    let pod: Pod | undefined;
    await eventually(
      async () => {
        pod = await h.client.get<Pod>(Resources.pods, "b", "default");
        return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ContainerCreating";
      },
      15_000,
      "ContainerCreating",
    );
    assert.equal(pod?.status?.phase, "Pending");
    assert.match(
      pod?.status?.containerStatuses?.[0]?.state?.waiting?.message ?? "",
      /Failed to create pod sandbox: .*kl-later/,
    );
    await eventually(
      async () => {
        const evs = (await h.client.listAll(Resources.events, { namespace: "default" })).items as Array<
          KubeObject & { reason?: string; count?: number; involvedObject?: { name?: string } }
        >;
        return evs.some(
          (e) => e.reason === "FailedCreatePodSandBox" && e.involvedObject?.name === "b" && (e.count ?? 0) >= 2,
        );
      },
      15_000,
      "a FailedCreatePodSandBox Event counted twice (retried)",
    );
    const report = await consistent(h);
    assert.ok(report.ok, report.problems.join("\n"));
    await createPool(env.h, "kl-later", { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.20"] });
    await eventually(
      async () => (await h.client.get<Pod>(Resources.pods, "b", "default")).status?.podIP === "198.51.100.10",
      15_000,
      "pod b Running with 198.51.100.10",
    );
    await h.client.delete(Resources.pods, "b", { namespace: "default" });
    await eventually(() => gone(h, "default", "b"), 15_000, "pod b gone");
  });

  it("SB-3: the Node is Ready while its agent serves and NotReady once it stops", async () => {
    const { h } = env;
    const ready = async (): Promise<boolean> => isNodeReady(await h.client.get<KubeObject>(Resources.nodes, "node1"));
    await eventually(ready, 5000, "node1 Ready");
    await env.stopAgent();
    await eventually(async () => !(await ready()), 5000, "node1 NotReady");
    const node = (await h.client.get(Resources.nodes, "node1")) as {
      status?: { conditions?: Array<{ message?: string }> };
    };
    assert.match(node.status?.conditions?.[0]?.message ?? "", /NetworkPluginNotReady/);
  });
});

const noLab = shimBuilt() ? await labUnavailable() : "the shim is not built";

/** The pod namespaces (not the node's) whose names start with `prefix`. */
async function listNamespaces(prefix: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("ip", ["netns", "list"]);
  return stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`) && n !== `${prefix}-n`);
}

describe("sandbox kubelet, macvlan in network namespaces", { skip: noLab ?? false }, () => {
  const lab = new NetLab(`spt-sb-${randomBytes(2).toString("hex")}`);
  const nodeNs = `${lab.prefix}-n`;
  let env: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    await lab.addNode(nodeNs);
    env = await setUp("netns", lab, nodeNs);
    await createPool(env.h, "kn-v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.30-192.0.2.40"], gateway: "192.0.2.1" });
    await createPool(env.h, "kn-net1", { subnet: "203.0.113.0/24", ips: ["203.0.113.30-203.0.113.40"] });
  });
  after(async () => {
    await env?.close();
    assert.deepEqual(await lab.cleanup(), []);
  });

  it("SB-4: eth0 and net1 (from the pod's NAD) hold the addresses; deletion removes the namespace", async () => {
    const { h } = env;
    await h.client.create(NADS, {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "second", namespace: "default" },
      spec: {
        config: JSON.stringify({
          cniVersion: "1.0.0",
          name: "second",
          plugins: [{ type: "macvlan", master: "eth-m", mode: "bridge", ipam: { type: "spiderpool" } }],
        }),
      },
    } as KubeObject);
    await h.client.create(
      Resources.pods,
      podWith("m", {
        "ipam.spidernet.io/ippools": '[{"interface":"eth0","ipv4":["kn-v4"]},{"interface":"net1","ipv4":["kn-net1"]}]',
        "k8s.v1.cni.cncf.io/networks": "second",
      }),
    );
    let pod: Pod | undefined;
    await eventually(
      async () => {
        pod = await h.client.get<Pod>(Resources.pods, "m", "default");
        return pod.status?.phase === "Running";
      },
      20_000,
      "pod m Running",
    );
    const sb = env.kubelet.sandboxOf(pod?.metadata.uid ?? "");
    assert.ok(sb !== undefined);
    assert.deepEqual(await lab.addresses(sb.netns, "eth0"), [`${pod?.status?.podIP}/24`]);
    assert.deepEqual(await lab.addresses(sb.netns, "net1"), ["203.0.113.30/24"]);
    const status = JSON.parse(pod?.metadata.annotations?.["k8s.v1.cni.cncf.io/network-status"] ?? "[]") as Array<{
      name: string;
      interface: string;
      ips: string[];
      mac?: string;
    }>;
    assert.deepEqual(
      status.map((s) => [s.name, s.interface, s.ips, typeof s.mac]),
      [
        ["macvlan-eth-m", "eth0", [pod?.status?.podIP], "string"],
        ["default/second", "net1", ["203.0.113.30"], "string"],
      ],
    );
    await h.client.delete(Resources.pods, "m", { namespace: "default" });
    await eventually(() => gone(h, "default", "m"), 20_000, "pod m gone");
    assert.equal((await lab.links(nodeNs)).length > 0, true);
    await assert.rejects(lab.links(sb.netns), "the pod's namespace is removed");
    const report = await consistent(h);
    assert.ok(report.ok, report.problems.join("\n"));
  });

  it("SB-22: net1's ADD failing undoes eth0's: no address stays allocated and no namespace stays while it retries", async () => {
    const { h } = env;
    await h.client.create(
      Resources.pods,
      podWith("f", {
        "ipam.spidernet.io/ippools":
          '[{"interface":"eth0","ipv4":["kn-v4"]},{"interface":"net1","ipv4":["kn-missing"]}]',
        "k8s.v1.cni.cncf.io/networks": "second",
      }),
    );
    await eventually(
      async () => {
        const evs = (await h.client.listAll(Resources.events, { namespace: "default" })).items as Array<
          KubeObject & { reason?: string; count?: number; message?: string; involvedObject?: { name?: string } }
        >;
        return evs.some((e) => e.involvedObject?.name === "f" && (e.count ?? 0) >= 3);
      },
      20_000,
      "three failed attempts",
    );
    const pod = await h.client.get<Pod>(Resources.pods, "f", "default");
    assert.match(pod.status?.containerStatuses?.[0]?.state?.waiting?.message ?? "", /kn-missing/);
    // Between two attempts nothing of the failed ones remains; a leak would accumulate and never let this hold.
    let last = "";
    await eventually(
      async () => {
        const sandbox = env.kubelet.sandboxOf(pod.metadata.uid ?? "");
        const allocated = Number((await h.client.get<SpiderIPPool>(POOLS, "kn-v4")).status?.allocatedIPCount ?? 0);
        const report = await consistent(h);
        const namespaces = await listNamespaces(lab.prefix);
        last = JSON.stringify({ sandbox, allocated, problems: report.problems, namespaces });
        return sandbox === undefined && allocated === 0 && report.ok && namespaces.length === 0;
      },
      10_000,
      "a moment between attempts with nothing left of them",
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${last}`);
    });
    await h.client.delete(Resources.pods, "f", { namespace: "default" });
    await eventually(() => gone(h, "default", "f"), 20_000, "pod f gone");
  });
});
