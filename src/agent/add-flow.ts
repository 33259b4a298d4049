/**
 * CNI ADD (spec §1.3–§1.12, §3): the pod and its workload, the SpiderEndpoint (reused,
 * retrieved or created), candidate pools and filters, one record per NIC and family, routes,
 * and the endpoint write. Decisions come from src/ipam; this module orders the reads and
 * writes around them.
 */
import type { Logger } from "pino";
import { ANNO_POD_ROUTES, parseRoutesAnnotation } from "../api/annotations/index.ts";
import type { SpiderEndpoint } from "../api/endpoint.ts";
import { nicName } from "../ipam/candidates.ts";
import { deadPod, inStandardMode, IpamError } from "../ipam/errors.ts";
import { isPodAlive, type TopController } from "../ipam/pod.ts";
import { assemble, type Allocated } from "../ipam/result.ts";
import type { Route } from "../api/meta.ts";
import type { Pod } from "./cache.ts";
import {
  buildEndpoint,
  claimUnnamed,
  fromEndpoint,
  hasNic,
  listsAll,
  mergeItems,
  recordKey,
  type AddResponse,
} from "./endpoint-items.ts";
import { releaseRecords, type FlowDeps, type PodMemo } from "./flow-deps.ts";
import { candidates, commitFamily, masterOfNic, planAll, slotsOf, type Candidates, type Drawn } from "./pool-plan.ts";
import { reuseStatic } from "./static-reuse.ts";

export type { AddResponse } from "./endpoint-items.ts";

export interface AddRequest {
  containerID: string;
  ifName: string;
  netns: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  defaultIPv4IPPool: string[];
  defaultIPv6IPPool: string[];
  cleanGateway: boolean;
  /** netconf `match_master_subnet`: only pools whose subnet holds an address of the NIC's master. */
  matchMasterSubnet?: boolean;
  /** The netconf's `deviceID` (an SR-IOV VF's PCI address): its PF is the master. */
  deviceID?: string;
}

/** What an ADD's first pass learned, for the pass that may follow it. */
interface FirstPass {
  /** The pass skipped reading the endpoint. */
  assumedNew: boolean;
  epName: string;
  podUid: string;
  /** Records the pass drew that the pod did not hold before. */
  fresh: Drawn[];
}

export class AddFlow {
  readonly #d: FlowDeps;
  readonly #memo: PodMemo;

  constructor(d: FlowDeps, memo: PodMemo) {
    this.#d = d;
    this.#memo = memo;
  }

