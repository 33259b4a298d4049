/**
 * Binds the pure admission rules to the API server: each decision lists what it needs
 * uncached (as upstream does), so two pools admitted back to back see each other.
 */
import type { SpiderIPPool } from "../../api/ippool.ts";
import { SpiderSubnetKind, type SpiderSubnet } from "../../api/subnet.ts";
import { resourceTypeOf, type KubeClient } from "../../kube/index.ts";
import { POOLS } from "../../poolstore/pool-writer.ts";
import type { SpiderReservedIP } from "../../api/reservedip.ts";
import { mutatePool, validatePool, type PoolWebhookConfig } from "./ippool.ts";
import type { SpiderCoordinator } from "../../api/coordinator.ts";
import { mutateCoordinator, validateCoordinatorSpec } from "./coordinator.ts";
import { ANNO_SMC_CR_NAME } from "../../api/annotations/index.ts";
import type { SpiderMultusConfig } from "../../api/multusconfig.ts";
import { NetworkAttachmentDefinitionKind } from "../../api/nad.ts";
import { isNotFound } from "../../kube/errors.ts";
import { mutateMultusConfig, validateMultusConfig } from "./multusconfig.ts";
import { injectGroup, injectPod, type PodLike } from "./pod.ts";
import { injectDeviceResources, referencedNetworks, type PodResourceSteps } from "./pod-resources.ts";
import { POD_MUTATE_PATH, POD_WEBHOOK_NAME } from "./registration.ts";
import { Resources } from "../../kube/resources.ts";
import { SpiderMultusConfigKind } from "../../api/multusconfig.ts";
import { mutateReservedIP, validateReservedIP } from "./reservedip.ts";
import { mutateSubnet, validateSubnet } from "./subnet.ts";
import { poolStrandingWarnings, subnetStrandingWarnings } from "./stranding-reads.ts";
import type { AdmissionRequestV1, WebhookRoute } from "./server.ts";

const SUBNETS = resourceTypeOf(SpiderSubnetKind);
const NADS = resourceTypeOf(NetworkAttachmentDefinitionKind);

/** A pure defaulter as a route's mutate handler. */
function defaulter<T>(fn: (obj: T) => T): (r: AdmissionRequestV1) => Promise<Record<string, unknown> | undefined> {
  return async (r) => (r.object ? (fn(r.object as unknown as T) as unknown as Record<string, unknown>) : undefined);
}

