/**
 * Which pod an address belongs to, for the RDMA exporter's pod labels: the pods on this node
 * in the agent's cache, by their status addresses, with their controller as the owner.
 */
import type { PodRef } from "../rdma/model.ts";
import type { AgentCache } from "./cache.ts";

export function rdmaPodOf(cache: AgentCache): (ip: string) => PodRef | undefined {
  return (ip) => {
    for (const pod of cache.pods.list()) {
      // The cache's Pod type keeps only what IPAM reads; the addresses are in the object all the same.
      const status = pod.status as { podIP?: string; podIPs?: Array<{ ip: string }> } | undefined;
      const ips = status?.podIPs?.map((p) => p.ip) ?? (status?.podIP === undefined ? [] : [status.podIP]);
      if (!ips.includes(ip)) continue;
      const ref: PodRef = { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "" };
      const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
      if (owner !== undefined) {
        ref.ownerApiVersion = owner.apiVersion;
        ref.ownerKind = owner.kind;
        ref.ownerNamespace = pod.metadata.namespace ?? "";
        ref.ownerName = owner.name;
      }
      return ref;
    }
    return undefined;
  };
}
