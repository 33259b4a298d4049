/**
 * The workload controllers' decisions, pure: given an object and what it owns, which pods
 * (or ReplicaSets) to create, scale or delete, and the status to report. The executor
 * (workload-controllers.ts) carries them out and calls again on the next change.
 */
import { podFromTemplate, randomSuffix, templateHash } from "./pod-template.ts";
import {
  isFinished,
  isRunning,
  isTerminating,
  ownedBy,
  type NodeObj,
  type PodObj,
  type WorkloadObj,
} from "./workload-types.ts";
import { placePod } from "./scheduling.ts";

export type Action =
  | { op: "createPod"; pod: PodObj }
  | { op: "deletePod"; name: string }
  | { op: "createReplicaSet"; rs: WorkloadObj }
  | { op: "scaleReplicaSet"; name: string; replicas: number };

export interface Plan {
  actions: Action[];
  status: Record<string, unknown>;
}

const active = (pods: readonly PodObj[]): PodObj[] => pods.filter((p) => !isTerminating(p) && !isFinished(p));
const byAge = (a: PodObj, b: PodObj): number =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

/** ReplicaSet: as many active pods as replicas; the ones removed first are unscheduled, then not running, then the newest. */
export function planReplicaSet(rs: WorkloadObj, pods: readonly PodObj[], random?: () => number): Plan {
  const mine = active(ownedBy(rs, pods));
  const want = rs.spec?.replicas ?? 1;
  const actions: Action[] = [];
  for (let i = mine.length; i < want; i++)
    actions.push({ op: "createPod", pod: podFromTemplate(rs, `${rs.metadata.name}-${randomSuffix(random)}`) });
  if (mine.length > want) {
    const rank = (p: PodObj): number => (p.spec?.nodeName === undefined ? 0 : isRunning(p) ? 2 : 1);
    const victims = [...mine].sort((a, b) => rank(a) - rank(b) || byAge(b, a)).slice(0, mine.length - want);
    for (const p of victims) actions.push({ op: "deletePod", name: p.metadata.name ?? "" });
  }
  const ready = mine.filter(isRunning).length;
  return {
    actions,
    status: {
      replicas: mine.length,
      fullyLabeledReplicas: mine.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation ?? 1,
    },
  };
}

const HASH = "pod-template-hash";

/**
 * Deployment: a ReplicaSet per template (its hash in the name and labels). The current one is
 * scaled to replicas; older ones shrink as the current one's pods become ready (a rolling
 * update with the whole surge at once), so `rollout restart` replaces every pod.
 */
export function planDeployment(d: WorkloadObj, sets: readonly WorkloadObj[]): Plan {
  const want = d.spec?.replicas ?? 1;
  const hash = templateHash(d.spec?.template);
  const mine = ownedBy(d, sets);
  const current = mine.find((rs) => rs.metadata.labels?.[HASH] === hash);
  const old = mine.filter((rs) => rs !== current);
  const actions: Action[] = [];
  const revision = Math.max(
    0,
    ...mine.map((rs) => Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0)),
  );
  if (current === undefined) {
    const t = d.spec?.template ?? {};
    const labels = { ...(t.metadata?.labels ?? {}), [HASH]: hash };
    const selector = (d.spec?.["selector"] ?? {}) as { matchLabels?: Record<string, string> };
    actions.push({
      op: "createReplicaSet",
      rs: {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace ?? "default",
          labels,
          annotations: {
            "deployment.kubernetes.io/revision": String(revision + 1),
            "deployment.kubernetes.io/desired-replicas": String(want),
          },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: d.metadata.name ?? "",
              uid: d.metadata.uid ?? "",
              controller: true,
              blockOwnerDeletion: true,
            } as never,
          ],
        },
        spec: {
          replicas: want,
          selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [HASH]: hash } },
          template: { ...t, metadata: { ...(t.metadata ?? {}), labels } },
        },
      },
    });
  } else if ((current.spec?.replicas ?? 1) !== want) {
    actions.push({ op: "scaleReplicaSet", name: current.metadata.name ?? "", replicas: want });
  }
  const newReady = Number(current?.status?.["readyReplicas"] ?? 0);
  let budget = Math.max(0, want - newReady);
  for (const rs of [...old].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))) {
    const keep = Math.min(rs.spec?.replicas ?? 0, budget);
    budget -= keep;
    if ((rs.spec?.replicas ?? 0) !== keep)
      actions.push({ op: "scaleReplicaSet", name: rs.metadata.name ?? "", replicas: keep });
  }
  const sum = (key: string): number => mine.reduce((n, rs) => n + Number(rs.status?.[key] ?? 0), 0);
  const available = sum("availableReplicas");
  const updated = Number(current?.status?.["replicas"] ?? 0);
  return {
    actions,
    status: {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum("replicas"),
      updatedReplicas: updated,
      readyReplicas: sum("readyReplicas"),
      availableReplicas: available,
      ...(sum("replicas") - available > 0 ? { unavailableReplicas: sum("replicas") - available } : {}),
      conditions: [
        {
          type: "Available",
          status: available >= want ? "True" : "False",
          reason: available >= want ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
          message:
            available >= want
              ? "Deployment has minimum availability."
              : "Deployment does not have minimum availability.",
        },
        {
          type: "Progressing",
          status: "True",
          reason: updated === want && available >= want ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
          message: `ReplicaSet "${d.metadata.name}-${hash}" ${updated === want && available >= want ? "has successfully progressed" : "is progressing"}.`,
        },
      ],
    },
  };
}

