/**
 * `spiderpoolctl history ADDRESS|NS/POD|POOL`: who held an address when, what a pod held,
 * what a pool handed out — from the IPAllocated/IPReleased/IPReclaimed Events on pods and
 * the pools' current records, in one timeline (src/ipam/history.ts).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import type { SpiderIPPool } from "../api/ippool.ts";
import { HISTORY_REASONS, historyQuery, timeline, type HistoryEvent, type PoolHolder } from "../ipam/history.ts";
import { mergeAudit, type AuditRecord } from "../ipam/audit-record.ts";
import { parseAllocatedIPs } from "../ipam/pool-state.ts";
import { readAuditLog } from "../controller/audit-log.ts";
import { KubeClient, type KubeObject } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { Resources } from "../kube/resources.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { UsageError } from "./usage.ts";

export const HISTORY_USAGE = `usage: spiderpoolctl history ADDRESS|NAMESPACE/POD|POOL [options]

One timeline, oldest first: the IPAllocated, IPReleased and IPReclaimed Events the agents and
the controller record on pods, and who holds it now (the pools' records). Events expire
(one hour by default in Kubernetes) and are written within a budget per agent, so a storm
of pods leaves gaps; the current holder is always shown.

  --kubeconfig FILE      the cluster (default: $KUBECONFIG, else in-cluster)
  --audit FILE           also the controller's audit log (SPIDERPOOL_TS_AUDIT_LOG) and its rotated
                         files FILE.1 ... FILE.N: the history that outlives the Events
  -o, --output text|json
`;

interface EventObj extends KubeObject {
  involvedObject?: { namespace?: string; name?: string; uid?: string };
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
}

export async function runHistory(argv: string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: "string" },
      audit: { type: "string" },
      output: { type: "string", short: "o", default: "text" },
    },
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError("history takes one of: ADDRESS, NAMESPACE/POD, POOL");
  if (values.output !== "text" && values.output !== "json") throw new UsageError("-o must be text or json");
  const path = values.kubeconfig ?? process.env["KUBECONFIG"];
  const client = new KubeClient(path !== undefined && path !== "" ? loadKubeconfig(path) : inClusterConfig());
  try {
    const [events, pools] = await Promise.all([
      client.listAll<EventObj>(Resources.events, { limit: 500 }),
      client.listAll<SpiderIPPool>(POOLS, { limit: 500 }),
    ]);
    const q = historyQuery(positionals[0] as string, new Set(pools.items.map((p) => p.metadata.name ?? "")));
    const fromEvents: HistoryEvent[] = events.items
      .filter((e) => HISTORY_REASONS.has(e.reason ?? ""))
      .map((e) => ({
        time: e.firstTimestamp ?? e.eventTime ?? e.lastTimestamp ?? "",
        reason: e.reason ?? "",
        message: e.message ?? "",
        pod: `${e.involvedObject?.namespace ?? ""}/${e.involvedObject?.name ?? ""}`,
        podUid: e.involvedObject?.uid ?? "",
        count: e.count ?? 1,
      }));
    const history = values.audit === undefined ? fromEvents : mergeAudit(fromEvents, readAudit(values.audit));
    const holders: PoolHolder[] = [];
    for (const p of pools.items) {
      try {
        for (const [address, rec] of parseAllocatedIPs(p.status?.allocatedIPs))
          holders.push({ pool: p.metadata.name ?? "", address, pod: rec.pod, podUid: rec.podUid });
      } catch {
        // An unreadable pool holds nothing we can show; 'spiderpoolctl check' reports it.
      }
    }
    const entries = timeline(q, history, holders);
    if (values.output === "json") {
      out.write(JSON.stringify({ query: q, entries }, null, 2) + "\n");
      return 0;
    }
    if (entries.length === 0) {
      out.write("nothing recorded (Events expire; a storm may have exceeded the agents' Event budget)\n");
      return 0;
    }
    const podW = Math.max(3, ...entries.map((e) => e.pod.length));
    out.write(`${"TIME".padEnd(24)}  ${"WHAT".padEnd(9)}  ${"POD".padEnd(podW)}  DETAIL\n`);
    for (const e of entries)
      out.write(`${e.time.padEnd(24)}  ${e.what.padEnd(9)}  ${e.pod.padEnd(podW)}  ${e.detail}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

function readAudit(path: string): AuditRecord[] {
  if (!existsSync(path)) throw new UsageError(`--audit: no file ${path}`);
  const { records, unreadable } = readAuditLog(path);
  // A line cut short by a crash is the only expected one; say so rather than hide it.
  if (unreadable > 0) process.stderr.write(`warning: ${unreadable} unreadable line(s) in ${path}* skipped\n`);
  return records;
}
