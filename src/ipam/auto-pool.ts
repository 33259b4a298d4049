/**
 * SpiderSubnet auto-created pools (ipam-behavior §5), the pure part: which workloads ask
 * for one and how large, what the pool is called and labelled, and which addresses of the
 * subnet it gets. The controller (built-in kinds) and the agent (third-party controllers)
 * both drive these through poolstore's reconcile, so the two never disagree.
 */
import {
  AFFINITY_APP_API_GROUP,
  AFFINITY_APP_API_VERSION,
  AFFINITY_APP_KIND,
  AFFINITY_APP_NAME,
  AFFINITY_APP_NAMESPACE,
  ANNO_POD_SUBNET,
  ANNO_POD_SUBNETS,
  ANNO_POOL_IP_NUMBER,
  ANNO_POOL_RECLAIM,
  cidrLabelValue,
  LABEL_INTERFACE,
  LABEL_IP_VERSION,
  LABEL_IPPOOL_CIDR,
  LABEL_IPPOOL_RECLAIM,
  LABEL_OWNER_APPLICATION_GV,
  LABEL_OWNER_APPLICATION_KIND,
  LABEL_OWNER_APPLICATION_NAME,
  LABEL_OWNER_APPLICATION_NAMESPACE,
  LABEL_OWNER_APPLICATION_UID,
  LABEL_OWNER_SPIDER_SUBNET,
  parsePoolIPNumber,
  parsePoolReclaim,
  parseSubnetAnnotation,
  parseSubnetsAnnotation,
  type PoolIPNumber,
  type SubnetSelection,
} from "../api/annotations/index.ts";
import { API_VERSION, SPIDER_FINALIZER } from "../api/group.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { ObjectMeta } from "../api/meta.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import type { IPRangeSet } from "../ip/index.ts";
import { goList, IpamError } from "./errors.ts";
import { splitApiVersion } from "./filter.ts";

/** The workload kinds the controller watches; anything else is a third-party controller. */
export const BUILTIN_APP_KINDS = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "ReplicaSet" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "batch/v1", kind: "CronJob" },
] as const;

export type BuiltinAppKind = (typeof BUILTIN_APP_KINDS)[number]["kind"];

export function isBuiltinApp(apiVersion: string, kind: string): boolean {
  return BUILTIN_APP_KINDS.some((k) => k.apiVersion === apiVersion && k.kind === kind);
}

export interface AppRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** The subnet entry's `application`: `{group}_{version}_{Kind}_{ns}_{name}`, no group for core. */
export function applicationKey(app: Omit<AppRef, "uid">): string {
  return `${app.apiVersion.replace("/", "_")}_${app.kind}_${app.namespace}_${app.name}`;
}

/** The inverse of {@link applicationKey}; none of its parts can hold '_' (DNS names, kinds). */
export function parseApplicationKey(key: string): Omit<AppRef, "uid"> | undefined {
  const p = key.split("_");
  if (p.length === 4) return { apiVersion: p[0] as string, kind: p[1] as string, namespace: p[2]!, name: p[3]! };
  if (p.length === 5) return { apiVersion: `${p[0]}/${p[1]}`, kind: p[2]!, namespace: p[3]!, name: p[4]! };
  return undefined;
}

export interface AutoPoolConfig {
  /** One per NIC; `subnet` alone means eth0. */
  items: SubnetSelection[];
  /** Undefined: the annotation is absent (flexible with the cluster default). */
  ipNumber: PoolIPNumber | undefined;
  reclaim: boolean;
}

/**
 * The subnet mode of a pod template's annotations (spec §5.1), or undefined when it asks
 * for none. `subnets` wins over `subnet`. Throws InvalidAnnotationError on bad values.
 */
export function autoPoolConfig(annotations: Readonly<Record<string, string>>): AutoPoolConfig | undefined {
  const many = annotations[ANNO_POD_SUBNETS];
  const one = annotations[ANNO_POD_SUBNET];
  let items: SubnetSelection[];
  if (many !== undefined && many !== "") items = parseSubnetsAnnotation(many);
  else if (one !== undefined && one !== "") items = [parseSubnetAnnotation(one)];
  else return undefined;
  const n = annotations[ANNO_POOL_IP_NUMBER];
  return {
    items,
    ipNumber: n === undefined || n === "" ? undefined : parsePoolIPNumber(n),
    reclaim: parsePoolReclaim(annotations[ANNO_POOL_RECLAIM]),
  };
}

interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec?: { hostNetwork?: boolean };
}

/** A workload as the controller reads it: only the fields §5.2/§5.3 decide on. */
export interface Workload {
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    parallelism?: number;
    completions?: number;
    template?: PodTemplate;
    jobTemplate?: { spec?: { parallelism?: number; completions?: number; template?: PodTemplate } };
  };
  status?: { desiredNumberScheduled?: number };
}

export function podTemplateOf(
  kind: BuiltinAppKind,
  app: Workload,
): { annotations: Record<string, string>; hostNetwork: boolean } {
  const t = kind === "CronJob" ? app.spec?.jobTemplate?.spec?.template : app.spec?.template;
  return { annotations: t?.metadata?.annotations ?? {}, hostNetwork: t?.spec?.hostNetwork === true };
}

function jobReplicas(spec: { parallelism?: number; completions?: number } | undefined): number {
  const p = spec?.parallelism;
  const c = spec?.completions;
  // Completions win when both are set (spec §5.2); zero still needs one address.
  const n = c ?? p ?? 1;
  return n === 0 ? 1 : n;
}

/** Replica count per kind (spec §5.2). */
export function replicasOf(kind: BuiltinAppKind, app: Workload): number {
  switch (kind) {
    case "DaemonSet":
      return app.status?.desiredNumberScheduled ?? 0;
    case "Job":
      return jobReplicas(app.spec);
    case "CronJob":
      return jobReplicas(app.spec?.jobTemplate?.spec);
    default:
      return app.spec?.replicas ?? 0;
  }
}

/** The pool size: N fixed, or replicas + N (the default N when the annotation is absent). */
export function desiredIPNumber(n: PoolIPNumber | undefined, replicas: number, defaultFlexible: number): number {
  if (n === undefined) return replicas + defaultFlexible;
  return n.flexible ? replicas + n.n : n.n;
}

/** What the pool's `ippool-ip-number` annotation records: "+N" or "N". */
export function ipNumberText(n: PoolIPNumber | undefined, defaultFlexible: number): string {
  if (n === undefined) return `+${defaultFlexible}`;
  return n.flexible ? `+${n.n}` : `${n.n}`;
}

const MAX_NAME = 253;

/**
 * `auto{4|6}-{app}-{iface}-{uid5}` (spec §5.4), lower case, the application name cut so the
 * whole fits 253 characters. `variant` separates pools of the same NIC in different subnets
 * (an application moved to another subnet), which upstream's name cannot tell apart.
 */
export function autoPoolName(family: 4 | 6, appName: string, iface: string, uid: string, variant = ""): string {
  const segs = uid.split("-");
  const tail = (segs[segs.length - 1] ?? "").slice(0, 5).toLowerCase();
  const suffix = `-${iface.toLowerCase()}-${tail}${variant === "" ? "" : `-${variant}`}`;
  const prefix = `auto${family}-`;
  const room = MAX_NAME - prefix.length - suffix.length;
  // A cut must not leave a trailing '-' or '.' before the next dash-separated part.
  const app = appName
    .toLowerCase()
    .slice(0, Math.max(room, 1))
    .replace(/[-.]+$/, "");
  return `${prefix}${app}${suffix}`;
}

/** Whether `pool` is a name {@link autoPoolName} gives an application of this UID. */
export function poolNameFitsUid(pool: string, uid: string): boolean {
  const segs = uid.split("-");
  const tail = (segs[segs.length - 1] ?? "").slice(0, 5).toLowerCase();
  if (tail === "") return false;
  return pool.endsWith(`-${tail}`) || new RegExp(`-${tail}-[0-9a-f]{5}$`).test(pool);
}

/** A short stable tag of a subnet name, for {@link autoPoolName}'s variant. */
export function subnetTag(subnet: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < subnet.length; i++) {
    h ^= subnet.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0").slice(0, 5);
}

