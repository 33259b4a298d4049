/**
 * The Mutating- and ValidatingWebhookConfigurations of spec §2.0, both named
 * `spiderpool-controller`, pointing either at the in-cluster Service or (sandbox, tests)
 * at a URL, with the CA that signed the serving certificate in `caBundle`. Written with
 * the stored resourceVersion so that a concurrent writer is noticed, not overwritten.
 */
import { stringify } from "yaml";
import { ApiError, Resources, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { GROUP, mutatePath, validatePath } from "./server.ts";

export const WEBHOOK_CONFIG_NAME = "spiderpool-controller";

export interface WebhookTarget {
  /** `https://host:port` for a URL client config; otherwise the Service is used. */
  url?: string;
  service?: { namespace: string; name: string; port: number };
  caPem: string;
}

export interface RegisteredResource {
  singular: string;
  plural: string;
  mutatingOps: readonly string[];
  validatingOps: readonly string[];
  /** For a kind outside spiderpool.spidernet.io/v2beta1 (the pod webhook). */
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  mutatePath?: string;
  namespaceSelector?: Record<string, unknown>;
}

export const POD_WEBHOOK_NAME = "pods.spiderpool.spidernet.io";
export const POD_MUTATE_PATH = "/mutate--v1-pod";

/** The pod webhook (spiderpool-api §2.0): CREATE only, namespaces selected as the chart does. */
export function podRegistered(exclude: readonly string[], include: readonly string[]): RegisteredResource {
  const exprs = [
    ...(exclude.length > 0 ? [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...exclude] }] : []),
    ...(include.length > 0 ? [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...include] }] : []),
  ];
  return {
    singular: "pod",
    plural: "pods",
    mutatingOps: ["CREATE"],
    validatingOps: [],
    name: POD_WEBHOOK_NAME,
    apiGroup: "",
    apiVersion: "v1",
    mutatePath: POD_MUTATE_PATH,
    ...(exprs.length > 0 ? { namespaceSelector: { matchExpressions: exprs } } : {}),
  };
}

/** The resources of spec §2.0 registered unconditionally. */
export const ALWAYS_REGISTERED: readonly RegisteredResource[] = [
  {
    singular: "spiderippool",
    plural: "spiderippools",
    mutatingOps: ["CREATE", "UPDATE"],
    validatingOps: ["CREATE", "UPDATE", "DELETE"],
  },
  {
    singular: "spidersubnet",
    plural: "spidersubnets",
    mutatingOps: ["CREATE", "UPDATE"],
    validatingOps: ["CREATE", "UPDATE", "DELETE"],
  },
  {
    singular: "spiderreservedip",
    plural: "spiderreservedips",
    mutatingOps: ["CREATE", "UPDATE"],
    validatingOps: ["CREATE", "UPDATE"],
  },
];

export const COORDINATOR_REGISTERED: RegisteredResource = {
  singular: "spidercoordinator",
  plural: "spidercoordinators",
  mutatingOps: ["CREATE", "UPDATE"],
  validatingOps: ["CREATE", "UPDATE"],
};

export const MULTUS_CONFIG_REGISTERED: RegisteredResource = {
  singular: "spidermultusconfig",
  plural: "spidermultusconfigs",
  mutatingOps: ["CREATE", "UPDATE"],
  validatingOps: ["CREATE", "UPDATE"],
};

function clientConfig(t: WebhookTarget, path: string): Record<string, unknown> {
  const caBundle = Buffer.from(t.caPem).toString("base64");
  if (t.url !== undefined) return { url: `${t.url}${path}`, caBundle };
  if (t.service === undefined) throw new TypeError("a webhook target needs a url or a service");
  return { service: { ...t.service, path }, caBundle };
}

function hooks(t: WebhookTarget, rs: readonly RegisteredResource[], mode: "mutate" | "validate"): unknown[] {
  return rs
    .filter((r) => (mode === "mutate" ? r.mutatingOps : r.validatingOps).length > 0)
    .map((r) => ({
      name: r.name ?? `${r.singular}.${GROUP}`,
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: "Fail",
      timeoutSeconds: 10,
      clientConfig: clientConfig(
        t,
        mode === "mutate" ? (r.mutatePath ?? mutatePath(r.singular)) : validatePath(r.singular),
      ),
      ...(r.namespaceSelector !== undefined ? { namespaceSelector: r.namespaceSelector } : {}),
      rules: [
        {
          operations: mode === "mutate" ? r.mutatingOps : r.validatingOps,
          apiGroups: [r.apiGroup ?? GROUP],
          apiVersions: [r.apiVersion ?? "v2beta1"],
          resources: [r.plural],
          scope: "*",
        },
      ],
    }));
}

export function webhookConfigurations(
  t: WebhookTarget,
  rs: readonly RegisteredResource[] = ALWAYS_REGISTERED,
): { mutating: KubeObject; validating: KubeObject } {
  const meta = { name: WEBHOOK_CONFIG_NAME, labels: { "app.kubernetes.io/name": "spiderpool" } };
  return {
    mutating: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { ...meta },
      webhooks: hooks(t, rs, "mutate"),
    },
    validating: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { ...meta },
      webhooks: hooks(t, rs, "validate"),
    },
  };
}

const MAX_ATTEMPTS = 5;

async function apply(client: KubeClient, rt: typeof Resources.mutatingwebhookconfigurations, obj: KubeObject) {
  for (let attempt = 1; ; attempt++) {
    try {
      const cur = await client.get(rt, WEBHOOK_CONFIG_NAME).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      });
      if (cur === undefined) return await client.create(rt, obj);
      return await client.update(rt, { ...obj, metadata: { ...cur.metadata, ...obj.metadata } });
    } catch (err) {
      const retry = err instanceof ApiError && (err.status === 409 || err.reason === "AlreadyExists");
      if (!retry || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/** Creates or updates both configurations (at start and after every certificate rotation). */
export async function registerWebhooks(
  client: KubeClient,
  t: WebhookTarget,
  rs: readonly RegisteredResource[] = ALWAYS_REGISTERED,
): Promise<void> {
  const { mutating, validating } = webhookConfigurations(t, rs);
  await apply(client, Resources.mutatingwebhookconfigurations, mutating);
  await apply(client, Resources.validatingwebhookconfigurations, validating);
}

/** The manifest in deploy/: Service target in kube-system, caBundle left for the controller to fill. */
export function renderWebhookManifest(namespace = "kube-system"): string {
  // As the chart, which enables the multus configs and the coordinator by default.
  const { mutating, validating } = webhookConfigurations(
    { service: { namespace, name: WEBHOOK_CONFIG_NAME, port: 5722 }, caPem: "" },
    [...ALWAYS_REGISTERED, MULTUS_CONFIG_REGISTERED, COORDINATOR_REGISTERED],
  );
  const header =
    "# Generated by scripts/gen-webhooks.ts from src/controller/webhooks/registration.ts; do not edit.\n" +
    "# caBundle is filled by spiderpool-controller at start with the CA of its serving certificate.\n";
  return `${header}---\n${stringify(mutating)}---\n${stringify(validating)}`;
}

/** True when the validating configuration exists (some replica registered already). */
export async function webhooksRegistered(client: KubeClient): Promise<boolean> {
  try {
    await client.get(Resources.validatingwebhookconfigurations, WEBHOOK_CONFIG_NAME);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    throw err;
  }
}
