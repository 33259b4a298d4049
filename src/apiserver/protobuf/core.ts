/**
 * k8s.io/api/core/v1 messages kubectl's typed commands send (`kubectl create namespace,
 * configmap, secret, service, serviceaccount`, and the pod templates of workloads). Field
 * numbers from k8s.io/api core/v1/generated.proto. A status message without fields here
 * decodes only when all its fields are zero, as a create sends it.
 */
import { f, list, map, message, ptr } from "./message.ts";
import { ObjectMeta } from "./meta.ts";

export const Namespace = message("k8s.io.api.core.v1.Namespace", {
  1: f("metadata", ObjectMeta),
  2: f("spec", message("k8s.io.api.core.v1.NamespaceSpec", { 1: list("finalizers", "string") })),
  3: f("status", message("k8s.io.api.core.v1.NamespaceStatus", { 1: f("phase", "string") })),
});

export const ConfigMap = message("k8s.io.api.core.v1.ConfigMap", {
  1: f("metadata", ObjectMeta),
  2: map("data", "string"),
  3: map("binaryData", "bytes"),
  4: ptr("immutable", "bool"),
});

export const Secret = message("k8s.io.api.core.v1.Secret", {
  1: f("metadata", ObjectMeta),
  2: map("data", "bytes"),
  3: f("type", "string"),
  4: map("stringData", "string"),
  5: ptr("immutable", "bool"),
});

const ObjectReference = message("k8s.io.api.core.v1.ObjectReference", {
  1: f("kind", "string"),
  2: f("namespace", "string"),
  3: f("name", "string"),
  4: f("uid", "string"),
  5: f("apiVersion", "string"),
  6: f("resourceVersion", "string"),
  7: f("fieldPath", "string"),
});

const LocalObjectReference = message("k8s.io.api.core.v1.LocalObjectReference", { 1: f("name", "string") });

export const ServiceAccount = message("k8s.io.api.core.v1.ServiceAccount", {
  1: f("metadata", ObjectMeta),
  2: list("secrets", ObjectReference),
  3: list("imagePullSecrets", LocalObjectReference),
  4: ptr("automountServiceAccountToken", "bool"),
});

const ServicePort = message("k8s.io.api.core.v1.ServicePort", {
  1: f("name", "string"),
  2: f("protocol", "string"),
  3: f("port", "int32"),
  4: f("targetPort", "intOrString"),
  5: f("nodePort", "int32"),
  6: ptr("appProtocol", "string"),
});

export const Service = message("k8s.io.api.core.v1.Service", {
  1: f("metadata", ObjectMeta),
  2: f(
    "spec",
    message("k8s.io.api.core.v1.ServiceSpec", {
      1: list("ports", ServicePort),
      2: map("selector", "string"),
      3: f("clusterIP", "string"),
      4: f("type", "string"),
      5: list("externalIPs", "string"),
      7: f("sessionAffinity", "string"),
      8: f("loadBalancerIP", "string"),
      9: list("loadBalancerSourceRanges", "string"),
      10: f("externalName", "string"),
      11: f("externalTrafficPolicy", "string"),
      12: f("healthCheckNodePort", "int32"),
      13: f("publishNotReadyAddresses", "bool"),
      18: list("clusterIPs", "string"),
      19: list("ipFamilies", "string"),
    }),
  ),
  3: f("status", message("k8s.io.api.core.v1.ServiceStatus", {})),
});

const ContainerPort = message("k8s.io.api.core.v1.ContainerPort", {
  1: f("name", "string"),
  2: f("hostPort", "int32"),
  3: f("containerPort", "int32"),
  4: f("protocol", "string"),
  5: f("hostIP", "string"),
});

const EnvVar = message("k8s.io.api.core.v1.EnvVar", { 1: f("name", "string"), 2: f("value", "string") });

const ResourceRequirements = message("k8s.io.api.core.v1.ResourceRequirements", {
  1: map("limits", "quantity"),
  2: map("requests", "quantity"),
});

const Container = message("k8s.io.api.core.v1.Container", {
  1: f("name", "string"),
  2: f("image", "string"),
  3: list("command", "string"),
  4: list("args", "string"),
  5: f("workingDir", "string"),
  6: list("ports", ContainerPort),
  7: list("env", EnvVar),
  8: f("resources", ResourceRequirements),
  13: f("terminationMessagePath", "string"),
  14: f("imagePullPolicy", "string"),
  16: f("stdin", "bool"),
  17: f("stdinOnce", "bool"),
  18: f("tty", "bool"),
  20: f("terminationMessagePolicy", "string"),
});

const PodSpec = message("k8s.io.api.core.v1.PodSpec", {
  2: list("containers", Container),
  3: f("restartPolicy", "string"),
  4: ptr("terminationGracePeriodSeconds", "int64"),
  5: ptr("activeDeadlineSeconds", "int64"),
  6: f("dnsPolicy", "string"),
  7: map("nodeSelector", "string"),
  8: f("serviceAccountName", "string"),
  9: f("serviceAccount", "string"),
  10: f("nodeName", "string"),
  11: f("hostNetwork", "bool"),
  12: f("hostPID", "bool"),
  13: f("hostIPC", "bool"),
  16: f("hostname", "string"),
  17: f("subdomain", "string"),
  19: f("schedulerName", "string"),
  20: list("initContainers", Container),
  21: ptr("automountServiceAccountToken", "bool"),
  24: f("priorityClassName", "string"),
});

export const PodTemplateSpec = message("k8s.io.api.core.v1.PodTemplateSpec", {
  1: f("metadata", ObjectMeta),
  2: f("spec", PodSpec),
});
