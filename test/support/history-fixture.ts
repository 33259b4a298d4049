// The cluster the address-history tests share: one node whose agent records IP Events with
// a budget large enough that nothing is dropped (the default is tested by the storm), a
// pool `web`, and a kubeconfig file for `spiderpoolctl history`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../src/kube/index.ts";
import { createPod, createPool, startCluster, type Cluster } from "./cluster.ts";
import { until } from "./wait.ts";

/** The annotation that makes a pod draw from `web`. */
export const WEB_ANNOTATIONS = { "ipam.spidernet.io/ippool": '{"ipv4":["web"]}' };

export interface HistoryFixture {
  c: Cluster;
  /** A directory of the test's own, removed by close(). */
  dir: string;
  kubeconfig: string;
  /** A Pending pod on node1 drawing from `web`, once the agent's cache has it. */
  pod(name: string): Promise<KubeObject>;
  close(): Promise<void>;
}

export async function historyFixture(prefix: string): Promise<HistoryFixture> {
  const c = await startCluster({ nodes: 1, config: { ipEventsBurst: 100, ipEventsPerMinute: 600 } });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const close = async (): Promise<void> => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, c.h.server.kubeconfig());
    await createPool(c.h, "web", { subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.10-192.0.2.20"] });
    const agent = c.nodes[0]!.agent;
    const pod = async (name: string): Promise<KubeObject> => {
      const p = await createPod(c.h, { name, node: "node1", phase: "Pending", annotations: WEB_ANNOTATIONS });
      await until(
        async () => (await agent.cache.getPod("default", name))?.metadata.uid === p.metadata?.uid,
        `the agent's cache holding ${name}`,
        { timeoutMs: 15_000, intervalMs: 10 },
      );
      return p;
    };
    return { c, dir, kubeconfig, pod, close };
  } catch (err) {
    await close();
    throw err;
  }
}
