/**
 * What `spiderpoolctl sandbox` prints once its pods have settled (or the wait ran out): the
 * pods with their addresses (and, with the coordinator, whether each reaches its node), pools,
 * subnets, NADs, the SpiderCoordinator, and the consistency check of records and pods.
 */
import type { SpiderCoordinator } from "../../api/coordinator.ts";
import type { SpiderEndpoint } from "../../api/endpoint.ts";
import type { SpiderIPPool } from "../../api/ippool.ts";
import type { NetworkAttachmentDefinition } from "../../api/nad.ts";
import { parseControlledPools, type SpiderSubnet } from "../../api/subnet.ts";
import { ENDPOINTS } from "../../agent/cache.ts";
import { COORDINATORS } from "../../controller/coordinator/controller.ts";
import { NADS } from "../../controller/multus/controller.ts";
import { checkConsistency, type ConsistencyReport } from "../../ipam/consistency.ts";
import { poolAddresses } from "../../ipam/pool-state.ts";
import { Resources, type KubeClient } from "../../kube/index.ts";
import { SUBNETS } from "../../poolstore/auto-pool.ts";
import { POOLS } from "../../poolstore/pool-writer.ts";
import type { NetLab } from "../netlab.ts";
import type { SimulatedCluster } from "./simulated-cluster.ts";
import { waitForSynced, type PodView } from "./waits.ts";

export interface SummaryInput {
  client: KubeClient;
  cluster: SimulatedCluster;
  lab: NetLab;
  /** Pods in network namespaces (macvlan mode) rather than IPAM only. */
  macvlan: boolean;
  /** Why the host addon cannot run the coordinator's node side; undefined when it can. */
  hostAddon: string | undefined;
  /** What was still waiting when the wait for pods ended. */
  waiting: { pods: PodView[]; workloads: string[] };
  out: NodeJS.WritableStream;
}

