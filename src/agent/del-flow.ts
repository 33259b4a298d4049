/**
 * CNI DEL and CNI GC (spec §2.2): a pod that is gone, dead or replaced gives its addresses
 * back and its endpoint goes; a live pod, and a StatefulSet or KubeVirt pod its workload
 * still wants, keeps them.
 */
import type { Logger } from "pino";
import { isPodAlive, poolsOf } from "../ipam/pod.ts";
import { hasNic } from "./endpoint-items.ts";
import { releaseRecords, type FlowDeps, type PodMemo } from "./flow-deps.ts";

export interface DelRequest {
  containerID: string;
  ifName: string;
  podName: string;
  podNamespace: string;
  podUid: string;
}

/** What a DEL did, for the one line the CNI handler logs. */
export type DelOutcome = "released" | "kept" | "nothing";

export class DelFlow {
  readonly #d: FlowDeps;
  readonly #memo: PodMemo;

  constructor(d: FlowDeps, memo: PodMemo) {
    this.#d = d;
    this.#memo = memo;
  }

  async release(req: DelRequest, log: Logger): Promise<DelOutcome> {
    const { podNamespace: ns, podName } = req;
    const pod = await this.#d.view.getPodFresh(ns, podName);
    if (pod !== undefined && isPodAlive(pod)) {
      log.info("pod is alive; its addresses are kept");
      return "kept";
    }
    const uid = pod?.metadata.uid ?? req.podUid;
    if (pod === undefined) this.#memo.forget(uid);
    if (uid === "") {
      log.warn("no way to get the pod UID; skipping release (garbage collection reclaims it)");
      return "nothing";
    }
    const top = pod === undefined ? undefined : await this.#d.owners.top(pod).catch(() => undefined);
    const podKind = top === undefined ? undefined : this.#d.owners.kindOf(top);
    const epName = podKind === "kubevirt" && top !== undefined ? top.name : podName;
    const ep = await this.#d.endpoints.get(ns, epName);
    const cur = ep?.status?.current;
    if (ep === undefined || cur === undefined) return "nothing";
    // The pod's own owner, group included, when it is known: the endpoint records only a kind,
    // and an OpenKruise Advanced StatefulSet's pods (kind StatefulSet, apps.kruise.io) are stateless.
    const kind = podKind ?? this.#d.owners.kindOfEndpoint(ep.status?.ownerControllerType);
    if (kind !== "stateless") {
      const owner = ep.status?.ownerControllerName ?? "";
      if (await this.#d.owners.stillWanted(kind, ns, podName, owner)) {
        log.info({ endpoint: epName }, "StatefulSet/KubeVirt pod is still valid; its addresses are kept");
        return "kept";
      }
      await releaseRecords(this.#d, poolsOf(cur.ips), cur.uid);
      await this.#d.endpoints.drop(ns, epName, cur.uid, ep);
      return "released";
    }
    if (cur.uid !== uid || !hasNic(cur.ips, req.ifName)) return "nothing";
    await releaseRecords(this.#d, poolsOf(cur.ips), uid);
    // A stateless endpoint of a pod that still exists goes with it (owner reference).
    if (pod === undefined) await this.#d.endpoints.drop(ns, epName, uid, ep);
    else await this.#d.endpoints.release(ns, epName, uid, ep);
    return "released";
  }

  /**
   * Upstream's batch release (`DELETE /v1/ipam/ips`), for an ADD whose detection failed: the
   * pod is alive, yet everything its endpoint holds (every NIC's) goes back, and the endpoint
   * with it, so the kubelet's retry allocates afresh instead of answering with what went back.
   */
  async releaseAll(req: DelRequest, log: Logger): Promise<DelOutcome> {
    const { podNamespace: ns, podName } = req;
    const pod = await this.#d.view.getPod(ns, podName);
    const uid = pod?.metadata.uid ?? req.podUid;
    const top = pod === undefined ? undefined : await this.#d.owners.top(pod);
    const epName = top !== undefined && this.#d.owners.kindOf(top) === "kubevirt" ? top.name : podName;
    const ep = await this.#d.endpoints.get(ns, epName);
    const cur = ep?.status?.current;
    if (ep === undefined || cur === undefined || uid === "" || cur.uid !== uid) return "nothing";
    await releaseRecords(this.#d, poolsOf(cur.ips), uid);
    await this.#d.endpoints.drop(ns, epName, uid, ep);
    log.info({ endpoint: epName, released: cur.ips.flatMap((i) => [i.ipv4, i.ipv6].filter(Boolean)) }, "released");
    return "released";
  }
}
