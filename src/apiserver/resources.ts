/**
 * The kinds the embedded server serves: built-ins with fixed definitions, and custom
 * resources defined at run time by CustomResourceDefinition objects.
 */
import type { PrinterColumn } from "../api/kind.ts";
import type { Schema } from "./schema.ts";

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
  /** CRD schema (custom resources only); built-ins are not schema-validated. */
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
  opts: { status?: boolean; short?: string[]; columns?: PrinterColumn[]; categories?: string[] } = {},
): ServedResource {
  return {
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
  builtin("", "v1", "ConfigMap", "configmaps", true, { short: ["cm"] }),
  builtin("", "v1", "Secret", "secrets", true),
  builtin("", "v1", "Event", "events", true, { short: ["ev"] }),
  builtin("", "v1", "Service", "services", true, { status: true, short: ["svc"], categories: ["all"] }),
  builtin("", "v1", "ServiceAccount", "serviceaccounts", true, { short: ["sa"] }),
  builtin("coordination.k8s.io", "v1", "Lease", "leases", true, {
    columns: [{ name: "Holder", type: "string", jsonPath: ".spec.holderIdentity" }],
  }),
  builtin("apps", "v1", "Deployment", "deployments", true, {
    status: true,
    short: ["deploy"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
  }),
  builtin("apps", "v1", "ReplicaSet", "replicasets", true, {
    status: true,
    short: ["rs"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
  }),
  builtin("apps", "v1", "StatefulSet", "statefulsets", true, {
    status: true,
    short: ["sts"],
    categories: ["all"],
    columns: [replicas("Desired", ".spec.replicas"), replicas("Ready", ".status.readyReplicas")],
  }),
  builtin("apps", "v1", "DaemonSet", "daemonsets", true, {
    status: true,
    short: ["ds"],
    categories: ["all"],
    columns: [replicas("Desired", ".status.desiredNumberScheduled"), replicas("Ready", ".status.numberReady")],
  }),
  builtin("batch", "v1", "Job", "jobs", true, { status: true, categories: ["all"] }),
  builtin("batch", "v1", "CronJob", "cronjobs", true, { status: true, short: ["cj"], categories: ["all"] }),
  builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, {
    status: true,
    short: ["crd", "crds"],
  }),
  builtin("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false),
  builtin(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    false,
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
