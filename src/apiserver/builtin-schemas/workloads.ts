/**
 * Schemas of apps/v1 and batch/v1 workloads. Fields the API marks required (selector,
 * template) are not required here: this project's tests create workload objects only as
 * owners of the pods they make (docs/apiserver.md).
 */
import type { Schema } from "../schema.ts";
import { arr, bool, int32, int64, intOrString, kind, labelSelector, obj, open, podTemplate, str } from "./shapes.ts";

const rollingUpdate = obj({ maxUnavailable: intOrString, maxSurge: intOrString, partition: int32 });
/** apps/v1 defaulting: a workload written without replicas has one (what its Scale already reports). */
const replicas: Schema = { ...int32, default: 1 };

export const deployment: Schema = kind({
  spec: obj({
    replicas,
    selector: labelSelector,
    template: podTemplate,
    strategy: obj({ type: str, rollingUpdate }),
    minReadySeconds: int32,
    revisionHistoryLimit: int32,
    paused: bool,
    progressDeadlineSeconds: int32,
  }),
  status: open(),
});

export const replicaSet: Schema = kind({
  spec: obj({ replicas, minReadySeconds: int32, selector: labelSelector, template: podTemplate }),
  status: open(),
});

export const statefulSet: Schema = kind({
  spec: obj({
    replicas,
    selector: labelSelector,
    template: podTemplate,
    volumeClaimTemplates: arr(open()),
    serviceName: str,
    podManagementPolicy: str,
    updateStrategy: obj({ type: str, rollingUpdate }),
    revisionHistoryLimit: int32,
    minReadySeconds: int32,
    persistentVolumeClaimRetentionPolicy: obj({ whenDeleted: str, whenScaled: str }),
    ordinals: obj({ start: int32 }),
  }),
  status: open(),
});

export const daemonSet: Schema = kind({
  spec: obj({
    selector: labelSelector,
    template: podTemplate,
    updateStrategy: obj({ type: str, rollingUpdate }),
    minReadySeconds: int32,
    revisionHistoryLimit: int32,
  }),
  status: open(),
});

const jobSpec = obj({
  parallelism: int32,
  completions: int32,
  activeDeadlineSeconds: int64,
  backoffLimit: int32,
  backoffLimitPerIndex: int32,
  maxFailedIndexes: int32,
  selector: labelSelector,
  manualSelector: bool,
  template: podTemplate,
  ttlSecondsAfterFinished: int32,
  completionMode: str,
  suspend: bool,
  podReplacementPolicy: str,
  podFailurePolicy: open(),
  successPolicy: open(),
  managedBy: str,
});

export const job: Schema = kind({ spec: jobSpec, status: open() });

export const cronJob: Schema = kind({
  spec: obj({
    schedule: str,
    timeZone: str,
    startingDeadlineSeconds: int64,
    concurrencyPolicy: str,
    suspend: bool,
    jobTemplate: obj({ metadata: open(), spec: jobSpec }),
    successfulJobsHistoryLimit: int32,
    failedJobsHistoryLimit: int32,
  }),
  status: open(),
});
