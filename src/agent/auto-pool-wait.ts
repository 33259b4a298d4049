/**
 * Auto-created pools on the ADD path (spec §5.5): a built-in application's pool is made and
 * sized by the controller, so the agent waits for it; a third-party application's pool is
 * sized by nobody else, so the agent reconciles it itself.
 */
import { LABEL_OWNER_APPLICATION_UID } from "../api/annotations/index.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import {
  autoPoolAmbiguous,
  autoPoolMissing,
  desiredIPNumber,
  isReclaimed,
  liveAutoPools,
  replicasOf,
  type AutoPoolConfig,
  type BuiltinAppKind,
  type Workload,
} from "../ipam/auto-pool.ts";
import { IpamError } from "../ipam/errors.ts";
import type { TopController } from "../ipam/pod.ts";
import { poolAddresses } from "../ipam/pool-state.ts";
import type { KubeObject } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { APP_RESOURCES, pickAutoPool, reconcileAutoPool } from "../poolstore/auto-pool.ts";
import type { FlowDeps } from "./flow-deps.ts";

export interface AutoPoolWant {
  subnet: string;
  top: TopController;
  iface: string;
  family: 4 | 6;
  cfg: AutoPoolConfig | undefined;
}

/** Go's `%v` of a map[string]string (keys sorted), as upstream's messages print label sets. */
function poolSize(p: SpiderIPPool): bigint {
  try {
    return poolAddresses(p.spec).effective.size;
  } catch {
    return -1n;
  }
}

/**
 * The controller creates and sizes a built-in application's pool; the agent waits until it
 * exists with the size the application asks for now (replicas may just have grown). After
 * the retries a pool of another size is used anyway, as upstream.
 */
export async function waitAutoPool(d: FlowDeps, w: AutoPoolWant): Promise<string> {
  const { top } = w;
  const desired = await desiredSize(d, w);
  const max = d.config.waitSubnetPoolMaxRetries;
  let found: SpiderIPPool | undefined;
  let selector: Record<string, string> = {};
  for (let i = 0; i <= max; i++) {
    const { selector: sel, pools } = liveAutoPools(d.view.pools.list(), w.subnet, top, w.iface, w.family);
    selector = sel;
    if (pools.length > 1)
      throw autoPoolAmbiguous(
        top,
        w.iface,
        selector,
        pools.map((p) => p.metadata.name ?? ""),
      );
    found = pools[0];
    if (found !== undefined && (desired === undefined || poolSize(found) === BigInt(desired)))
      return found.metadata.name ?? "";
    if (i < max) await d.clock.sleep(d.config.waitSubnetPoolMs);
  }
  if (found !== undefined) {
    d.log.warn(
      { pool: found.metadata.name, size: poolSize(found).toString(), desired },
      "auto-created IPPool is not the size its application asks for; using it anyway",
    );
    return found.metadata.name ?? "";
  }
  throw autoPoolMissing(selector);
}

/** Replicas plus N, or N, as the controller computes it; undefined when the application cannot be read. */
async function desiredSize(d: FlowDeps, w: AutoPoolWant): Promise<number | undefined> {
  const n = w.cfg?.ipNumber;
  if (n !== undefined && !n.flexible) return n.n;
  const kind = w.top.kind as BuiltinAppKind;
  let app: Workload;
  try {
    app = await d.client.get<Workload & KubeObject>(APP_RESOURCES[kind], w.top.name, w.top.namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return desiredIPNumber(n, replicasOf(kind, app), d.config.defaultFlexibleIPNumber);
}

/**
 * No controller sizes a third-party application's pool, so the agent does, with the fixed
 * number the application must give; concurrent ADDs of its pods meet in the same
 * preconditioned writes.
 */
export async function thirdPartyAutoPool(d: FlowDeps, w: AutoPoolWant): Promise<string> {
  const { top } = w;
  const n = w.cfg?.ipNumber;
  if (n === undefined) {
    throw new IpamError(
      "ERR_WRONG_INPUT",
      `${top.kind}/${top.namespace}/${top.name} only supports fixed auto-created IPPool IP Number`,
    );
  }
  // Every ADD of the application's pods comes here; once the pool is in the cache at its
  // size, no API call is needed.
  const cached = pickAutoPool(d.view.pools.list(), { subnet: w.subnet, app: top, iface: w.iface, family: w.family });
  if (
    cached !== undefined &&
    cached.metadata.labels?.[LABEL_OWNER_APPLICATION_UID] === top.uid &&
    isReclaimed(cached) === (w.cfg?.reclaim ?? true) &&
    poolSize(cached) === BigInt(n.n)
  )
    return cached.metadata.name ?? "";
  const out = await reconcileAutoPool(
    { client: d.client, log: d.log, maxAttempts: d.config.waitSubnetPoolMaxRetries },
    {
      subnet: w.subnet,
      app: top,
      iface: w.iface,
      family: w.family,
      desired: n.n,
      ipNumber: String(n.n),
      reclaim: w.cfg?.reclaim ?? true,
    },
  );
  // The ADD that follows reads pools from the cache: wait until it has this one.
  for (let i = 0; i <= d.config.waitSubnetPoolMaxRetries; i++) {
    if (d.view.pools.getByName(out.pool) !== undefined) break;
    await d.clock.sleep(Math.min(d.config.waitSubnetPoolMs, 100));
  }
  return out.pool;
}
