// storm: P pods over K simulated nodes (one spiderpool-agent process each), one pool of
// exactly P addresses (or more with --ips), every ADD released at once with a per-node
// concurrency like a kubelet's, then every DEL. IPv4 and dual stack, and in the same run
// Debian's host-local under the same harness (K data directories, each with its node's
// share of the addresses, as host-local is used with per-node ranges).
//
// Addresses come from 198.18.0.0/15, the range set aside for benchmarking (RFC 2544), and
// 2001:db8::/32: a pool of 1 000 IPv4 addresses does not fit the /24 documentation ranges.
// No packet is sent: the plugin is called for IPAM only, without network namespaces.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findPlugin } from "../../src/cli/netlab.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, forEachLimit, SHIM, type PodSpec } from "../lib/cluster.ts";
import { cni, hostLocalNetconf, spiderpoolNetconf, type CniOutcome } from "../lib/cni.ts";
import { counterSum, procUsage, RssSampler, scrape } from "../lib/daemons.ts";
import { round, stats, statsHeader, statsRow, type Stats } from "../lib/stats.ts";

export const USAGE = `npm run bench -- storm [options]
  --pods P               pods (default 1000)
  --nodes K              simulated nodes, one agent each (default 10)
  --ips N                addresses in the pool (default P; 2P for the roomy variant)
  --node-concurrency C   CNI calls in flight per node, like a kubelet's pod workers (default 8)
  --stacks LIST          ipv4, dual, or ipv4,dual (default ipv4,dual)
  --api-latency-ms MS    added to every API write, to model etcd (default 0)
  --no-host-local        skip the host-local reference
  --baseline-pods B      first run B pods on the same nodes (pool of exactly B), and report the
                         P-pod run's wall time, conflicts and agent RSS against it (scale-out)
  --cpu-prof DIR         write CPU profiles of the API server and of the first 10 agents into DIR
  --json FILE            write the figures as JSON`;

type Stack = "ipv4" | "dual";

interface Options {
  pods: number;
  nodes: number;
  ips: number;
  concurrency: number;
  stacks: Stack[];
  apiLatencyMs: number;
  hostLocal: boolean;
  cpuProfDir: string | undefined;
  baselinePods: number | undefined;
}

export function parseStormArgs(argv: string[]): Options & { json: string | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: "string", default: "1000" },
      nodes: { type: "string", default: "10" },
      ips: { type: "string" },
      "node-concurrency": { type: "string", default: "8" },
      stacks: { type: "string", default: "ipv4,dual" },
      "api-latency-ms": { type: "string", default: "0" },
      "no-host-local": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "baseline-pods": { type: "string" },
      json: { type: "string" },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  const pods = int("pods", values.pods, 1, 60_000);
  const stacks = values.stacks.split(",").map((s) => s.trim());
  for (const s of stacks) if (s !== "ipv4" && s !== "dual") throw new Error(`--stacks: unknown stack '${s}'`);
  return {
    pods,
    nodes: int("nodes", values.nodes, 1, 100),
    ips: int("ips", values.ips ?? String(pods), pods, 65_000),
    concurrency: int("node-concurrency", values["node-concurrency"], 1, 1000),
    stacks: stacks as Stack[],
    apiLatencyMs: int("api-latency-ms", values["api-latency-ms"], 0, 1000),
    hostLocal: !values["no-host-local"],
    cpuProfDir: values["cpu-prof"],
    baselinePods:
      values["baseline-pods"] === undefined ? undefined : int("baseline-pods", values["baseline-pods"], 1, pods),
    json: values.json,
  };
}

