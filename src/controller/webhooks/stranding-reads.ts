/**
 * The reads behind a SpiderIPPool update's stranding warnings (stranding.ts decides): the
 * pods its records name, their nodes' and namespaces' labels, the StatefulSets, and for an
 * auto-created pool its application's size. Only when the spec changed: agents' status
 * writes never come here with a spec change.
 */
import { ANNO_POOL_IP_NUMBER, parsePoolIPNumber } from "../../api/annotations/index.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { ObjectMeta } from "../../api/meta.ts";
import {
  appOfPool,
  desiredIPNumber,
  isBuiltinApp,
  replicasOf,
  type BuiltinAppKind,
  type Workload,
} from "../../ipam/auto-pool.ts";
import { parseAllocatedIPs } from "../../ipam/pool-state.ts";
import { isNotFound, Resources, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { APP_RESOURCES } from "../../poolstore/auto-pool.ts";
import { LABEL_OWNER_SPIDER_SUBNET } from "../../api/annotations/index.ts";
import type { SpiderSubnet } from "../../api/subnet.ts";
import { POOLS } from "../../poolstore/pool-writer.ts";
import { poolChangeWarnings, subnetChangeWarnings, type StatefulSetLike, type StrandingPod } from "./stranding.ts";

type Labelled = { metadata: ObjectMeta } & KubeObject;

export async function poolStrandingWarnings(
  client: KubeClient,
  old: SpiderIPPool,
  next: SpiderIPPool,
): Promise<string[]> {
  if (JSON.stringify(old.spec) === JSON.stringify(next.spec)) return [];
  const namespaces = new Set<string>();
  for (const rec of parseAllocatedIPs(old.status?.allocatedIPs).values()) {
    const ns = rec.pod.split("/")[0];
    if (ns !== undefined && ns !== "") namespaces.add(ns);
  }
  const [pods, nodes, nsObjs, sets] = await Promise.all([
    Promise.all(
      [...namespaces].map((ns) =>
        client.listAll<StrandingPod & KubeObject>(Resources.pods, { namespace: ns, limit: 500 }).then((l) => l.items),
      ),
    ).then((x) => x.flat()),
    client.listAll<Labelled>(Resources.nodes, { limit: 500 }).then((l) => l.items),
    client.listAll<Labelled>(Resources.namespaces, { limit: 500 }).then((l) => l.items),
    client.listAll<StatefulSetLike & KubeObject>(Resources.statefulsets, { limit: 500 }).then((l) => l.items),
  ]);
  const labels = (objs: Labelled[]) => {
    const m = new Map(objs.map((o) => [o.metadata.name ?? "", o.metadata.labels ?? {}]));
    return (name: string) => m.get(name) ?? {};
  };
  const autoPool = await autoPoolWant(client, next);
  return poolChangeWarnings({
    old,
    next,
    pods,
    nodeLabels: labels(nodes),
    namespaceLabels: labels(nsObjs),
    statefulSets: sets,
    ...(autoPool !== undefined ? { autoPool } : {}),
  });
}

async function autoPoolWant(
  client: KubeClient,
  pool: SpiderIPPool,
): Promise<{ app: string; desired: number } | undefined> {
  const app = appOfPool(pool);
  const text = pool.metadata.annotations?.[ANNO_POOL_IP_NUMBER];
  if (app === undefined || text === undefined || !isBuiltinApp(app.apiVersion, app.kind)) return undefined;
  const kind = app.kind as BuiltinAppKind;
  let w: Workload;
  try {
    w = await client.get<Workload & KubeObject>(APP_RESOURCES[kind], app.name, app.namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  // The annotation always carries the number on auto-created pools, so no default is needed.
  return {
    app: `${kind} ${app.namespace}/${app.name}`,
    desired: desiredIPNumber(parsePoolIPNumber(text), replicasOf(kind, w), 0),
  };
}

export async function subnetStrandingWarnings(
  client: KubeClient,
  old: SpiderSubnet,
  next: SpiderSubnet,
): Promise<string[]> {
  if (JSON.stringify(old.spec) === JSON.stringify(next.spec)) return [];
  const all = (await client.listAll<SpiderIPPool>(POOLS, { limit: 500 })).items;
  const mine = all.filter((p) => p.spec.subnet === next.spec.subnet && p.metadata.deletionTimestamp === undefined);
  const pools = await Promise.all(
    mine.map(async (pool) => {
      const want =
        pool.metadata.labels?.[LABEL_OWNER_SPIDER_SUBNET] === next.metadata.name
          ? await autoPoolWant(client, pool)
          : undefined;
      return want === undefined ? { pool } : { pool, want };
    }),
  );
  return subnetChangeWarnings({ old, next, pools });
}