/** The labels that find an application's pool for one subnet, NIC and family (spec §5.3). */
export function autoPoolSelector(
  subnet: string,
  app: Omit<AppRef, "uid">,
  iface: string,
  family: 4 | 6,
): Record<string, string> {
  return {
    [LABEL_OWNER_SPIDER_SUBNET]: subnet,
    [LABEL_OWNER_APPLICATION_GV]: app.apiVersion.replace("/", "_"),
    [LABEL_OWNER_APPLICATION_KIND]: app.kind,
    [LABEL_OWNER_APPLICATION_NAMESPACE]: app.namespace,
    [LABEL_OWNER_APPLICATION_NAME]: app.name,
    [LABEL_INTERFACE]: iface,
    [LABEL_IP_VERSION]: `IPv${family}`,
  };
}

/** True when the pool's labels carry every pair of `selector`. */
export function matchesSelector(pool: SpiderIPPool, selector: Readonly<Record<string, string>>): boolean {
  const l = pool.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

/**
 * The live auto-created pools of one application, subnet, NIC and family (spec §5.5): what
 * the agent waits for on the ADD path and what `explain` shows. More than one is an error.
 */
export function liveAutoPools(
  pools: readonly SpiderIPPool[],
  subnet: string,
  app: AppRef,
  iface: string,
  family: 4 | 6,
): { selector: Record<string, string>; pools: SpiderIPPool[] } {
  const selector = { ...autoPoolSelector(subnet, app, iface, family), [LABEL_OWNER_APPLICATION_UID]: app.uid };
  return {
    selector,
    pools: pools.filter((p) => matchesSelector(p, selector) && p.metadata.deletionTimestamp === undefined),
  };
}

function goMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort();
  return `map[${keys.map((k) => `${k}:${m[k]}`).join(" ")}]`;
}

export const autoPoolAmbiguous = (
  app: Omit<AppRef, "uid">,
  iface: string,
  selector: Readonly<Record<string, string>>,
  pools: readonly string[],
): IpamError =>
  new IpamError(
    "ERR_WRONG_INPUT",
    `it's invalid for '${app.kind}/${app.namespace}/${app.name}/${iface}' owns multiple matchLables '${goMap(selector)}' auto-created IPPools ${goList(pools)}`,
  );

export const autoPoolMissing = (selector: Readonly<Record<string, string>>): IpamError =>
  new IpamError(
    "ERR_WRONG_INPUT",
    `failed to get IPPool candidates from Subnet: no matching auto-created IPPool candidate with matchLables '${goMap(selector)}'`,
  );

/** The application a pool's labels name (autoPoolSelector's), or undefined when one of them is missing. */
export function appOfPool(pool: SpiderIPPool): Omit<AppRef, "uid"> | undefined {
  const l = pool.metadata.labels ?? {};
  const gv = l[LABEL_OWNER_APPLICATION_GV];
  const kind = l[LABEL_OWNER_APPLICATION_KIND];
  const namespace = l[LABEL_OWNER_APPLICATION_NAMESPACE];
  const name = l[LABEL_OWNER_APPLICATION_NAME];
  if (gv === undefined || kind === undefined || namespace === undefined || name === undefined) return undefined;
  return { apiVersion: gv.replace("_", "/"), kind, namespace, name };
}

export function isReclaimed(pool: SpiderIPPool): boolean {
  return pool.metadata.labels?.[LABEL_IPPOOL_RECLAIM] !== "false";
}

export interface AutoPoolShape {
  name: string;
  subnet: SpiderSubnet;
  app: AppRef;
  iface: string;
  family: 4 | 6;
  reclaim: boolean;
  ipNumber: string;
  ips: readonly string[];
}

/**
 * The pool as it should be: spec from the subnet (gateway, routes) with the application's
 * podAffinity, every label of §0.2, the subnet as controller owner, the finalizer. Pass the
 * existing pool to keep its resourceVersion and any label or annotation someone else added.
 */
