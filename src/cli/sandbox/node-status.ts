/**
 * A simulated node's Node object and its Ready condition. The kubelet reports the node
 * NotReady when the network plugin is not ready, which for these nodes means their
 * spiderpool-agent does not answer on its socket (what a kubelet sees when the CNI's daemon
 * is gone).
 */
import { connect } from "node:net";

export function nodeObject(name: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", ...labels },
    },
    spec: {},
  };
}

export function nodeStatus(
  hostIP: string,
  ready: boolean,
  why: string,
  heartbeat: string,
  since: string,
): Record<string, unknown> {
  return {
    addresses: [{ type: "InternalIP", address: hostIP }],
    conditions: [
      {
        type: "Ready",
        status: ready ? "True" : "False",
        reason: ready ? "KubeletReady" : "KubeletNotReady",
        message: ready ? "kubelet is posting ready status" : why,
        lastHeartbeatTime: heartbeat,
        lastTransitionTime: since,
      },
    ],
    nodeInfo: { kubeletVersion: "v1.31.0-spiderpool-sandbox", operatingSystem: "linux", architecture: "amd64" },
  };
}

/** Whether a node is Ready by its Node object (the scheduler's and the DaemonSet controller's view). */
export function isNodeReady(node: object): boolean {
  const status = (node as { status?: { conditions?: Array<{ type?: string; status?: string }> } }).status;
  return (status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Undefined when the agent accepts a connection on its socket, else why not. */
export function networkNotReady(socket: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`spiderpool-agent did not answer on ${socket}`), timeoutMs);
    s.once("connect", () => done(undefined));
    s.once("error", (err: NodeJS.ErrnoException) =>
      done(
        `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:spiderpool-agent not serving on ${socket}: ${err.code ?? err.message}`,
      ),
    );
  });
}
