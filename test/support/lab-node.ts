// What the end-to-end tests that run Debian's macvlan against an agent share: whether this
// machine can run them at all, and an agent whose node is a namespace of the lab (its host
// network the netlink executor on that namespace's path), torn down with the lab.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import pino from "pino";
import { SpiderpoolAgent } from "../../src/agent/agent.ts";
import { loadAgentConfig, type AgentConfig } from "../../src/agent/config.ts";
import { findPlugin, labUnavailable, type NetLab } from "../../src/cli/netlab.ts";
import { NetlinkHost } from "../../src/host/netlink-host.ts";
import type { KubeObject } from "../../src/kube/index.ts";
import type { Harness } from "./apiserver.ts";
import { shimBuilt } from "./cluster.ts";

/** Debian's macvlan plugin, when installed. */
export const macvlan = findPlugin("macvlan");

async function hostUnavailable(): Promise<string | undefined> {
  try {
    new NetlinkHost();
    return undefined;
  } catch (err) {
    return `the host addon is not loadable: ${(err as Error).message}`;
  }
}

/** Why the `name` e2e cannot run here (said on stdout, since a skip alone hides it), or undefined. */
export async function labNodeUnavailable(name: string): Promise<string | undefined> {
  const why = !shimBuilt()
    ? "the shim is not built (gcc missing)"
    : macvlan === undefined
      ? "Debian's macvlan plugin is not installed"
      : ((await labUnavailable()) ?? (await hostUnavailable()));
  if (why !== undefined) process.stdout.write(`# ${name} e2e not run: ${why}\n`);
  return why;
}

/** An agent for node1 whose host network is the lab namespace at `nodePath`, serving on `socket`. */
export function labNodeAgent(
  h: Harness,
  nodePath: string,
  socket: string,
  config: Partial<AgentConfig> = {},
): SpiderpoolAgent {
  return new SpiderpoolAgent({
    config: {
      ...loadAgentConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "agent",
        SPIDERPOOL_NODE_NAME: "node1",
      }),
      socketPath: socket,
      ...config,
    },
    client: h.newClient(),
    logger: pino({ level: process.env["AGENT_LOG"] ?? "silent" }),
    healthPort: 0,
    metricPort: 0,
    hostNetwork: { network: new NetlinkHost(), ns: { kind: "path", path: nodePath } },
  });
}

/** Stops what `before` started, whichever parts it got to, and checks the lab left no namespace. */
export async function stopLabNode(
  agent: SpiderpoolAgent | undefined,
  h: Harness | undefined,
  dir: string | undefined,
  lab: NetLab,
): Promise<void> {
  await agent?.stop();
  await h?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(await lab.cleanup(), [], "every namespace removed");
}

/** The CNI_ARGS a kubelet passes for `pod`. */
export const cniArgs = (pod: KubeObject): string =>
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.metadata?.name};K8S_POD_UID=${pod.metadata?.uid}`;
