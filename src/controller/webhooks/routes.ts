/**
 * Binds the pure admission rules to the API server: each decision lists what it needs
 * uncached (as upstream does), so two pools admitted back to back see each other.
 */
import type { SpiderIPPool } from "../../api/ippool.ts";
import { SpiderSubnetKind, type SpiderSubnet } from "../../api/subnet.ts";
import { resourceTypeOf, type KubeClient } from "../../kube/index.ts";
import { POOLS } from "../../poolstore/pool-writer.ts";
import { mutatePool, validatePool, type PoolWebhookConfig } from "./ippool.ts";
import type { AdmissionRequestV1, WebhookRoute } from "./server.ts";

const SUBNETS = resourceTypeOf(SpiderSubnetKind);

export function webhookRoutes(client: KubeClient, cfg: PoolWebhookConfig): WebhookRoute[] {
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
    },
  ];
}
