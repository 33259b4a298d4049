/**
 * What a pod's owners make of it, in one place for the agent and the GC: its top
 * controller (a Deployment behind a ReplicaSet, a CronJob behind a Job, spec §1.3.2), its
 * workload kind (apps/v1 StatefulSet and KubeVirt VMI keep fixed addresses; an OpenKruise
 * StatefulSet's pods are stateless, §3.1), and whether a StatefulSet or VM still wants a
 * pod of that name (§3.2, §3.3), read fresh: a scale-down must count the moment it happens.
 */
import type { ObjectMeta } from "../api/meta.ts";
import {
  controllerOf,
  isValidStatefulSetPod,
  isValidVMPod,
  resolveTopController,
  workloadKind,
  workloadKindOfEndpoint,
  type FixedAddressSwitches,
  type PodLike,
  type TopController,
  type WorkloadKind,
} from "../ipam/pod.ts";
import type { Clock } from "../kube/clock.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { isNotFound } from "../kube/errors.ts";
import { KUBEVIRT_VM, KUBEVIRT_VMI, Resources, type ResourceType } from "../kube/resources.ts";
import { retryTransient } from "../kube/retry.ts";

export type StaticKind = Exclude<WorkloadKind, "stateless">;

export interface OwnerResolver {
  top(pod: PodLike): Promise<TopController>;
  /** By the owner's group and kind. */
  kindOf(owner: { apiVersion: string; kind: string } | undefined): WorkloadKind;
  /** From an endpoint's recorded kind alone: only for when the pod, and so its owner's group, is unknown. */
  kindOfEndpoint(ownerControllerType: string | undefined): WorkloadKind;
  /** Whether the StatefulSet or VM `ownerName` still wants the pod `podName`. */
  stillWanted(kind: StaticKind, ns: string, podName: string, ownerName: string): Promise<boolean>;
}

/** How long an owner (ReplicaSet, Job) read for one pod answers for its siblings. */
const OWNER_TTL_MS = 5000;
const OWNER_MEMO_CAP = 10_000;

type Owner = { metadata: ObjectMeta } & KubeObject;

export class KubeOwnerResolver implements OwnerResolver {
  readonly #client: KubeClient;
  readonly #on: FixedAddressSwitches;
  readonly #clock: Clock;
  readonly #memo = new Map<string, { expires: number; obj: Owner }>();

  constructor(client: KubeClient, on: FixedAddressSwitches, clock: Clock) {
    this.#client = client;
    this.#on = on;
    this.#clock = clock;
  }

  top(pod: PodLike): Promise<TopController> {
    const refUid = controllerOf(pod.metadata)?.uid;
    return resolveTopController(pod, async (kind, ns, name) => {
      // The pods of one ReplicaSet or Job arrive together (a rollout, a recovery): their
      // owner is read once per few seconds, not once per pod. Only the same object (UID)
      // is served from memory, and an owner re-parented meanwhile is seen within the TTL.
      const key = `${kind}/${ns}/${name}`;
      const now = this.#clock.now();
      const hit = this.#memo.get(key);
      if (hit !== undefined && hit.expires > now && refUid !== undefined && hit.obj.metadata.uid === refUid)
        return hit.obj;
      const obj = await this.#get<Owner>(kind === "ReplicaSet" ? Resources.replicasets : Resources.jobs, name, ns);
      if (obj === undefined) {
        this.#memo.delete(key);
        return undefined;
      }
      if (this.#memo.size >= OWNER_MEMO_CAP) this.#memo.clear();
      this.#memo.set(key, { expires: now + OWNER_TTL_MS, obj });
      return obj;
    });
  }

  kindOf(owner: { apiVersion: string; kind: string } | undefined): WorkloadKind {
    return workloadKind(owner, this.#on);
  }

  kindOfEndpoint(ownerControllerType: string | undefined): WorkloadKind {
    return workloadKindOfEndpoint(ownerControllerType, this.#on);
  }

  async stillWanted(kind: StaticKind, ns: string, podName: string, ownerName: string): Promise<boolean> {
    if (kind === "statefulset") {
      const sts = await this.#get<Parameters<typeof isValidStatefulSetPod>[1] & object>(
        Resources.statefulsets,
        ownerName,
        ns,
      );
      return isValidStatefulSetPod(podName, sts);
    }
    const vmi = await this.#get<Owner>(KUBEVIRT_VMI, ownerName, ns);
    const vm = await this.#get<Owner>(KUBEVIRT_VM, ownerName, ns);
    return isValidVMPod(vmi, vm);
  }

  async #get<T>(rt: ResourceType, name: string, ns: string): Promise<T | undefined> {
    try {
      return (await retryTransient(`GET ${rt.kind} ${ns}/${name}`, () => this.#client.get(rt, name, ns))) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
