/**
 * `spiderpoolctl explain POD`: why a pod gets (or does not get) its addresses, replayed from
 * the live objects with the agent's own selection code (src/ipam/explain.ts). The agent
 * serves the same answer from its cache at `GET /v1/explain` on its socket.
 */
import { parseArgs } from "node:util";
import type { SpiderIPPool } from "../api/ippool.ts";
import type { ObjectMeta } from "../api/meta.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import { explainPod, renderExplanation, type ExplainInput } from "../ipam/explain.ts";
import { reservedAddresses } from "../ipam/pool-state.ts";
import { systemClock } from "../kube/clock.ts";
import { KubeClient } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { isNotFound } from "../kube/errors.ts";
import { Resources, resourceTypeOf } from "../kube/resources.ts";
import { KubeOwnerResolver } from "../poolstore/owner-resolver.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { UsageError } from "./usage.ts";

export const EXPLAIN_USAGE = `usage: spiderpoolctl explain [NAMESPACE/]POD [options]

Replays the agent's pool selection for the pod from the live objects, with the agent's own
code: per NIC and family, every candidate pool in the order tried, the rule that named it,
each filter's verdict in the agent's words, the address the pod holds or would get, and the
first thing to fix when it would fail. Exit code 0 when the pod would get its addresses.

  -o, --output text|json        (default text)
  --kubeconfig FILE             the cluster (default: $KUBECONFIG, else in-cluster)
  --ifname NAME                 the interface the runtime asks for (default eth0)
  --default-ipv4-pool A,B       the netconf's default_ipv4_ippool, which only the CNI call carries
  --default-ipv6-pool A,B       the netconf's default_ipv6_ippool
  --agent-namespace NS          where bare multus names live (default kube-system)
  --cluster-network NS/NAME     the agent's MULTUS_CLUSTER_NETWORK (default none)
  --no-ipv4, --no-ipv6          as the agent's enableIPv4/enableIPv6 false
  --no-subnet                   as the agent's enableSpiderSubnet false
`;

type Obj = { metadata: ObjectMeta };

export async function runExplain(argv: string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: "string", short: "o", default: "text" },
      kubeconfig: { type: "string" },
      ifname: { type: "string", default: "eth0" },
      "default-ipv4-pool": { type: "string", default: "" },
      "default-ipv6-pool": { type: "string", default: "" },
      "agent-namespace": { type: "string", default: "kube-system" },
      "cluster-network": { type: "string", default: "" },
      "no-ipv4": { type: "boolean", default: false },
      "no-ipv6": { type: "boolean", default: false },
      "no-subnet": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError("explain takes one pod: [NAMESPACE/]POD");
  if (values.output !== "text" && values.output !== "json") throw new UsageError("-o must be text or json");
  const target = positionals[0] as string;
  const [ns, name] = target.includes("/") ? (target.split("/", 2) as [string, string]) : ["default", target];
  const path = values.kubeconfig ?? process.env["KUBECONFIG"];
  const client = new KubeClient(path !== undefined && path !== "" ? loadKubeconfig(path) : inClusterConfig());
  const list = (s: string): string[] => s.split(",").filter((x) => x !== "");
  try {
    let pod: ExplainInput["pod"];
    try {
      pod = await client.get(Resources.pods, name, ns);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      process.stderr.write(`spiderpoolctl: pod ${ns}/${name} not found\n`);
      return 1;
    }
    const nodeName = pod.spec?.nodeName ?? "";
    const [nsObj, node, pools, reserved] = await Promise.all([
      client.get<Obj>(Resources.namespaces, ns).catch(() => undefined),
      nodeName === "" ? undefined : client.get<Obj>(Resources.nodes, nodeName).catch(() => undefined),
      client.listAll<SpiderIPPool>(POOLS, { limit: 500 }),
      client.listAll<SpiderReservedIP>(resourceTypeOf(SpiderReservedIPKind), { limit: 500 }),
    ]);
    const owners = new KubeOwnerResolver(
      client,
      { enableStatefulSet: true, enableKubevirtStaticIP: true },
      systemClock,
    );
    const e = explainPod({
      pod,
      top: await owners.top(pod),
      namespace: { labels: nsObj?.metadata.labels ?? {}, annotations: nsObj?.metadata.annotations ?? {} },
      nodeLabels: node?.metadata.labels ?? {},
      pools: pools.items,
      reserved: { 4: reservedAddresses(4, reserved.items), 6: reservedAddresses(6, reserved.items) },
      ifName: values.ifname,
      netconf: {
        defaultIPv4IPPool: list(values["default-ipv4-pool"]),
        defaultIPv6IPPool: list(values["default-ipv6-pool"]),
        cleanGateway: false,
      },
      config: {
        enableIPv4: !values["no-ipv4"],
        enableIPv6: !values["no-ipv6"],
        enableSpiderSubnet: !values["no-subnet"],
        enableAutoPoolForApplication: !values["no-subnet"],
        agentNamespace: values["agent-namespace"],
        clusterNetwork: values["cluster-network"],
        maxRecords: 5000,
      },
    });
    out.write(values.output === "json" ? JSON.stringify(e, null, 2) + "\n" : renderExplanation(e));
    return e.ok ? 0 : 1;
  } finally {
    await client.close();
  }
}
