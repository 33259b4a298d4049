/**
 * StatefulSet and KubeVirt pods keep their addresses across re-creation (spec §3): the ADD
 * of such a pod takes over its endpoint's records, after releasing those whose pools its
 * template no longer names (§3.2).
 */
import type { Logger } from "pino";
import type { IPAllocationDetail, SpiderEndpoint } from "../api/endpoint.ts";
import { poolsOf, type TopController, type WorkloadKind } from "../ipam/pod.ts";
import type { Pod } from "./cache.ts";
import { claimUnnamed, fromEndpoint, hasNic, type AddResponse } from "./endpoint-items.ts";
import { releaseRecords, type FlowDeps } from "./flow-deps.ts";
import { candidates, type CandidateRequest } from "./pool-plan.ts";

export interface StaticPod {
  req: CandidateRequest;
  pod: Pod;
  top: TopController;
  kind: Exclude<WorkloadKind, "stateless">;
  podUid: string;
  podRef: string;
  log: Logger;
}

/**
 * The answer from the endpoint when it records this NIC; otherwise what allocation starts
 * from: the endpoint as left (undefined when it went) and, when only this NIC's pool
 * changed, that NIC alone.
 */
export async function reuseStatic(
  d: FlowDeps,
  s: StaticPod,
  found: SpiderEndpoint | undefined,
): Promise<{ answer: AddResponse } | { ep: SpiderEndpoint | undefined; onlyNic?: string }> {
  let ep = found;
  let onlyNic: string | undefined;
  if (ep?.status !== undefined && s.kind === "statefulset") {
    const outdated = await outdatedPools(d, s, ep);
    // The template now names other pools: the old addresses went back, allocate afresh
    // (only this NIC when the pod's other NICs keep theirs).
    if (outdated === "all") ep = undefined;
    else if (outdated !== "none") {
      ep = outdated;
      onlyNic = s.req.ifName;
    }
  }
  const items = ep?.status?.current.ips;
  if (ep === undefined || items === undefined || !hasNic(items, s.req.ifName))
    return onlyNic === undefined ? { ep } : { ep, onlyNic };
  s.log.info({ endpoint: ep.metadata.name }, "reusing the addresses of a StatefulSet/KubeVirt workload");
  for (const [pool, ips] of poolsOf(items))
    await d.writers.submit(pool, { kind: "retarget", ips, podRef: s.podRef, podUid: s.podUid });
  const updated = await d.endpoints.retarget(ep.metadata.namespace ?? "", ep.metadata.name ?? "", ep, (cur) => {
    if (cur.status === undefined) return undefined;
    const list = claimUnnamed(cur.status.current.ips, s.req.ifName);
    cur.status.current = { uid: s.podUid, node: s.pod.spec?.nodeName ?? "", ips: list };
    return cur;
  });
  return { answer: fromEndpoint(updated.status?.current.ips ?? items) };
}

/**
 * Spec §3.2 outdated-pool check. Named NICs: only this NIC's items whose pool its rules no
 * longer name are outdated; their addresses are released (under the endpoint's UID) and
 * the endpoint keeps the other NICs' items, taken over by this pod, so their addresses stay
 * recorded while the pod uses them. No-name NICs, or every item outdated: everything is
 * released and the endpoint deleted. Returns the rewritten endpoint in the partial case.
 */
async function outdatedPools(d: FlowDeps, s: StaticPod, ep: SpiderEndpoint): Promise<"none" | "all" | SpiderEndpoint> {
  let cands;
  try {
    cands = await candidates(d, s.req, s.pod, s.top);
  } catch {
    // Rules that cannot be evaluated now change nothing here; allocation will report them.
    return "none";
  }
  const ifName = s.req.ifName;
  const items = ep.status?.current.ips ?? [];
  const isOutdated = (it: IPAllocationDetail, idx: number): boolean => {
    const nic = cands.named ? cands.list.find((n) => n.nic === it.interface) : cands.list[idx];
    if (cands.named && it.interface !== ifName) return false;
    if (nic === undefined) return !cands.named;
    return (
      (it.ipv4Pool !== undefined && !nic.v4.includes(it.ipv4Pool)) ||
      (it.ipv6Pool !== undefined && !nic.v6.includes(it.ipv6Pool))
    );
  };
  const marked = items.filter(isOutdated);
  if (marked.length === 0) return "none";
  const oldUid = ep.status?.current.uid ?? "";
  const ns = ep.metadata.namespace ?? "";
  const name = ep.metadata.name ?? "";
  if (!cands.named || marked.length === items.length) {
    s.log.info({ endpoint: name }, "the StatefulSet's pools changed; releasing its old addresses");
    await releaseRecords(d, poolsOf(items), oldUid);
    await d.endpoints.drop(ns, name, oldUid, ep);
    return "all";
  }
  s.log.info(
    { endpoint: name, nic: ifName, released: marked.map((m) => m.ipv4 ?? m.ipv6) },
    "this NIC's pool changed; releasing its old addresses, keeping the other NICs'",
  );
  const kept = items.filter((it, idx) => !isOutdated(it, idx));
  // The kept records move to this pod first, so that no moment exists in which they are
  // recorded for a UID nobody will release.
  for (const [pool, ips] of poolsOf(kept))
    await d.writers.submit(pool, { kind: "retarget", ips, podRef: s.podRef, podUid: s.podUid });
  const updated = await d.endpoints.retarget(ns, name, ep, (cur) => {
    if (cur.status === undefined) return undefined;
    cur.status.current = { uid: s.podUid, node: s.pod.spec?.nodeName ?? "", ips: kept };
    return cur;
  });
  // A record may already carry this pod's UID (a retarget that outran its endpoint write).
  for (const uid of new Set([oldUid, s.podUid])) await releaseRecords(d, poolsOf(marked), uid);
  return updated;
}
