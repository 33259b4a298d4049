// Controllers on an embedded API server with test timings, and the objects the agent
// would write (pool records, endpoints), so GC cases can be planted without a CNI call.
import pino from "pino";
import type { SpiderEndpoint } from "../../src/api/endpoint.ts";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { ENDPOINTS, SpiderpoolController } from "../../src/controller/controller.ts";
import { Resources, type KubeClient, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import type { Harness } from "./apiserver.ts";
import { records } from "./cluster.ts";
import { until } from "./wait.ts";

export const NS = "default";

/** A controller with sub-second GC and leader timings; `extra` overrides the environment. */
export function testController(
  h: Harness,
  name: string,
  extra: Record<string, string> = {},
  confPath?: string,
  client: KubeClient = h.newClient(),
): SpiderpoolController {
  return new SpiderpoolController({
    config: loadControllerConfig(
      {
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: name,
        SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS: "100",
        SPIDERPOOL_TS_GC_INTERVAL_MS: "600000",
        SPIDERPOOL_TS_LEADER_DURATION_MS: "1500",
        SPIDERPOOL_TS_LEADER_RENEW_DEADLINE_MS: "1000",
        SPIDERPOOL_TS_LEADER_RETRY_PERIOD_MS: "100",
        ...extra,
      },
      confPath,
    ),
    client,
    logger: pino({ level: process.env["CTRL_LOG"] ?? "silent" }),
    ports: { health: 0, metrics: 0, webhook: 0 },
  });
}

/** A scheduled pod in phase Running (unless `status` says otherwise), with `ip` as its podIP. */
export async function runningPod(
  h: Harness,
  name: string,
  ip: string | undefined,
  extra: { metadata?: object; spec?: object } = {},
  status: Record<string, unknown> = {},
): Promise<KubeObject> {
  const p = await h.client.create(Resources.pods, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, ...extra.metadata },
    spec: { nodeName: "node1", containers: [{ name: "c", image: "pause" }], ...extra.spec },
  });
  return h.client.updateStatus(Resources.pods, {
    ...p,
    status: { phase: "Running", ...(ip !== undefined ? { podIPs: [{ ip }] } : {}), ...status },
  });
}

/** A record in the pool's status, as the agent writes it (retried on conflict). */
export async function writeRecord(h: Harness, pool: string, ip: string, podRef: string, uid: string): Promise<void> {
  for (let i = 0; ; i++) {
    const cur = await h.client.get<SpiderIPPool>(POOLS, pool);
    const recs = { ...records(cur), [ip]: { pod: podRef, podUid: uid } };
    try {
      await h.client.updateStatus(POOLS, {
        ...cur,
        status: { ...cur.status, allocatedIPs: JSON.stringify(recs), allocatedIPCount: Object.keys(recs).length },
      });
      return;
    } catch (err) {
      if (i > 20) throw err;
    }
  }
}

/** The endpoint the agent writes; `type` "Pod" makes it owned by the pod, as for stateless workloads. */
export async function writeEndpoint(
  h: Harness,
  e: { name: string; uid: string; ip: string; pool: string; type?: string; owner?: string },
): Promise<void> {
  const type = e.type ?? "Pod";
  await h.client.create<SpiderEndpoint>(ENDPOINTS, {
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderEndpoint",
    metadata: {
      name: e.name,
      namespace: NS,
      finalizers: ["spiderpool.spidernet.io"],
      ...(type === "Pod"
        ? {
            ownerReferences: [
              { apiVersion: "v1", kind: "Pod", name: e.name, uid: e.uid, controller: true, blockOwnerDeletion: true },
            ],
          }
        : {}),
    },
    status: {
      current: { uid: e.uid, node: "node1", ips: [{ interface: "eth0", ipv4: `${e.ip}/24`, ipv4Pool: e.pool }] },
      ownerControllerType: type,
      ownerControllerName: e.owner ?? e.name,
    },
  });
}

/** The auto-pool controller's reconciles so far, whatever their result. */
export async function autoPoolReconciles(ctrl: SpiderpoolController): Promise<number> {
  return (await ctrl.metrics.autoPoolReconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * Resolves once the auto-pool controller has finished `n` more reconciles than `since` and
 * has nothing queued or running: it has acted on the changes a test just made, so asserting
 * that nothing happened is asserting on its decision, not on a slow machine.
 */
export async function autoPoolsReconciled(
  ctrl: SpiderpoolController,
  since: number,
  n = 1,
  timeoutMs = 5000,
): Promise<void> {
  await until(
    async () => (await autoPoolReconciles(ctrl)) >= since + n && ctrl.autoPools?.idle === true,
    `${n} auto-pool reconciles and an idle queue`,
    { timeoutMs },
  );
}