  /**
   * An ADD. Its first pass may take the pod for new and skip reading its endpoint. When that
   * pass meets the endpoint after all, or fails where an existing endpoint would have
   * answered instead, the ADD starts again from the endpoint, and the records the first pass
   * drew that the answer does not list go back.
   */
  async add(req: AddRequest, log: Logger): Promise<AddResponse> {
    const first: FirstPass = { assumedNew: false, epName: req.podName, podUid: "", fresh: [] };
    let out: AddResponse | "exists";
    try {
      out = await this.#pass(req, log, first);
    } catch (err) {
      if (!first.assumedNew) throw err;
      // With no endpoint the careful path would have failed just the same.
      if ((await this.#d.endpoints.get(req.podNamespace, first.epName)) === undefined) throw err;
      log.info(
        { endpoint: first.epName, err: (err as Error).message },
        "the pod's first ADD failed without reading its SpiderEndpoint, which exists; starting again from it",
      );
      out = "exists";
    }
    if (out !== "exists") return out;
    log.info({ endpoint: first.epName }, "the pod already has a SpiderEndpoint; the ADD starts again from it");
    // The pod's records are one per pool, so the careful path finds the ones drawn in the
    // first pass again wherever it allocates from the same pools.
    const again = await this.#pass(req, log, undefined);
    if (again === "exists") throw new Error("unreachable: only a first pass creates without merging");
    await this.#returnUnused(req, first.podUid, first.fresh, again, log);
    return again;
  }

  /**
   * One pass. With `first`, the pass may take the pod for new: the first ADD of a stateless
   * pod, the case of every pod of a rollout or a recovery, finds no endpoint, so the read is
   * skipped and the endpoint created outright; one that exists all the same refuses the
   * create and the pass answers "exists". StatefulSet and KubeVirt endpoints outlive their
   * pods, so theirs is always read.
   */
  async #pass(req: AddRequest, log: Logger, first: FirstPass | undefined): Promise<AddResponse | "exists"> {
    const ns = req.podNamespace;
    const pod = await this.#pod(req);
    const podUid = pod.metadata.uid ?? req.podUid;
    const top = await this.#d.owners.top(pod);
    const kind = this.#d.owners.kindOf(top);
    const epName = kind === "kubevirt" ? top.name : req.podName;
    const podRef = `${ns}/${epName}`;
    const assumeNew = first !== undefined && kind === "stateless" && this.#memo.firstAdd(podUid);
    if (first !== undefined) Object.assign(first, { assumedNew: assumeNew, epName, podUid });
    let ep = assumeNew ? undefined : await this.#d.endpoints.get(ns, epName);
    let onlyNic: string | undefined;
    if (kind !== "stateless") {
      const r = await reuseStatic(this.#d, { req, pod, top, kind, podUid, podRef, log }, ep);
      if ("answer" in r) return r.answer;
      ({ ep, onlyNic } = r);
    } else if (ep !== undefined) {
      const answer = await this.#fromStateless(req, ep, podUid, log);
      if (answer !== undefined) return answer;
    }
    const { cands, allocs, podRoutes } = await this.#draw(req, pod, top, podUid, podRef, onlyNic, first?.fresh ?? []);
    const assembled = assemble(allocs, podRoutes);
    if (assembled.dropped.length > 0)
      log.warn({ dropped: assembled.dropped }, "pod routes whose gateway is in no allocated subnet were dropped");
    // No-name multi-NIC: the first item is eth0; the others wait for their ADD to be named.
    const items = cands.named
      ? assembled.details
      : assembled.details.map((x) => ({ ...x, interface: x.interface === "0" ? "eth0" : "" }));
    const want = buildEndpoint({
      ns,
      name: epName,
      podName: req.podName,
      podUid,
      node: pod.spec?.nodeName ?? "",
      top,
      outlivesPod: kind !== "stateless",
      items,
    });
    const wrote = await this.#write(want, assumeNew);
    if (wrote === "exists") return "exists";
    if (wrote !== "created" && !listsAll(wrote.status?.current.ips ?? [], assembled.details)) {
      // A concurrent ADD of this pod recorded its own allocation first (drawn from other
      // pools: a pool's spec changed in between). The endpoint is what DEL and GC go by, so
      // it is the answer; the records drawn here stay with the pod until it is gone.
      log.warn(
        { endpoint: epName, drawn: assembled.ips.map((i) => i.address) },
        "another ADD of this pod recorded other addresses in its SpiderEndpoint; answering with those",
      );
      return fromEndpoint(wrote.status?.current.ips ?? []);
    }
    const nic = (n: string): string => (cands.named ? n : nicName(n));
    return {
      ips: assembled.ips.map((i) => ({ ...i, nic: nic(i.nic) })),
      routes: assembled.routes.map((r) => ({ ...r, nic: nic(r.nic) })),
    };
  }

  /**
   * The allocation proper: candidates, filters, one record per NIC and family. A family that
   * fails (pool used out, write retries exhausted) fails the ADD; the records the other
   * families got stay for this pod UID, reused by the kubelet's retry and reclaimed by the GC
   * once the pod is gone. They are not rolled back: a concurrent ADD of the same pod may
   * already be using them.
   */
  async #draw(
    req: AddRequest,
    pod: Pod,
    top: TopController,
    podUid: string,
    podRef: string,
    onlyNic: string | undefined,
    fresh: Drawn[],
  ): Promise<{ cands: Candidates; allocs: Allocated[]; podRoutes: Route[] }> {
    try {
      const routesText = pod.metadata.annotations?.[ANNO_POD_ROUTES];
      const podRoutes = routesText === undefined ? [] : parseRoutesAnnotation(routesText);
      const cands = await candidates(this.#d, req, pod, top);
      const master = req.matchMasterSubnet === true ? await masterOfNic(this.#d, req) : undefined;
      const plans = await planAll(this.#d, cands, pod, top, onlyNic, master);
      const slots = slotsOf(plans);
      const allocs = await Promise.all(plans.map((p, i) => commitFamily(this.#d, p, podUid, podRef, fresh, slots[i])));
      return { cands, allocs, podRoutes };
    } catch (err) {
      throw inStandardMode(err);
    }
  }

  /** The pod the runtime asked for, by name and (when given) UID, alive. */
  async #pod(req: AddRequest): Promise<Pod> {
    const { podNamespace: ns, podName } = req;
    let pod = await this.#d.view.getPod(ns, podName);
    // The runtime's K8S_POD_UID names the pod this sandbox is for; a cache that lags a
    // force-delete and re-create must not make us record the old pod's UID.
    if (pod !== undefined && req.podUid !== "" && pod.metadata.uid !== req.podUid)
      pod = await this.#d.view.getPodFresh(ns, podName);
    if (pod === undefined)
      throw new IpamError("ERR_WRONG_INPUT", `failed to get Pod ${ns}/${podName}: pods "${podName}" not found`);
    if (req.podUid !== "" && pod.metadata.uid !== req.podUid)
      throw new IpamError(
        "ERR_WRONG_INPUT",
        `Pod ${ns}/${podName} has UID ${pod.metadata.uid ?? ""}, not the UID ${req.podUid} the runtime asked for`,
      );
    if (!isPodAlive(pod)) throw deadPod(ns, podName);
    return pod;
  }

  /**
   * A stateless pod's endpoint: a previous pod's of this name is deleted (undefined, allocate
   * afresh); this pod's answers when it records this NIC (an idempotent ADD, or the next NIC of
   * a no-name multi-NIC pod, which names an unnamed item).
   */
  async #fromStateless(
    req: AddRequest,
    ep: SpiderEndpoint,
    podUid: string,
    log: Logger,
  ): Promise<AddResponse | undefined> {
    const ns = req.podNamespace;
    const name = ep.metadata.name ?? "";
    const cur = ep.status?.current;
    if (cur === undefined) return undefined;
    if (cur.uid !== podUid) {
      log.info({ endpoint: name, staleUid: cur.uid }, "deleting the endpoint of a previous pod with this name");
      await this.#d.endpoints.drop(ns, name, cur.uid, ep);
      return undefined;
    }
    if (!hasNic(cur.ips, req.ifName)) return undefined;
    if (cur.ips.some((i) => i.interface === req.ifName)) return fromEndpoint(cur.ips);
    const updated = await this.#d.endpoints.retarget(ns, name, ep, (c) => {
      if (c.status === undefined) return undefined;
      claimUnnamed(c.status.current.ips, req.ifName);
      return c;
    });
    return fromEndpoint(updated.status?.current.ips ?? []);
  }

  /** Creates the endpoint; one that exists is merged into unless `createOnly` (then "exists"). */
  async #write(want: SpiderEndpoint, createOnly: boolean): Promise<"created" | "exists" | SpiderEndpoint> {
    if ((await this.#d.endpoints.create(want)) === "created") return "created";
    if (createOnly) return "exists";
    const { namespace, name } = want.metadata;
    return this.#d.endpoints.retarget(namespace ?? "", name ?? "", undefined, (cur) => mergeItems(cur, want));
  }

  /**
   * Gives back the records an ADD drew afresh that the endpoint it then found does not list
   * (its pools' order changed since the endpoint was written), so that a live pod does not
   * sit on an address it never uses. Not while another ADD of the pod runs: it may have
   * drawn the same records (one per pod and pool) and be about to record them.
   */
  async #returnUnused(
    req: AddRequest,
    podUid: string,
    fresh: readonly Drawn[],
    out: AddResponse,
    log: Logger,
  ): Promise<void> {
    const used = new Set(out.ips.map((i) => recordKey(i.pool, i.address)));
    const unused = fresh.filter((f) => !used.has(recordKey(f.pool, f.ip)));
    if (unused.length === 0) return;
    if (this.#memo.running(`${req.podNamespace}/${req.podName}`) > 1) {
      log.warn(
        { unused },
        "records drawn before the endpoint was found stay with the pod until it is gone: another ADD of it is running",
      );
      return;
    }
    const byPool = new Map<string, string[]>();
    for (const u of unused) byPool.set(u.pool, [...(byPool.get(u.pool) ?? []), u.ip]);
    try {
      await releaseRecords(this.#d, byPool, podUid);
      log.info({ released: unused }, "records drawn before the endpoint was found went back");
    } catch (err) {
      // The answer and the endpoint are right; the records stay with the pod until it is gone.
      log.warn(
        { unused, err: (err as Error).message },
        "records drawn before the endpoint was found could not go back; they are released with the pod",
      );
    }
  }
}