// 198.18.1.0 onwards; 198.18.0.1 is the gateway.
function v4(i: number): string {
  const n = ((198 << 24) >>> 0) + (18 << 16) + 256 + i;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
function v6(i: number): string {
  return `2001:db8:5::1:${i.toString(16)}`;
}

interface PhaseOutcome {
  outcomes: Map<string, CniOutcome>;
  wallMs: number;
  /** Completion time of each successful call, ms after the phase began, ascending. */
  doneMs: number[];
}

/** Every node's calls at once, each node with at most `concurrency` in flight. */
async function phase(
  label: string,
  byNode: Map<string, string[]>,
  concurrency: number,
  call: (node: string, pod: string) => Promise<CniOutcome>,
): Promise<PhaseOutcome> {
  const outcomes = new Map<string, CniOutcome>();
  const doneMs: number[] = [];
  const total = [...byNode.values()].reduce((a, b) => a + b.length, 0);
  let failed = 0;
  const t0 = performance.now();
  const progress = setInterval(() => {
    process.stderr.write(
      `  ${label}: ${outcomes.size}/${total} done, ${failed} failed, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  }, 1000);
  try {
    await Promise.all(
      [...byNode].map(([node, pods]) =>
        forEachLimit(pods, concurrency, async (pod) => {
          const o = await call(node, pod);
          outcomes.set(pod, o);
          if (o.ok) doneMs.push(round(performance.now() - t0));
          else failed++;
        }),
      ),
    );
  } finally {
    clearInterval(progress);
  }
  const wallMs = performance.now() - t0;
  process.stderr.write(
    `  ${label}: ${outcomes.size}/${total} done, ${failed} failed, ${(wallMs / 1000).toFixed(2)} s\n`,
  );
  doneMs.sort((a, b) => a - b);
  return { outcomes, wallMs, doneMs };
}

function duplicates(outcomes: Map<string, CniOutcome>): number {
  const seen = new Map<string, number>();
  for (const o of outcomes.values()) for (const ip of o.ips) seen.set(ip, (seen.get(ip) ?? 0) + 1);
  let d = 0;
  for (const n of seen.values()) if (n > 1) d += n - 1;
  return d;
}

function failures(outcomes: Map<string, CniOutcome>, stack: Stack): { count: number; first: string[] } {
  const first: string[] = [];
  let count = 0;
  for (const [pod, o] of outcomes) {
    const wantIps = stack === "dual" ? 2 : 1;
    const bad = !o.ok || (o.ips.length > 0 && o.ips.length !== wantIps);
    if (!bad) continue;
    count++;
    if (first.length < 5) first.push(`${pod}: ${o.error ?? `got ${o.ips.join(",")}`}`);
  }
  return { count, first };
}

export interface StormRun {
  stack: Stack;
  pods: number;
  nodes: number;
  ips: number;
  nodeConcurrency: number;
  apiLatencyMs: number;
  check: "pass" | "fail";
  checkReport?: string;
  failures: number;
  firstFailures: string[];
  duplicates: number;
  wallSeconds: number;
  allocationsPerSecond: number;
  delWallSeconds: number;
  add: Stats;
  del: Stats;
  apiWrites: number;
  /** Of apiWrites, the Event writes (issue 22's IPAllocated/IPReleased/IPReclaimed within their budgets). */
  eventWrites: number;
  conflicts: number;
  agentConflicts: number;
  retries: number;
  rssMB: { apiserver: number; controller: number; agentMax: number };
  /** Peak RssAnon: RSS less the shared pages of the node binary. */
  privateMB: { apiserver: number; controller: number; agentMax: number };
  cpuSecondsPer1000: { agents: number; controller: number; apiserver: number };
  timeline: { addDoneMs: number[] };
}

export interface HostLocalRun {
  stack: Stack;
  failures: number;
  duplicates: number;
  wallSeconds: number;
  allocationsPerSecond: number;
  delWallSeconds: number;
  add: Stats;
  del: Stats;
  timeline: { addDoneMs: number[] };
}

/** Per-process peaks as the storm reports them: API server, controller, the highest agent. */
function byComponent(
  peaks: Map<string, number>,
  cluster: BenchCluster,
): { apiserver: number; controller: number; agentMax: number } {
  return {
    apiserver: peaks.get("apiserver") ?? 0,
    controller: peaks.get("controller") ?? 0,
    agentMax: Math.max(0, ...cluster.agents.map((a) => peaks.get(a.daemon.name) ?? 0)),
  };
}

function cpuOf(pids: number[]): number {
  return pids.reduce((a, p) => a + (procUsage(p)?.cpuSeconds ?? 0), 0);
}

const cap = (n: number): Record<string, string> => ({ SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS: String(n) });

export async function stormOurs(o: Options, stack: Stack): Promise<StormRun> {
  const cluster = await BenchCluster.start({
    nodes: o.nodes,
    writeLatencyMs: o.apiLatencyMs,
    podDeletion: "graceful",
    ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
    // A pool of more than 5 000 (the default record cap, ipamPoolMaxAllocatedIPs) is only
    // usable with a cap raised to its size, as an operator of such a pool sets it.
    ...(o.ips > 5000 ? { agentEnv: cap(o.ips), controllerEnv: cap(o.ips) } : {}),
  });
  try {
    const c = cluster.client;
    await c.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "storm-v4" },
      spec: { subnet: "198.18.0.0/16", ips: [`${v4(0)}-${v4(o.ips - 1)}`], gateway: "198.18.0.1" },
    });
    const annotation: Record<string, string[]> = { ipv4: ["storm-v4"] };
    if (stack === "dual") {
      await c.create(POOLS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderIPPool",
        metadata: { name: "storm-v6" },
        spec: { subnet: "2001:db8:5::/64", ips: [`${v6(0)}-${v6(o.ips - 1)}`], gateway: "2001:db8:5::1" },
      });
      annotation["ipv6"] = ["storm-v6"];
    }
    await c.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "storm" } });
    const rs: KubeObject = await c.create(Resources.replicasets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "storm", namespace: "storm" },
      spec: {
        replicas: o.pods,
        selector: { matchLabels: { app: "storm" } },
        template: { metadata: { labels: { app: "storm" } }, spec: { containers: [{ name: "app", image: "pause" }] } },
      },
    });
    const pods: PodSpec[] = [];
    const byNode = new Map<string, string[]>();
    const nodeOf = new Map<string, string>();
    for (let i = 0; i < o.pods; i++) {
      const node = `node${(i % o.nodes) + 1}`;
      const name = `storm-${i}`;
      pods.push({
        name,
        namespace: "storm",
        node,
        annotations: { "ipam.spidernet.io/ippool": JSON.stringify(annotation) },
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: "storm", uid: rs.metadata?.uid, controller: true },
        ],
      });
      byNode.set(node, [...(byNode.get(node) ?? []), name]);
      nodeOf.set(name, node);
    }
    process.stderr.write(`  creating ${o.pods} pods\n`);
    const uids = await cluster.createPods(pods);
    const socketOf = new Map(cluster.agents.map((a) => [a.node, a.socket]));
    const call =
      (cmd: "ADD" | "DEL") =>
      (node: string, pod: string): Promise<CniOutcome> =>
        cni({
          plugin: SHIM,
          command: cmd,
          netconf: spiderpoolNetconf(socketOf.get(node) ?? ""),
          containerID: `c-${pod}`,
          namespace: "storm",
          pod,
          podUid: uids.get(`storm/${pod}`) ?? "",
        });

    const agentPids = cluster.agents.map((a) => a.daemon.pid);
    const before = {
      writes: await cluster.apiWrites(),
      agents: cpuOf(agentPids),
      controller: cpuOf(cluster.controller !== undefined ? [cluster.controller.pid] : []),
      apiserver: cpuOf([cluster.apiserver.pid]),
    };
    const rss = new RssSampler(cluster.daemons);
    const add = await phase(`spiderpool ${stack} ADD`, byNode, o.concurrency, call("ADD"));
    const peaks = rss.stop();
    const after = {
      writes: await cluster.apiWrites(),
      agents: cpuOf(agentPids),
      controller: cpuOf(cluster.controller !== undefined ? [cluster.controller.pid] : []),
      apiserver: cpuOf([cluster.apiserver.pid]),
    };
    let agentConflicts = 0;
    let retries = 0;
    for (const a of cluster.agents) {
      const m = await scrape(a.metricsUrl);
      agentConflicts += counterSum(m, "spiderpool_ipam_allocation_update_ippool_conflict_counts_total");
      retries += counterSum(m, "spiderpool_ts_pool_write_retries_total");
    }
    // The state with every pod holding its addresses is the one worth checking.
    const checkFull = await spiderpoolctlCheck(cluster.kubeconfig);
    const f = failures(add.outcomes, stack);
    const dup = duplicates(add.outcomes);
    const rssPeaks = byComponent(peaks, cluster);
    // The ADD phase's figures as soon as they are known: a long DEL phase may be cut short.
    process.stderr.write(
      `  ADD phase: ${round(add.wallMs / 1000)} s, ${f.count} failed, ` +
        `${dup} duplicates, check ${checkFull.pass ? "pass" : "FAIL"}, ` +
        `API writes ${after.writes.total - before.writes.total} (409: ${after.writes.conflicts - before.writes.conflicts}), ` +
        `agent RSS peak ${rssPeaks.agentMax} MB, API server ${rssPeaks.apiserver} MB, ` +
        `CPU s: agents ${round(after.agents - before.agents)}, API server ${round(after.apiserver - before.apiserver)}\n` +
        f.first.map((l) => `    failed: ${l}\n`).join(""),
    );

    process.stderr.write(`  deleting ${o.pods} pods (Terminating, as a kubelet sees them before CNI DEL)\n`);
    await forEachLimit(pods, 16, async (p) => {
      await c.delete(Resources.pods, p.name, { namespace: "storm", gracePeriodSeconds: 30 });
    });
    const del = await phase(`spiderpool ${stack} DEL`, byNode, o.concurrency, call("DEL"));
    await forEachLimit(pods, 16, async (p) => {
      await c.delete(Resources.pods, p.name, { namespace: "storm", gracePeriodSeconds: 0 }).catch(() => undefined);
    });
    const checkEmpty = await spiderpoolctlCheck(cluster.kubeconfig);
    const delFailed = [...del.outcomes.values()].filter((x) => !x.ok);
    const per1000 = (s: number): number => round((s / o.pods) * 1000);
    return {
      stack,
      pods: o.pods,
      nodes: o.nodes,
      ips: o.ips,
      nodeConcurrency: o.concurrency,
      apiLatencyMs: o.apiLatencyMs,
      check: checkFull.pass && checkEmpty.pass ? "pass" : "fail",
      ...(checkFull.pass && checkEmpty.pass
        ? {}
        : { checkReport: `after ADD:\n${checkFull.report}\nafter DEL:\n${checkEmpty.report}` }),
      failures: f.count + delFailed.length,
      firstFailures: [...f.first, ...delFailed.slice(0, 5).map((x) => `DEL: ${x.error ?? ""}`)],
      duplicates: dup,
      wallSeconds: round(add.wallMs / 1000),
      allocationsPerSecond: round(add.doneMs.length / (add.wallMs / 1000)),
      delWallSeconds: round(del.wallMs / 1000),
      add: stats([...add.outcomes.values()].map((x) => x.ms)),
      del: stats([...del.outcomes.values()].map((x) => x.ms)),
      apiWrites: after.writes.total - before.writes.total,
      eventWrites: after.writes.events - before.writes.events,
      conflicts: after.writes.conflicts - before.writes.conflicts,
      agentConflicts,
      retries,
      rssMB: rssPeaks,
      privateMB: byComponent(rss.privatePeaks, cluster),
      cpuSecondsPer1000: {
        agents: per1000(after.agents - before.agents),
        controller: per1000(after.controller - before.controller),
        apiserver: per1000(after.apiserver - before.apiserver),
      },
      timeline: { addDoneMs: add.doneMs },
    };
  } finally {
    await cluster.stop();
  }
}

export async function stormHostLocal(o: Options, stack: Stack): Promise<HostLocalRun> {
  const plugin = findPlugin("host-local");
  if (plugin === undefined) throw new Error("host-local is not installed (Debian package containernetworking-plugins)");
  const dir = mkdtempSync(join(tmpdir(), "bench-storm-hl-"));
  try {
    const byNode = new Map<string, string[]>();
    for (let i = 0; i < o.pods; i++) {
      const node = `node${(i % o.nodes) + 1}`;
      byNode.set(node, [...(byNode.get(node) ?? []), `storm-${i}`]);
    }
    // Each node gets its share of the addresses, as host-local is deployed (per-node ranges).
    const share = new Map<string, [number, number]>();
    let next = 0;
    for (let k = 0; k < o.nodes; k++) {
      const n = Math.floor(o.ips / o.nodes) + (k < o.ips % o.nodes ? 1 : 0);
      share.set(`node${k + 1}`, [next, next + n - 1]);
      next += n;
    }
    const conf = (node: string): Record<string, unknown> => {
      const [a, b] = share.get(node) ?? [0, 0];
      const ranges: unknown[][] = [
        [{ subnet: "198.18.0.0/16", rangeStart: v4(a), rangeEnd: v4(b), gateway: "198.18.0.1" }],
      ];
      if (stack === "dual")
        ranges.push([{ subnet: "2001:db8:5::/64", rangeStart: v6(a), rangeEnd: v6(b), gateway: "2001:db8:5::1" }]);
      return hostLocalNetconf(join(dir, node), ranges);
    };
    const call =
      (cmd: "ADD" | "DEL") =>
      (node: string, pod: string): Promise<CniOutcome> =>
        cni({ plugin, command: cmd, netconf: conf(node), containerID: `c-${pod}`, namespace: "storm", pod });
    const add = await phase(`host-local ${stack} ADD`, byNode, o.concurrency, call("ADD"));
    const del = await phase(`host-local ${stack} DEL`, byNode, o.concurrency, call("DEL"));
    const delFailed = [...del.outcomes.values()].filter((x) => !x.ok).length;
    return {
      stack,
      failures: failures(add.outcomes, stack).count + delFailed,
      duplicates: duplicates(add.outcomes),
      wallSeconds: round(add.wallMs / 1000),
      allocationsPerSecond: round(add.doneMs.length / (add.wallMs / 1000)),
      delWallSeconds: round(del.wallMs / 1000),
      add: stats([...add.outcomes.values()].map((x) => x.ms)),
      del: stats([...del.outcomes.values()].map((x) => x.ms)),
      timeline: { addDoneMs: add.doneMs },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function storm(argv: string[]): Promise<Record<string, unknown>> {
  const o = parseStormArgs(argv);
  const runs: Partial<Record<Stack, StormRun>> = {};
  const hostLocal: Partial<Record<Stack, HostLocalRun>> = {};
  const baselines: Partial<Record<Stack, StormRun>> = {};
  for (const stack of o.stacks) {
    if (o.baselinePods !== undefined) {
      const b = { ...o, pods: o.baselinePods, ips: o.baselinePods };
      console.log(`storm ${stack} baseline: ${b.pods} pods on ${b.nodes} nodes, ${b.ips} addresses`);
      baselines[stack] = await stormOurs(b, stack);
    }
    console.log(
      `storm ${stack}: ${o.pods} pods on ${o.nodes} nodes, ${o.ips} addresses, ${o.concurrency} calls in flight per node, +${o.apiLatencyMs} ms per API write`,
    );
    runs[stack] = await stormOurs(o, stack);
    if (o.hostLocal) hostLocal[stack] = await stormHostLocal(o, stack);
  }
  console.log("");
  console.log(statsHeader(`(ms per call)`));
  for (const stack of o.stacks) {
    const r = runs[stack] as StormRun;
    console.log(statsRow(`spiderpool ADD, ${stack}`, r.add));
    const h = hostLocal[stack];
    if (h !== undefined) console.log(statsRow(`host-local ADD, ${stack}`, h.add));
    console.log(statsRow(`spiderpool DEL, ${stack}`, r.del));
    if (h !== undefined) console.log(statsRow(`host-local DEL, ${stack}`, h.del));
  }
  console.log("");
  for (const stack of o.stacks) {
    const r = runs[stack] as StormRun;
    const h = hostLocal[stack];
    console.log(
      `${stack}: all ${r.pods} ADDs done in ${r.wallSeconds.toFixed(2)} s (${r.allocationsPerSecond.toFixed(0)}/s)` +
        (h !== undefined ? `, host-local ${h.wallSeconds.toFixed(2)} s (${h.allocationsPerSecond.toFixed(0)}/s)` : "") +
        `; DELs ${r.delWallSeconds.toFixed(2)} s; failures ${r.failures}, duplicates ${r.duplicates}; ` +
        `API writes ${r.apiWrites} (${(r.apiWrites / r.pods).toFixed(2)} per pod, ${r.eventWrites} Events), conflicts ${r.conflicts}, retries ${r.retries}`,
    );
    console.log(
      `  RSS peak MB: apiserver ${r.rssMB.apiserver}, controller ${r.rssMB.controller}, agent (max of ${r.nodes}) ${r.rssMB.agentMax} ` +
        `(private: ${r.privateMB.apiserver}, ${r.privateMB.controller}, ${r.privateMB.agentMax}); ` +
        `CPU s per 1000 allocations: agents ${r.cpuSecondsPer1000.agents}, controller ${r.cpuSecondsPer1000.controller}, apiserver ${r.cpuSecondsPer1000.apiserver}`,
    );
    for (const x of r.firstFailures) console.log(`  failure: ${x}`);
    console.log(`  spiderpoolctl check: ${r.check === "pass" ? "pass" : `FAIL\n${r.checkReport ?? ""}`}`);
  }
  const scaleOut: Record<string, unknown> = {};
  for (const stack of o.stacks) {
    const r = runs[stack] as StormRun;
    const b = baselines[stack];
    if (b === undefined) continue;
    const wallRatio = round(r.wallSeconds / b.wallSeconds);
    scaleOut[stack] = {
      baselinePods: b.pods,
      pods: r.pods,
      baselineWallSeconds: b.wallSeconds,
      wallSeconds: r.wallSeconds,
      wallRatio,
      baselineConflicts: b.conflicts,
      conflicts: r.conflicts,
      baselineAgentRssMB: b.rssMB.agentMax,
      agentRssMB: r.rssMB.agentMax,
      baselineFailures: b.failures,
      baselineDuplicates: b.duplicates,
      baselineCheck: b.check,
    };
    console.log(
      `${stack} scale-out: ${r.pods} pods in ${r.wallSeconds.toFixed(2)} s against ${b.pods} in ${b.wallSeconds.toFixed(2)} s ` +
        `(${wallRatio}x for ${round(r.pods / b.pods)}x the pods; target <= ${round(1.2 * (r.pods / b.pods))}x); conflicts ${r.conflicts} against ${b.conflicts}; ` +
        `agent RSS peak ${r.rssMB.agentMax} MB against ${b.rssMB.agentMax}; baseline failures ${b.failures}, duplicates ${b.duplicates}, check ${b.check}`,
    );
  }
  const first = runs[o.stacks[0] as Stack] as StormRun;
  const all = [...Object.values(runs), ...Object.values(baselines)];
  const result: Record<string, unknown> = {
    scenario: "storm",
    check: all.every((r) => r.check === "pass") ? "pass" : "fail",
    failures: all.reduce((a, r) => a + r.failures, 0),
    duplicates: all.reduce((a, r) => a + r.duplicates, 0),
    wallSeconds: first.wallSeconds,
    allocationsPerSecond: first.allocationsPerSecond,
    add: first.add,
    del: first.del,
    apiWrites: first.apiWrites,
    conflicts: first.conflicts,
    rssMB: first.rssMB,
    privateMB: first.privateMB,
    runs,
    hostLocal,
    ...(o.baselinePods !== undefined ? { scaleOut } : {}),
  };
  if (runs.ipv4 !== undefined && runs.dual !== undefined) {
    result["dualToIPv4WallRatio"] = round(runs.dual.wallSeconds / runs.ipv4.wallSeconds);
    console.log(`dual stack / IPv4 wall time: ${String(result["dualToIPv4WallRatio"])} (target <= 1.5)`);
  }
  return result;
}
