/**
 * `spiderpoolctl check`: the consistency check against any cluster, by kubeconfig. Lists
 * pools, pods and endpoints (paginated, so large clusters are read in pages) and reports
 * every inconsistency; exit code 0 only when there is none.
 */
import { parseArgs } from "node:util";
import { SpiderEndpointKind, type SpiderEndpoint } from "../api/endpoint.ts";
import type { SpiderIPPool } from "../api/ippool.ts";
import { SpiderSubnetKind, type SpiderSubnet } from "../api/subnet.ts";
import { checkConsistency } from "../ipam/consistency.ts";
import { KubeClient } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { Resources, resourceTypeOf } from "../kube/resources.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import type { ObjectMeta } from "../api/meta.ts";

export const CHECK_USAGE = `usage: spiderpoolctl check [--kubeconfig FILE]

Checks that the cluster's IPAM state is consistent: every pool record's pod exists with
that UID (StatefulSet and KubeVirt records: their endpoint holds the address); a UID at
most once per pool; no address on two pods; counts equal records; endpoints and pools
agree both ways; subnet entries equal their pools' addresses, never overlap, and sum to
the subnet's count. Exit code 0 when all hold, 1 with a report otherwise.

  --kubeconfig FILE   the cluster (default: $KUBECONFIG, else in-cluster)
`;

export async function runCheck(argv: string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { kubeconfig: { type: "string" } }, strict: true });
  const path = values.kubeconfig ?? process.env["KUBECONFIG"];
  const client = new KubeClient(path !== undefined && path !== "" ? loadKubeconfig(path) : inClusterConfig());
  try {
    const [pools, pods, endpoints, subnets] = await Promise.all([
      client.listAll<SpiderIPPool>(POOLS, { limit: 500 }),
      client.listAll<{ metadata: ObjectMeta }>(Resources.pods, { limit: 500 }),
      client.listAll<SpiderEndpoint>(resourceTypeOf(SpiderEndpointKind), { limit: 500 }),
      client.listAll<SpiderSubnet>(resourceTypeOf(SpiderSubnetKind), { limit: 500 }),
    ]);
    const r = checkConsistency({
      pools: pools.items,
      pods: pods.items,
      endpoints: endpoints.items,
      subnets: subnets.items,
    });
    const scope = `${pools.items.length} pools, ${r.records} records, ${endpoints.items.length} endpoints, ${pods.items.length} pods`;
    if (r.ok) {
      out.write(`consistent: ${scope}\n`);
      return 0;
    }
    out.write(`INCONSISTENT (${r.problems.length} problems; ${scope}):\n`);
    for (const p of r.problems) out.write(`  ${p}\n`);
    return 1;
  } finally {
    await client.close();
  }
}
