import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rdmaPodOf } from "./rdma-pods.ts";

const pod = (name: string, status: unknown, owner?: { apiVersion: string; kind: string; name: string }) => ({
  metadata: {
    namespace: "ai",
    name,
    ...(owner === undefined ? {} : { ownerReferences: [{ ...owner, uid: "u", controller: true }] }),
  },
  status,
});

describe("RDMA exporter: the pod behind an address", () => {
  const cache = {
    pods: {
      list: () => [
        pod("web-0", { podIPs: [{ ip: "192.0.2.10" }] }),
        pod(
          "trainer-0",
          { podIPs: [{ ip: "192.0.2.11" }] },
          { apiVersion: "apps/v1", kind: "StatefulSet", name: "trainer" },
        ),
      ],
    },
    pools: {
      list: () => [
        { status: { allocatedIPs: JSON.stringify({ "198.51.100.7": { pod: "ai/trainer-0", podUid: "u" } }) } },
        { status: { allocatedIPs: JSON.stringify({ "198.51.100.9": { pod: "ai/gone", podUid: "v" } }) } },
      ],
    },
  } as unknown as Parameters<typeof rdmaPodOf>[0];
  const podOf = rdmaPodOf(cache);

  it("by the pod's status addresses, with its controller as owner", () => {
    assert.deepEqual(podOf("192.0.2.10"), { namespace: "ai", name: "web-0" });
    assert.deepEqual(podOf("192.0.2.11"), {
      namespace: "ai",
      name: "trainer-0",
      ownerApiVersion: "apps/v1",
      ownerKind: "StatefulSet",
      ownerNamespace: "ai",
      ownerName: "trainer",
    });
  });

  it("a secondary NIC's address by the pools' records; a pod no longer cached by name only", () => {
    assert.equal(podOf("198.51.100.7")?.ownerName, "trainer");
    assert.deepEqual(podOf("198.51.100.9"), { namespace: "ai", name: "gone" });
    assert.equal(podOf("203.0.113.1"), undefined);
  });
});