/** Writes the summary; returns the consistency report and the pods that could not reach their node. */
export async function writeSummary(o: SummaryInput): Promise<{ report: ConsistencyReport; unreached: string[] }> {
  const { client, cluster, lab, macvlan, hostAddon, waiting, out } = o;
  const table = (head: string[], data: string[][]): string => {
    const w = head.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]): string =>
      r
        .map((c, i) => c.padEnd(w[i] as number))
        .join("  ")
        .trimEnd();
    return [line(head), ...data.map(line)].join("\n");
  };
  const podList = (await client.listAll<PodView>(Resources.pods)).items.sort(
    (a, b) =>
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  const rows: string[][] = [];
  // With the coordinator in the chain each pod must reach its node through veth0: pinged, not assumed.
  const probeNode = macvlan && hostAddon === undefined;
  const unreached: string[] = [];
  for (const p of podList) {
    const node = p.spec?.nodeName ?? "";
    const sb = cluster.kubelet(node)?.sandboxOf(p.metadata.uid ?? "");
    // In network namespaces the addresses are read back from the pod's eth0, not its status.
    const addresses =
      macvlan && sb !== undefined
        ? (await lab.addresses(sb.netns, "eth0").catch(() => [])).join(" ")
        : (p.status?.podIPs ?? []).map((x) => x.ip).join(" ");
    let reaches = "-";
    if (probeNode && sb?.running === true) {
      const families = new Set(addresses.split(" ").map((a) => (a.includes(":") ? 6 : 4)));
      const targets = cluster.nodeAddresses(node).filter((a) => families.has(a.includes(":") ? 6 : 4));
      const missed: string[] = [];
      for (const a of targets) if (!(await lab.pings(sb.netns, "veth0", a))) missed.push(a);
      reaches = missed.length === 0 ? `yes (${targets.join(", ")})` : `NO (${missed.join(", ")})`;
      if (missed.length > 0) unreached.push(`${p.metadata.namespace}/${p.metadata.name} → ${missed.join(", ")}`);
    }
    rows.push([
      p.metadata.namespace ?? "",
      p.metadata.name ?? "",
      node,
      p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? p.status?.phase ?? "",
      addresses,
      ...(probeNode ? [reaches] : []),
      macvlan ? (sb !== undefined ? `netns ${sb.netns}` : "-") : "IPAM result",
    ]);
  }
  const head = ["NAMESPACE", "POD", "NODE", "STATUS", "ADDRESSES", ...(probeNode ? ["REACHES NODE"] : []), "SEEN IN"];
  out.write(`\n${table(head, rows)}\n\n`);
  if (probeNode)
    out.write(
      `REACHES NODE: one ping from the pod's namespace out of veth0 (the coordinator's link) to its node's address\n\n`,
    );
  for (const u of unreached) out.write(`cannot reach its node over veth0: ${u}\n`);
  for (const w of waiting.workloads) out.write(`not ready after 60 s: ${w}\n`);
  for (const p of waiting.pods) {
    const w = p.status?.containerStatuses?.[0]?.state?.waiting;
    out.write(
      `not running after 60 s: ${p.metadata.namespace}/${p.metadata.name}${w?.message !== undefined ? `: ${w.message}` : ""}\n`,
    );
  }
  const poolList = (await client.listAll<SpiderIPPool>(POOLS)).items;
  out.write(
    `${table(
      ["POOL", "SUBNET", "ALLOCATED", "TOTAL"],
      poolList.map((p) => [
        p.metadata.name ?? "",
        p.spec.subnet,
        String(p.status?.allocatedIPCount ?? 0),
        // totalIPCount is the controller's to keep; the sandbox shows the size of the effective set.
        String(poolAddresses(p.spec).effective.size),
      ]),
    )}\n\n`,
  );
  const subnets = (await client.listAll<SpiderSubnet>(SUBNETS)).items;
  if (subnets.length > 0)
    out.write(
      `${table(
        ["SUBNET", "CIDR", "CARVED", "TOTAL", "POOLS"],
        subnets.map((sn) => [
          sn.metadata.name ?? "",
          sn.spec.subnet,
          String(sn.status?.allocatedIPCount ?? 0),
          String(sn.status?.totalIPCount ?? 0),
          [...parseControlledPools(sn.status?.controlledIPPools).keys()].join(","),
        ]),
      )}\n\n`,
    );
  const nads = (await client.listAll<NetworkAttachmentDefinition>(NADS)).items;
  out.write(
    `${table(
      ["NAMESPACE", "NAD", "OWNER", "PLUGINS"],
      nads.map((n) => [
        n.metadata.namespace ?? "",
        n.metadata.name ?? "",
        n.metadata.ownerReferences?.[0]?.name ?? "",
        n.spec?.config === undefined
          ? "(no config: Multus reads the same-named file)"
          : ((JSON.parse(n.spec.config) as { plugins?: { type?: string }[] }).plugins?.map((p) => p.type).join(",") ??
            ""),
      ]),
    )}\n\n`,
  );
  await waitForSynced(client);
  const coord = await client.get<SpiderCoordinator>(COORDINATORS, "default");
  out.write(
    `SpiderCoordinator default: ${coord.status?.phase ?? "-"}, overlayPodCIDR ${JSON.stringify(coord.status?.overlayPodCIDR ?? [])}, serviceCIDR ${JSON.stringify(coord.status?.serviceCIDR ?? [])}\n\n`,
  );
  const report = checkConsistency({
    pools: poolList,
    pods: (await client.listAll(Resources.pods)).items as never,
    endpoints: (await client.listAll<SpiderEndpoint>(ENDPOINTS)).items,
    subnets,
  });
  out.write(
    report.ok
      ? `consistency check: ok (${report.records} records)\n`
      : `consistency check FAILED:\n  ${report.problems.join("\n  ")}\n`,
  );
  return { report, unreached };
}