const ordinalOf = (sts: WorkloadObj, p: PodObj): number => {
  const name = p.metadata.name ?? "";
  const prefix = `${sts.metadata.name}-`;
  return name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) ? Number(name.slice(prefix.length)) : -1;
};

/**
 * StatefulSet: pods name-<ordinal> for ordinals from `ordinals.start`. OrderedReady (the
 * default) creates the lowest missing ordinal once every lower one runs, deletes the highest
 * surplus one at a time, and replaces pods of an older template from the highest down;
 * Parallel does each at once.
 */
export function planStatefulSet(sts: WorkloadObj, pods: readonly PodObj[]): Plan {
  const start = sts.spec?.ordinals?.start ?? 0;
  const want = sts.spec?.replicas ?? 1;
  const parallel = sts.spec?.podManagementPolicy === "Parallel";
  const revision = `${sts.metadata.name}-${templateHash(sts.spec?.template)}`;
  const mine = ownedBy(sts, pods).filter((p) => !isFinished(p));
  const byOrdinal = new Map(mine.map((p) => [ordinalOf(sts, p), p]));
  const actions: Action[] = [];
  const status = {
    observedGeneration: sts.metadata.generation ?? 1,
    replicas: mine.filter((p) => !isTerminating(p)).length,
    readyReplicas: mine.filter(isRunning).length,
    availableReplicas: mine.filter(isRunning).length,
    currentReplicas: mine.filter((p) => p.metadata.labels?.["controller-revision-hash"] === revision).length,
    updatedReplicas: mine.filter((p) => p.metadata.labels?.["controller-revision-hash"] === revision).length,
    currentRevision: revision,
    updateRevision: revision,
  };
  if (!parallel && mine.some(isTerminating)) return { actions, status };
  const inRange = (o: number): boolean => o >= start && o < start + want;
  const condemned = mine
    .filter((p) => !isTerminating(p) && !inRange(ordinalOf(sts, p)))
    .sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a));
  for (const p of parallel ? condemned : condemned.slice(0, 1))
    actions.push({ op: "deletePod", name: p.metadata.name ?? "" });
  if (!parallel && actions.length > 0) return { actions, status };
  for (let o = start; o < start + want; o++) {
    const p = byOrdinal.get(o);
    if (p === undefined) {
      const name = `${sts.metadata.name}-${o}`;
      const serviceName = sts.spec?.["serviceName"];
      actions.push({
        op: "createPod",
        pod: podFromTemplate(sts, name, {
          labels: {
            "controller-revision-hash": revision,
            "statefulset.kubernetes.io/pod-name": name,
            "apps.kubernetes.io/pod-index": String(o),
          },
          spec: {
            hostname: name,
            ...(typeof serviceName === "string" && serviceName !== "" ? { subdomain: serviceName } : {}),
          },
        }),
      });
      if (!parallel) return { actions, status };
    } else if (!parallel && !isRunning(p)) {
      return { actions, status };
    }
  }
  if (actions.length > 0) return { actions, status };
  // Every pod is there and running: replace the highest one of an older template.
  const stale = mine
    .filter(
      (p) =>
        inRange(ordinalOf(sts, p)) && !isTerminating(p) && p.metadata.labels?.["controller-revision-hash"] !== revision,
    )
    .sort((a, b) => ordinalOf(sts, b) - ordinalOf(sts, a));
  for (const p of parallel ? stale : stale.slice(0, 1)) actions.push({ op: "deletePod", name: p.metadata.name ?? "" });
  return { actions, status };
}

