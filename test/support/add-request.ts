// The agent's ADD request as the CNI handler builds it, for tests that call the IPAM service
// or the ADD flow directly: a pod in `default` on eth0 with no default pools unless told.
import type { AddRequest } from "../../src/agent/add-flow.ts";
import type { KubeObject } from "../../src/kube/client.ts";

export function addRequest(podName: string, podUid: string, over: Partial<AddRequest> = {}): AddRequest {
  return {
    containerID: `ctr-${podName}`,
    ifName: "eth0",
    netns: "/var/run/netns/x",
    podName,
    podNamespace: "default",
    podUid,
    defaultIPv4IPPool: [],
    defaultIPv6IPPool: [],
    cleanGateway: false,
    ...over,
  };
}

/** The same for a pod object read from the API server. */
export const addRequestFor = (pod: KubeObject, over: Partial<AddRequest> = {}): AddRequest =>
  addRequest(String(pod.metadata?.name), String(pod.metadata?.uid), over);