export function desiredAutoPool(s: AutoPoolShape, existing?: SpiderIPPool): SpiderIPPool {
  const [group, version] = splitApiVersion(s.app.apiVersion);
  const subnetName = s.subnet.metadata.name ?? "";
  const base = existing ?? {
    apiVersion: API_VERSION,
    kind: "SpiderIPPool",
    metadata: { name: s.name },
    spec: { subnet: s.subnet.spec.subnet },
  };
  const owner = {
    apiVersion: API_VERSION,
    kind: "SpiderSubnet",
    name: subnetName,
    uid: s.subnet.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
  const fins = base.metadata.finalizers ?? [];
  return {
    ...base,
    metadata: {
      ...base.metadata,
      labels: {
        ...base.metadata.labels,
        ...autoPoolSelector(subnetName, s.app, s.iface, s.family),
        [LABEL_OWNER_APPLICATION_UID]: s.app.uid,
        [LABEL_IPPOOL_RECLAIM]: s.reclaim ? "true" : "false",
        [LABEL_IPPOOL_CIDR]: cidrLabelValue(s.subnet.spec.subnet),
      },
      annotations: { ...base.metadata.annotations, [ANNO_POOL_IP_NUMBER]: s.ipNumber },
      ownerReferences: [...(base.metadata.ownerReferences ?? []).filter((o) => o.controller !== true), owner],
      finalizers: fins.includes(SPIDER_FINALIZER) ? fins : [...fins, SPIDER_FINALIZER],
    },
    spec: {
      ...base.spec,
      ipVersion: s.family,
      subnet: s.subnet.spec.subnet,
      ips: [...s.ips],
      ...(existing === undefined && s.subnet.spec.gateway !== undefined ? { gateway: s.subnet.spec.gateway } : {}),
      ...(existing === undefined && s.subnet.spec.routes !== undefined
        ? { routes: structuredClone(s.subnet.spec.routes) }
        : {}),
      podAffinity: {
        matchLabels: {
          [AFFINITY_APP_API_GROUP]: group,
          [AFFINITY_APP_API_VERSION]: version,
          [AFFINITY_APP_KIND]: s.app.kind,
          [AFFINITY_APP_NAMESPACE]: s.app.namespace,
          [AFFINITY_APP_NAME]: s.app.name,
        },
      },
    },
  };
}

export const poolShrinkBlocked = (pool: string): IpamError =>
  new IpamError(
    "ERR_POOL_SHRINK_BLOCKED",
    `failed to scale down IPPool ${pool} IPs: IPPool available free IPs are not enough`,
  );

export const subnetExhausted = (required: bigint, left: bigint): IpamError =>
  new IpamError("ERR_SUBNET_EXHAUSTED", `insufficient subnet FreeIPs, required '${required}' but only left '${left}'`);

export interface CarveInput {
  pool: string;
  /** The subnet's addresses (ips − excludeIPs). */
  subnet: IPRangeSet;
  /** Addresses of every other pool's entry in the subnet. */
  others: IPRangeSet;
  /** Cluster-wide reserved addresses of the family. */
  reserved: IPRangeSet;
  /** This pool's current entry, if it has one. */
  entry: IPRangeSet | undefined;
  /** This pool's addresses now (empty when it does not exist yet). */
  poolIPs: IPRangeSet;
  /** Addresses of this pool held by pods. */
  allocated: IPRangeSet;
  desired: bigint;
}

/**
 * The addresses the pool should own (spec §5.4): grows with the lowest free addresses of
 * the subnet, shrinks by dropping its lowest free ones, never drops an address a pod holds
 * and never takes one another pool or a reservation holds.
 */
export function carve(c: CarveInput): IPRangeSet {
  let mine = c.entry ?? c.poolIPs.subtract(c.others);
  // A pod's address is never given up, even when the entry lost track of it.
  const held = c.allocated.subtract(mine);
  if (!held.isEmpty) {
    if (held.overlaps(c.others)) {
      throw new IpamError(
        "ERR_DATA_BROKEN",
        `IPPool ${c.pool} holds addresses ${JSON.stringify(held.intersect(c.others).toStrings())} that the subnet gives to another pool`,
      );
    }
    mine = mine.union(held);
  }
  const have = mine.size;
  if (have === c.desired) return mine;
  if (have > c.desired) {
    const free = mine.subtract(c.allocated);
    const drop = have - c.desired;
    if (free.size < drop) throw poolShrinkBlocked(c.pool);
    // Addresses the pool already gave up go first (a shrink interrupted between its pool
    // and subnet writes), then the pool's lowest free ones.
    const gone = free.subtract(c.poolIPs);
    const first = gone.lowest(drop < gone.size ? drop : gone.size);
    return mine.subtract(first).subtract(free.intersect(c.poolIPs).lowest(drop - first.size));
  }
  const available = c.subnet.subtract(c.others).subtract(c.reserved).subtract(mine);
  const need = c.desired - have;
  if (available.size < need) throw subnetExhausted(need, available.size);
  return mine.union(available.lowest(need));
}