/**
 * DaemonSet: one pod on every node its template's nodeSelector and affinity admit (Ready or
 * not: daemons tolerate not-ready nodes), none elsewhere; a pod of an older template is
 * replaced one node at a time.
 */
export function planDaemonSet(
  ds: WorkloadObj,
  pods: readonly PodObj[],
  nodes: readonly NodeObj[],
  random?: () => number,
): Plan {
  const hash = templateHash(ds.spec?.template);
  const probe: PodObj = { metadata: {}, spec: (ds.spec?.template?.spec ?? {}) as NonNullable<PodObj["spec"]> };
  const readyAll = nodes.map((n) => ({ ...n, status: { conditions: [{ type: "Ready", status: "True" }] } }));
  const eligible = new Set(
    readyAll
      .filter((n) => {
        const placed = placePod(probe, [n], () => 0);
        return "node" in placed;
      })
      .map((n) => n.metadata.name ?? ""),
  );
  const mine = active(ownedBy(ds, pods));
  const actions: Action[] = [];
  const seen = new Set<string>();
  for (const p of [...mine].sort(byAge)) {
    const node = p.spec?.nodeName ?? "";
    if (!eligible.has(node) || seen.has(node)) actions.push({ op: "deletePod", name: p.metadata.name ?? "" });
    else seen.add(node);
  }
  for (const node of [...eligible].sort()) {
    if (seen.has(node)) continue;
    actions.push({
      op: "createPod",
      pod: podFromTemplate(ds, `${ds.metadata.name}-${randomSuffix(random)}`, {
        labels: { "controller-revision-hash": hash, "pod-template-generation": String(ds.metadata.generation ?? 1) },
        spec: { nodeName: node },
      }),
    });
  }
  const terminating = ownedBy(ds, pods).some(isTerminating);
  if (actions.length === 0 && !terminating) {
    const stale = mine.filter((p) => p.metadata.labels?.["controller-revision-hash"] !== hash).sort(byAge)[0];
    if (stale !== undefined) actions.push({ op: "deletePod", name: stale.metadata.name ?? "" });
  }
  const placed = mine.filter((p) => eligible.has(p.spec?.nodeName ?? ""));
  return {
    actions,
    status: {
      observedGeneration: ds.metadata.generation ?? 1,
      desiredNumberScheduled: eligible.size,
      currentNumberScheduled: placed.length,
      numberMisscheduled: mine.length - placed.length,
      numberReady: placed.filter(isRunning).length,
      numberAvailable: placed.filter(isRunning).length,
      updatedNumberScheduled: placed.filter((p) => p.metadata.labels?.["controller-revision-hash"] === hash).length,
    },
  };
}

/** Job: up to `parallelism` pods at a time until `completions` have succeeded; then Complete. */
export function planJob(job: WorkloadObj, pods: readonly PodObj[], now: string, random?: () => number): Plan {
  const completions = job.spec?.completions ?? 1;
  const parallelism = job.spec?.parallelism ?? 1;
  const mine = ownedBy(job, pods);
  const succeeded = mine.filter((p) => p.status?.phase === "Succeeded").length;
  const failed = mine.filter((p) => p.status?.phase === "Failed").length;
  const running = active(mine);
  const actions: Action[] = [];
  const startTime = (job.status?.["startTime"] as string | undefined) ?? now;
  const done = succeeded >= completions;
  if (!done) {
    const n = Math.min(parallelism, completions - succeeded) - running.length;
    for (let i = 0; i < n; i++) {
      const uid = job.metadata.uid ?? "";
      const name = job.metadata.name ?? "";
      actions.push({
        op: "createPod",
        pod: podFromTemplate(job, `${name}-${randomSuffix(random)}`, {
          labels: {
            "job-name": name,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "batch.kubernetes.io/controller-uid": uid,
          },
        }),
      });
    }
  }
  const completionTime = (job.status?.["completionTime"] as string | undefined) ?? now;
  return {
    actions,
    status: {
      startTime,
      active: done ? 0 : running.length,
      ready: running.filter(isRunning).length,
      succeeded,
      failed,
      ...(done
        ? {
            completionTime,
            conditions: [
              {
                type: "SuccessCriteriaMet",
                status: "True",
                reason: "CompletionsReached",
                message: "Reached expected number of succeeded pods",
                lastTransitionTime: completionTime,
              },
              {
                type: "Complete",
                status: "True",
                reason: "CompletionsReached",
                message: "Reached expected number of succeeded pods",
                lastTransitionTime: completionTime,
              },
            ],
          }
        : {}),
    },
  };
}
