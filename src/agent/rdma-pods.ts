/**
 * Which pod an address belongs to, for the RDMA exporter's pod labels: the pods on this node
 * in the agent's cache by their status addresses, then the pools' records (which also hold
 * the addresses of secondary NICs, `net1`…, that the pod's status never shows), with the
 * pod's controller as its owner.
 */
import { parseAllocatedIPs } from "../ipam/pool-state.ts";
import type { PodRef } from "../rdma/model.ts";
import type { AgentCache } from "./cache.ts";

type Pod = ReturnType<AgentCache["pods"]["list"]>[number];

function refOf(pod: Pod): PodRef {
  const ref: PodRef = { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "" };
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
  if (owner !== undefined) {
    ref.ownerApiVersion = owner.apiVersion;
    ref.ownerKind = owner.kind;
    ref.ownerNamespace = ref.namespace;
    ref.ownerName = owner.name;
  }
  return ref;
}

export function rdmaPodOf(cache: Pick<AgentCache, "pods" | "pools">): (ip: string) => PodRef | undefined {
  return (ip) => {
    const pods = cache.pods.list();
    for (const pod of pods) {
      // The cache's Pod type keeps only what IPAM reads; the addresses are in the object all the same.
      const status = pod.status as { podIP?: string; podIPs?: Array<{ ip: string }> } | undefined;
      const ips = status?.podIPs?.map((p) => p.ip) ?? (status?.podIP === undefined ? [] : [status.podIP]);
      if (ips.includes(ip)) return refOf(pod);
    }
    for (const pool of cache.pools.list()) {
      const rec = parseAllocatedIPs(pool.status?.allocatedIPs).get(ip);
      if (rec === undefined) continue;
      const [namespace = "", name = ""] = rec.pod.split("/");
      const pod = pods.find((p) => p.metadata.namespace === namespace && p.metadata.name === name);
      return pod === undefined ? { namespace, name } : refOf(pod);
    }
    return undefined;
  };
}
