/**
 * The kinds the embedded server serves: built-ins with fixed definitions, and custom
 * resources defined at run time by CustomResourceDefinition objects.
 */
import type { PrinterColumn } from "../api/kind.ts";
import type { Schema } from "./schema.ts";
import * as core from "./builtin-schemas/core.ts";
import * as rbac from "./builtin-schemas/rbac.ts";
import * as workloads from "./builtin-schemas/workloads.ts";
import * as cluster from "./builtin-schemas/cluster.ts";

export interface ServedResource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  readonly statusSubresource: boolean;
  /** The CRD's schema, or a built-in kind's (builtin-schemas/); kinds without one are not validated. */
  readonly schema?: Schema;
  readonly printerColumns: readonly PrinterColumn[];
  /** Custom resources refuse PUT without a resourceVersion; most built-ins allow it. */
  readonly unconditionalUpdate: boolean;
  /** The CRD's name, for custom resources. */
  readonly crd?: string;
}

export function storageKey(r: Pick<ServedResource, "group" | "plural">): string {
  return r.group === "" ? r.plural : `${r.plural}.${r.group}`;
}

export function groupVersion(r: Pick<ServedResource, "group" | "version">): string {
  return r.group === "" ? r.version : `${r.group}/${r.version}`;
}

const AGE: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  opts: { status?: boolean; short?: string[]; columns?: PrinterColumn[]; categories?: string[]; schema?: Schema } = {},
): ServedResource {
  return {
    ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames: opts.short ?? [],
    categories: opts.categories ?? [],
    namespaced,
    statusSubresource: opts.status ?? false,
    printerColumns: [...(opts.columns ?? []), AGE],
    unconditionalUpdate: true,
  };
}

const replicas = (name: string, path: string): PrinterColumn => ({ name, type: "integer", jsonPath: path });

export const BUILTIN_RESOURCES: readonly ServedResource[] = [
  builtin("", "v1", "Namespace", "namespaces", false, {
    status: true,
    short: ["ns"],
    columns: [{ name: "Status", type: "string", jsonPath: ".status.phase" }],
    schema: core.namespace,
  }),
  builtin("", "v1", "Node", "nodes", false, { status: true, short: ["no"] }),
  builtin("", "v1", "Pod", "pods", true, {
    status: true,
    short: ["po"],
    categories: ["all"],
    columns: [
      { name: "Status", type: "string", jsonPath: ".status.phase" },
      { name: "IP", type: "string", jsonPath: ".status.podIP", priority: 1 },
      { name: "Node", type: "string", jsonPath: ".spec.nodeName", priority: 1 },
    ],
  }),
  builtin("", "v1", "ConfigMap", "configmaps", true, { short: ["cm"], schema: core.configMap }),
  builtin("", "v1", "Secret", "secrets", true, { schema: core.secret }),
  builtin("", "v1", "Event", "events", true, { short: ["ev"] }),
  builtin("", "v1", "Service", "services", true, {
    status: true,
    short: ["svc"],
    categories: ["all"],
    schema: core.service,
  }),
  builtin("", "v1", "Endpoints", "endpoints", true, { short: ["ep"], schema: core.endpoints }),
  builtin("", "v1", "ServiceAccount", "serviceaccounts", true, { short: ["sa"], schema: core.serviceAccount }),
  builtin("coordination.k8s.io", "v1", "Lease", "leases", true, {
    columns: [{ name: "Holder", type: "string", jsonPath: ".spec.holderIdentity" }],
    schema: cluster.lease,
  }),
  builtin("apps", "v1", "Deployment", "deployments", true, {
    status: true,
    short: ["deploy"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
    schema: workloads.deployment,
  }),
  builtin("apps", "v1", "ReplicaSet", "replicasets", true, {
    status: true,
    short: ["rs"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
    schema: workloads.replicaSet,
  }),
  builtin("apps", "v1", "StatefulSet", "statefulsets", true, {
    status: true,
    short: ["sts"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
    schema: workloads.statefulSet,
  }),
  builtin("apps", "v1", "DaemonSet", "daemonsets", true, {
    status: true,
    short: ["ds"],
    categories: ["all"],
    columns: [replicas("Desired", ".status.desiredNumberScheduled"), replicas("Ready", ".status.numberReady")],
    schema: workloads.daemonSet,
  }),
  builtin("batch", "v1", "Job", "jobs", true, { status: true, categories: ["all"], schema: workloads.job }),
  builtin("batch", "v1", "CronJob", "cronjobs", true, {
    status: true,
    short: ["cj"],
    categories: ["all"],
    schema: workloads.cronJob,
  }),
  builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, {
    status: true,
    short: ["pdb"],
    schema: cluster.podDisruptionBudget,
  }),
  builtin("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, {
    short: ["pc"],
    columns: [{ name: "Value", type: "integer", jsonPath: ".value" }],
    schema: cluster.priorityClass,
  }),
  builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true, { schema: rbac.role }),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, { schema: rbac.clusterRole }),
  builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, {
    columns: [{ name: "Role", type: "string", jsonPath: ".roleRef.name" }],
    schema: rbac.roleBinding,
  }),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, {
    columns: [{ name: "Role", type: "string", jsonPath: ".roleRef.name" }],
    schema: rbac.clusterRoleBinding,
  }),
  builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, {
    status: true,
    short: ["crd", "crds"],
  }),
  builtin(
    "admissionregistration.k8s.io",
    "v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    false,
    {
      schema: cluster.mutatingWebhookConfiguration,
    },
  ),
  builtin(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    false,
    { schema: cluster.validatingWebhookConfiguration },
  ),
];

interface CrdVersion {
  name?: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: unknown };
  additionalPrinterColumns?: Array<Record<string, unknown>>;
}

export interface CrdObject {
  metadata?: { name?: string };
  spec?: {
    group?: string;
    scope?: string;
    names?: {
      kind?: string;
      listKind?: string;
      plural?: string;
      singular?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions?: CrdVersion[];
  };
}

/** The resources a CRD serves, one per served version. */
export function resourcesOfCrd(crd: CrdObject): ServedResource[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const kind = names.kind ?? "";
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => {
      const cols = (v.additionalPrinterColumns ?? []).map((c) => {
        const col: PrinterColumn = {
          name: String(c["name"]),
          type: String(c["type"]) as PrinterColumn["type"],
          jsonPath: String(c["jsonPath"]),
        };
        const out: { -readonly [K in keyof PrinterColumn]: PrinterColumn[K] } = { ...col };
        if (typeof c["description"] === "string") out.description = c["description"];
        if (typeof c["priority"] === "number") out.priority = c["priority"];
        return out;
      });
      const r: ServedResource = {
        group: spec.group ?? "",
        version: v.name ?? "",
        kind,
        listKind: names.listKind ?? `${kind}List`,
        plural: names.plural ?? "",
        singular: names.singular ?? kind.toLowerCase(),
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        namespaced: spec.scope === "Namespaced",
        statusSubresource: v.subresources?.status !== undefined,
        ...(v.schema?.openAPIV3Schema !== undefined ? { schema: v.schema.openAPIV3Schema } : {}),
        // A CRD without printer columns shows its age, as kube-apiserver does.
        printerColumns: cols.length > 0 ? cols : [AGE],
        unconditionalUpdate: false,
        crd: crd.metadata?.name ?? "",
      };
      return r;
    });
}