export function webhookRoutes(
  client: KubeClient,
  cfg: PoolWebhookConfig & {
    enableCoordinator?: boolean;
    enableMultusConfig?: boolean;
    podResourceInject?: boolean;
    podResourceSteps?: PodResourceSteps;
  },
): WebhookRoute[] {
  const subnets = async (): Promise<SpiderSubnet[]> =>
    cfg.enableSpiderSubnet ? (await client.listAll<SpiderSubnet>(SUBNETS)).items : [];
  const asPool = (o: AdmissionRequestV1["object"]): SpiderIPPool | undefined =>
    o === null || o === undefined ? undefined : (o as unknown as SpiderIPPool);
  return [
    {
      singular: "spiderippool",
      kind: "SpiderIPPool",
      mutate: async (r) => {
        const pool = asPool(r.object);
        if (pool === undefined) return undefined;
        return mutatePool(pool, await subnets(), cfg) as unknown as Record<string, unknown>;
      },
      validate: async (r) => {
        if (r.operation === "CONNECT") return undefined;
        const [pools, subs] = await Promise.all([
          r.operation === "CREATE" || r.operation === "UPDATE"
            ? client.listAll<SpiderIPPool>(POOLS).then((l) => l.items)
            : Promise.resolve([]),
          r.operation === "DELETE" ? Promise.resolve([]) : subnets(),
        ]);
        const input = { operation: r.operation, pools, subnets: subs };
        const object = asPool(r.object);
        const oldObject = asPool(r.oldObject);
        return validatePool(
          {
            ...input,
            ...(object !== undefined ? { object } : {}),
            ...(oldObject !== undefined ? { oldObject } : {}),
          },
          cfg,
        );
      },
      warn: async (r) => {
        const object = asPool(r.object);
        const oldObject = asPool(r.oldObject);
        if (r.operation !== "UPDATE" || object === undefined || oldObject === undefined) return [];
        return poolStrandingWarnings(client, oldObject, object);
      },
    },
    {
      singular: "spidersubnet",
      kind: "SpiderSubnet",
      mutate: defaulter(mutateSubnet),
      validate: async (r) => {
        if (r.operation === "CONNECT") return undefined;
        const [subs, pools] =
          r.operation === "DELETE"
            ? [[], []]
            : await Promise.all([
                r.operation === "CREATE"
                  ? client.listAll<SpiderSubnet>(SUBNETS).then((l) => l.items)
                  : Promise.resolve([] as SpiderSubnet[]),
                client.listAll<SpiderIPPool>(POOLS).then((l) => l.items),
              ]);
        return validateSubnet(
          {
            operation: r.operation,
            subnets: subs,
            pools,
            ...(r.object ? { object: r.object as unknown as SpiderSubnet } : {}),
            ...(r.oldObject ? { oldObject: r.oldObject as unknown as SpiderSubnet } : {}),
          },
          cfg,
        );
      },
      warn: async (r) =>
        r.operation === "UPDATE" && r.object && r.oldObject
          ? subnetStrandingWarnings(client, r.oldObject as unknown as SpiderSubnet, r.object as unknown as SpiderSubnet)
          : [],
    },
    {
      singular: "spiderreservedip",
      kind: "SpiderReservedIP",
      mutate: defaulter(mutateReservedIP),
      validate: async (r) =>
        r.operation === "CREATE" || r.operation === "UPDATE"
          ? validateReservedIP(
              r.operation,
              (r.object ?? undefined) as SpiderReservedIP | undefined,
              (r.oldObject ?? undefined) as SpiderReservedIP | undefined,
              cfg,
            )
          : undefined,
    },
    ...(cfg.enableCoordinator === true
      ? [
          {
            singular: "spidercoordinator",
            kind: "SpiderCoordinator",
            mutate: defaulter(mutateCoordinator),
            validate: async (r: AdmissionRequestV1) =>
              (r.operation === "CREATE" || r.operation === "UPDATE") && r.object
                ? validateCoordinatorSpec((r.object as unknown as SpiderCoordinator).spec ?? {}, true)
                : undefined,
          },
        ]
      : []),
    ...(cfg.enableMultusConfig === true
      ? [
          {
            singular: "spidermultusconfig",
            kind: "SpiderMultusConfig",
            mutate: defaulter(mutateMultusConfig),
            validate: async (r: AdmissionRequestV1) => {
              if ((r.operation !== "CREATE" && r.operation !== "UPDATE") || !r.object) return undefined;
              const smc = r.object as unknown as SpiderMultusConfig;
              const nadName = smc.metadata.annotations?.[ANNO_SMC_CR_NAME] ?? smc.metadata.name ?? "";
              const existingNad = await client
                .get(NADS, nadName, smc.metadata.namespace ?? r.namespace ?? "")
                .catch((err: unknown) => {
                  if (isNotFound(err)) return undefined;
                  throw err;
                });
              return validateMultusConfig({
                operation: r.operation,
                object: smc,
                ...(r.oldObject ? { oldObject: r.oldObject as unknown as SpiderMultusConfig } : {}),
                ...(existingNad !== undefined ? { existingNad: existingNad as never } : {}),
              });
            },
          },
        ]
      : []),
    ...(cfg.podResourceInject === true
      ? [
          {
            singular: "pod",
            kind: "Pod",
            mutatePath: POD_MUTATE_PATH,
            hookName: POD_WEBHOOK_NAME,
            mutate: async (r: AdmissionRequestV1) => {
              if (r.operation !== "CREATE" || !r.object) return undefined;
              const pod = r.object as unknown as PodLike;
              const nsName = pod.metadata.namespace ?? r.namespace ?? "";
              const ns = await client.get(Resources.namespaces, nsName).catch((err: unknown) => {
                if (isNotFound(err)) return undefined;
                throw err;
              });
              const group = injectGroup(pod, ns?.metadata?.annotations as Record<string, string> | undefined);
              let out = pod;
              if (group !== undefined) {
                // Uncached, as upstream: an SMC created just before the pod is seen.
                const smcs = await client.listAll<SpiderMultusConfig>(resourceTypeOf(SpiderMultusConfigKind), {
                  labelSelector: `${group.key} in (${group.value})`,
                });
                out = injectPod(pod, group, smcs.items);
              }
              const steps = cfg.podResourceSteps;
              if (steps !== undefined && (steps.masterNIC || steps.subENI !== undefined)) {
                // After step 1, so the networks it wrote count; an SMC the pod names but nobody created is skipped.
                const refs = referencedNetworks(out);
                const found = await Promise.all(
                  refs.map((n) =>
                    client
                      .get<SpiderMultusConfig>(resourceTypeOf(SpiderMultusConfigKind), n.name, n.namespace)
                      .catch((err: unknown) => {
                        if (isNotFound(err)) return undefined;
                        throw err;
                      }),
                  ),
                );
                out = injectDeviceResources(
                  out,
                  steps,
                  found.filter((m) => m !== undefined),
                );
              }
              return out === pod ? undefined : (out as unknown as Record<string, unknown>);
            },
          },
        ]
      : []),
  ];
}
