// NN-29 / AC-67, through the shim against an agent on the embedded API server: the KubeVirt
// live-migration exception reads the VirtualMachineInstanceMigration the pod names. The agent
// here has conflict detection on and no host access, so an ADD that would probe fails with
// that reason, and one that is exempt succeeds without touching any namespace.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, afterEach, before, describe, it } from "node:test";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import {
  KUBEVIRT_CRDS,
  KUBEVIRT_MIGRATION_CRD,
  VirtualMachineInstanceMigrations,
  VirtualMachineInstances,
  VirtualMachines,
} from "../support/kubevirt.ts";
import { cni, consistency, createPod, createPool, shimBuilt, startCluster, type Cluster } from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

/** `POST /v1/ipam/ip` on the agent's socket, as upstream's plugin calls it. */
function postIpamIp(socket: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method: "POST",
        path: "/v1/ipam/ip",
        headers: { "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

describe("NN-29 detection and KubeVirt live migration (agent, API server)", { skip }, () => {
  let c: Cluster;
  let socket: string;
  before(async () => {
    c = await startCluster({ nodes: 1, config: { enableIPConflictDetection: true } });
    socket = c.nodes[0]?.socket as string;
    for (const crd of [...KUBEVIRT_CRDS, KUBEVIRT_MIGRATION_CRD])
      await c.h.client.create(Resources.customresourcedefinitions, crd);
    await createPool(c.h, "vm-pool", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.19"], gateway: "192.0.2.1" });
  });
  after(() => c.close());
  afterEach(async () => assert.deepEqual((await consistency(c.h)).problems, []));

  it("NN-29 AC-67 a migration target is not probed while its VMIM exists; without the VMIM detection stays on", async () => {
    const vm: KubeObject = await c.h.client.create(VirtualMachines, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: "vm1", namespace: "default" },
      spec: {},
    });
    const vmi: KubeObject = await c.h.client.create(VirtualMachineInstances, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstance",
      metadata: {
        name: "vm1",
        namespace: "default",
        ownerReferences: [
          {
            apiVersion: "kubevirt.io/v1",
            kind: "VirtualMachine",
            name: "vm1",
            uid: vm.metadata?.uid,
            controller: true,
          },
        ],
      },
      spec: {},
    });
    const pod = await createPod(c.h, {
      name: "virt-launcher-vm1-target",
      node: "node1",
      owner: {
        apiVersion: "kubevirt.io/v1",
        kind: "VirtualMachineInstance",
        name: "vm1",
        uid: String(vmi.metadata?.uid),
        controller: true,
      },
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["vm-pool"]}', "kubevirt.io/migrationJobName": "mig-1" },
    });
    const add = () =>
      cni({ command: "ADD", socket, pod: { name: "virt-launcher-vm1-target", uid: String(pod.metadata?.uid) } });

    const probing = await add();
    assert.notEqual(probing.code, 0, "no VMIM: the ADD would probe, and this agent cannot");
    assert.match(
      String(probing.json?.["msg"]),
      /IP conflict or gateway detection is enabled, but this agent cannot reach pod namespaces/,
    );

    await c.h.client.create(VirtualMachineInstanceMigrations, {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachineInstanceMigration",
      metadata: { name: "mig-1", namespace: "default" },
      spec: { vmiName: "vm1" },
    });
    const exempt = await add();
    assert.equal(exempt.code, 0, exempt.stdout);
    assert.equal((exempt.json?.["ips"] as { address: string }[])[0]?.address, "192.0.2.10/24");
  });

  it("NN-29 upstream's JSON API answers with the detection flags as they apply to the pod", async () => {
    const pod = await createPod(c.h, {
      name: "api-pod",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["vm-pool"]}' },
    });
    const res = await postIpamIp(socket, {
      containerID: "c-api",
      ifName: "eth0",
      netNamespace: "/var/run/netns/api-pod",
      podNamespace: "default",
      podName: "api-pod",
      podUID: pod.metadata?.uid,
    });
    assert.equal(res.status, 200, res.body);
    const ips = (JSON.parse(res.body) as { ips: Record<string, unknown>[] }).ips;
    // Conflict detection on (this cluster's agent), gateway detection off: omitted, as go-swagger omits false.
    assert.equal(ips[0]?.["enableIPConflictDetection"], true);
    assert.equal("enableGatewayDetection" in (ips[0] ?? {}), false);
  });
});
