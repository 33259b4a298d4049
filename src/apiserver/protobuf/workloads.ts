/**
 * apps/v1 Deployment and batch/v1 Job and CronJob, as `kubectl create deployment|job|cronjob`
 * send them. Field numbers from k8s.io/api {apps,batch}/v1/generated.proto.
 */
import { PodTemplateSpec } from "./core.ts";
import { f, message, ptr } from "./message.ts";
import { LabelSelector, ObjectMeta } from "./meta.ts";

const RollingUpdateDeployment = message("k8s.io.api.apps.v1.RollingUpdateDeployment", {
  1: ptr("maxUnavailable", "intOrString"),
  2: ptr("maxSurge", "intOrString"),
});

export const Deployment = message("k8s.io.api.apps.v1.Deployment", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.apps.v1.DeploymentSpec", {
      1: ptr("replicas", "int32"),
      2: ptr("selector", LabelSelector),
      3: f("template", PodTemplateSpec),
      4: f(
        "strategy",
        message("k8s.io.api.apps.v1.DeploymentStrategy", {
          1: f("type", "string"),
          2: ptr("rollingUpdate", RollingUpdateDeployment),
        }),
      ),
      5: f("minReadySeconds", "int32"),
      6: ptr("revisionHistoryLimit", "int32"),
      7: f("paused", "bool"),
      9: ptr("progressDeadlineSeconds", "int32"),
    }),
  ),
  3: f("status", message("k8s.io.api.apps.v1.DeploymentStatus", {})),
});

const JobSpec = message("k8s.io.api.batch.v1.JobSpec", {
  1: ptr("parallelism", "int32"),
  2: ptr("completions", "int32"),
  3: ptr("activeDeadlineSeconds", "int64"),
  4: ptr("selector", LabelSelector),
  5: ptr("manualSelector", "bool"),
  6: f("template", PodTemplateSpec),
  7: ptr("backoffLimit", "int32"),
  8: ptr("ttlSecondsAfterFinished", "int32"),
  9: ptr("completionMode", "string"),
  10: ptr("suspend", "bool"),
});

export const Job = message("k8s.io.api.batch.v1.Job", {
  1: f("metadata", ObjectMeta),
  2: f("spec", JobSpec),
  3: f("status", message("k8s.io.api.batch.v1.JobStatus", {})),
});

export const CronJob = message("k8s.io.api.batch.v1.CronJob", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.batch.v1.CronJobSpec", {
      1: f("schedule", "string"),
      2: ptr("startingDeadlineSeconds", "int64"),
      3: f("concurrencyPolicy", "string"),
      4: ptr("suspend", "bool"),
      5: f(
        "jobTemplate",
        message("k8s.io.api.batch.v1.JobTemplateSpec", { 1: f("metadata", ObjectMeta), 2: f("spec", JobSpec) }),
      ),
      6: ptr("successfulJobsHistoryLimit", "int32"),
      7: ptr("failedJobsHistoryLimit", "int32"),
      8: ptr("timeZone", "string"),
    }),
  ),
  3: f("status", message("k8s.io.api.batch.v1.CronJobStatus", {})),
});
