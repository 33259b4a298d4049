// gc: time from a pod's deletion, without any CNI DEL (a node lost, a runtime that never
// called the plugin), to its address being free again, through the controller's pod-event
// path with the controller's default configuration. Pods are deleted one by one at a steady
// pace, then a burst deletes the rest at once.
import { parseArgs } from "node:util";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { parseAllocatedIPs } from "../../src/ipam/pool-state.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, forEachLimit, SHIM, type PodSpec } from "../lib/cluster.ts";
import { cni, spiderpoolNetconf } from "../lib/cni.ts";
import { round, stats, statsHeader, statsRow } from "../lib/stats.ts";

export const USAGE = `npm run bench -- gc [options]
  --pods N               pods deleted one at a time (default 40), then as many in one burst
  --interval-ms MS       pause between single deletions (default 250)
  --json FILE            write the figures as JSON`;

export async function gc(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: "string", default: "40" },
      "interval-ms": { type: "string", default: "250" },
      json: { type: "string" },
    },
    strict: true,
  });
  const n = Number(values.pods);
  const interval = Number(values["interval-ms"]);
  if (!Number.isInteger(n) || n < 1 || n > 120) throw new Error("--pods must be an integer in 1..120");
  const cluster = await BenchCluster.start({ nodes: 1 });
  try {
    const c = cluster.client;
    await c.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "gc-v4" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.250"], gateway: "192.0.2.1" },
    });
    const pods: PodSpec[] = Array.from({ length: 2 * n }, (_, i) => ({
      name: `gc-${i}`,
      namespace: "default",
      node: "node1",
      annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["gc-v4"]}' },
    }));
    const uids = await cluster.createPods(pods);
    const ipOf = new Map<string, string>();
    const addMs: number[] = [];
    let failures = 0;
    process.stderr.write(`  allocating ${pods.length} addresses\n`);
    await forEachLimit(pods, 8, async (p) => {
      const r = await cni({
        plugin: SHIM,
        command: "ADD",
        netconf: spiderpoolNetconf(cluster.agents[0]?.socket ?? ""),
        containerID: `c-${p.name}`,
        namespace: "default",
        pod: p.name,
        podUid: uids.get(`default/${p.name}`) ?? "",
      });
      addMs.push(r.ms);
      if (!r.ok || r.ips[0] === undefined) failures++;
      else ipOf.set(p.name, r.ips[0]);
      // The pod reports its address, as the kubelet does after the ADD: GC keeps the
      // addresses of pods that never got one only through the scan.
      const cur = await c.get(Resources.pods, p.name, "default");
      await c.updateStatus(Resources.pods, {
        ...cur,
        status: { phase: "Running", podIPs: r.ips.map((ip) => ({ ip })) },
      });
    });

    // Watch the pool by polling it every 10 ms: cheap on the embedded server, and precise
    // enough against a target in seconds.
    const freedAt = new Map<string, number>();
    const deletedAt = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const pool = await c.get<SpiderIPPool>(POOLS, "gc-v4");
        const held = new Set(parseAllocatedIPs(pool.status?.allocatedIPs).keys());
        const now = performance.now();
        for (const [pod, ip] of ipOf)
          if (deletedAt.has(pod) && !freedAt.has(pod) && !held.has(ip)) freedAt.set(pod, now);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const waitFreed = async (names: string[], timeoutMs: number): Promise<void> => {
      const end = performance.now() + timeoutMs;
      while (names.some((x) => !freedAt.has(x)) && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    const del = async (name: string): Promise<void> => {
      deletedAt.set(name, performance.now());
      await c.delete(Resources.pods, name, { namespace: "default" });
    };
    const single = pods.slice(0, n).map((p) => p.name);
    const burst = pods.slice(n).map((p) => p.name);
    process.stderr.write(`  deleting ${n} pods one at a time, every ${interval} ms\n`);
    for (const name of single) {
      await del(name);
      await new Promise((r) => setTimeout(r, interval));
    }
    await waitFreed(single, 120_000);
    process.stderr.write(`  deleting ${n} pods at once\n`);
    const t0 = performance.now();
    await Promise.all(burst.map(del));
    await waitFreed(burst, 120_000);
    const burstMs = Math.max(...burst.map((x) => (freedAt.get(x) ?? Number.NaN) - t0));
    polling = false;
    await poller;
    const delays = (names: string[]): number[] =>
      names.map((x) => (freedAt.get(x) ?? Number.NaN) - (deletedAt.get(x) ?? 0));
    const notFreed = [...single, ...burst].filter((x) => !freedAt.has(x)).length;
    const one = stats(delays(single));
    const all = stats(delays(burst));
    console.log("");
    console.log(statsHeader("(ms from pod deletion to address free)", 34));
    console.log(statsRow(`one at a time (${n} pods)`, one, 34));
    console.log(statsRow(`burst of ${n} pods`, all, 34));
    console.log(
      `burst: all ${n} addresses free ${(burstMs / 1000).toFixed(2)} s after the deletions; not freed: ${notFreed}`,
    );
    const check = await spiderpoolctlCheck(cluster.kubeconfig);
    console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
    return {
      scenario: "gc",
      pods: n,
      check: check.pass ? "pass" : "fail",
      failures: failures + notFreed,
      duplicates: 0,
      wallSeconds: round(burstMs / 1000),
      add: stats(addMs),
      // "del" here is no CNI DEL: it is the delay from pod deletion to the address being free.
      del: one,
      freeAfterDelete: one,
      freeAfterBurstDelete: all,
    };
  } finally {
    await cluster.stop();
  }
}
