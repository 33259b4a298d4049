// The CNI environment is validated as the CNI spec says (code 4) before anything is
// allocated: issue 16 found ADDs that succeeded without CNI_CONTAINERID, CNI_NETNS or
// CNI_PATH, and an interface name of 1 000 bytes stored in a SpiderEndpoint.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { after, before, describe, it } from "node:test";
import { ENDPOINTS } from "../../src/agent/cache.ts";
import { isNotFound } from "../../src/kube/index.ts";
import { cni, createPod, createPool, shimBuilt, startCluster, type Cluster } from "../support/cluster.ts";

const skip = shimBuilt() ? false : "the shim is not built (gcc missing)";

describe("CNI environment through the shim", { skip }, () => {
  let c: Cluster;
  let socket: string;
  before(async () => {
    c = await startCluster({ nodes: 1 });
    socket = c.nodes[0]?.socket as string;
    await createPool(c.h, "v4", { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.20"], default: true });
    await createPod(c.h, { name: "envpod", node: "node1" });
  });
  after(() => c.close());

  const noEndpoint = async (): Promise<void> => {
    await assert.rejects(c.h.client.get(ENDPOINTS, "envpod", "default"), (e: unknown) => isNotFound(e));
  };

  for (const [name, env] of [
    ["CNI_CONTAINERID", { CNI_CONTAINERID: undefined }],
    ["CNI_NETNS", { CNI_NETNS: undefined }],
    ["CNI_PATH", { CNI_PATH: undefined }],
  ] as const) {
    it(`ADD without ${name} is refused with code 4, nothing allocated`, async () => {
      const r = await cni({ command: "ADD", socket, pod: { name: "envpod" }, env });
      assert.equal(r.code, 1);
      assert.equal(r.json?.["code"], 4, r.stdout);
      assert.match(String(r.json?.["details"]), new RegExp(`${name} is required for ADD`));
      await noEndpoint();
    });
  }

  it("an interface name the kernel would refuse is code 4, and never stored", async () => {
    for (const ifName of ["x".repeat(1000), "eth/0", ".."]) {
      const r = await cni({ command: "ADD", socket, pod: { name: "envpod" }, ifName });
      assert.equal(r.code, 1);
      assert.equal(r.json?.["code"], 4, r.stdout);
    }
    await noEndpoint();
  });

  it("the agent's socket is 0600, in a directory only root may write", () => {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(socket)).mode & 0o022, 0);
  });

  it("a complete environment still allocates", async () => {
    const r = await cni({ command: "ADD", socket, pod: { name: "envpod" } });
    assert.equal(r.code, 0, r.stdout);
  });
});
