/**
 * The pure half of planning one NIC and family (spec §1.7–§1.8): the filter context the
 * agent decides with, and the verdict on each candidate pool. The agent's ADD and
 * `spiderpoolctl explain` both call these, so an explanation is the agent's decision.
 */
import type { ObjectMeta } from "../api/meta.ts";
import { nicName, type NicCandidate } from "./candidates.ts";
import { allFiltered } from "./errors.ts";
import { filterPools, type FilterContext, type FilterRefusal, type PoolForFilter } from "./filter.ts";
import type { TopController } from "./pod.ts";

export interface FamilyContextInput {
  family: 4 | 6;
  nic: NicCandidate;
  /** The pod names its NICs (multi-NIC annotations); otherwise NICs are numbered. */
  named: boolean;
  pod: { metadata: ObjectMeta; spec?: { nodeName?: string } };
  top: TopController;
  nodeLabels: Readonly<Record<string, string>>;
  namespaceLabels: Readonly<Record<string, string>>;
  agentNamespace: string;
  clusterNetwork: string;
}

export function familyContext(i: FamilyContextInput): FilterContext {
  const nicCanon = i.named ? i.nic.nic : nicName(i.nic.nic);
  return {
    family: i.family,
    nic: i.nic.nic,
    firstNic: nicCanon === "eth0" || i.nic.nic === "0",
    pod: {
      namespace: i.pod.metadata.namespace ?? "",
      name: i.pod.metadata.name ?? "",
      labels: i.pod.metadata.labels ?? {},
      annotations: i.pod.metadata.annotations ?? {},
      nodeName: i.pod.spec?.nodeName ?? "",
    },
    nodeLabels: i.nodeLabels,
    namespaceLabels: i.namespaceLabels,
    top: i.top,
    agentNamespace: i.agentNamespace,
    clusterNetwork: i.clusterNetwork,
  };
}

export interface FamilyVerdicts<T extends PoolForFilter> {
  verdicts: Array<{ pool: T; refusal: FilterRefusal | undefined }>;
  /** The pools that may serve, in the order they are tried. */
  survivors: T[];
  /** Set when every pool was filtered out: the agent's error. */
  error?: Error;
}

/** Filters the family's pools; when none survives, the error the agent fails the ADD with. */
export function judgeFamily<T extends PoolForFilter>(pools: readonly T[], ctx: FilterContext): FamilyVerdicts<T> {
  const r = filterPools(pools, ctx);
  if (r.survivors.length > 0) return r;
  const reasons = r.verdicts.flatMap((v) => (v.refusal === undefined ? [] : [v.refusal.reason]));
  const names = pools.map((p) => p.metadata.name ?? "");
  return { ...r, error: allFiltered(ctx.family, names, ctx.nic, reasons) };
}
