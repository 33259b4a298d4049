// scale: the agent's CPU per allocation when the pool is big. Three pools, each measured
// with sequential ADDs then DELs through the shim, the agent's CPU time read from /proc
// before and after: an IPv6 pool already holding 5 000 records (filled through the agent
// first, so every record has its pod and endpoint), an empty 2001:db8::/64, and an empty
// /24 as the reference the /64 must not be slower than. The big pool is measured a second
// time with several calls in flight, as a kubelet starting pods makes them: those ADDs share
// status writes, which is what a pool's size costs in.
import { parseArgs } from "node:util";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, forEachLimit, SHIM, type PodSpec } from "../lib/cluster.ts";
import { cni, spiderpoolNetconf } from "../lib/cni.ts";
import { procUsage } from "../lib/daemons.ts";
import { round, stats, statsHeader, statsRow, type Stats } from "../lib/stats.ts";

export const USAGE = `npm run bench -- scale [options]
  --records N            records in the big pool once measured (default 5000: filled to N-n, then n measured ADDs)
  --n N                  measured ADD+DEL per pool and run (default 200; the /64 and the /24
                         are run four times each, A B B A B A A B)
  --burst C              also measure the big pool with C calls in flight, like a kubelet's pod
                         workers, so allocations share writes (default 8; 0 skips)
  --cpu-prof DIR         write the agent's CPU profile into DIR
  --json FILE            write the figures as JSON`;

interface PoolFigures {
  pool: string;
  /** CNI calls in flight: 1 is one call after another, each its own write. */
  concurrency: number;
  recordsBefore: number;
  add: Stats;
  del: Stats;
  agentCpuMsPerAdd: number;
  /** Of agentCpuMsPerAdd, the kernel's part: the bytes of each write and event through the socket. */
  agentSysMsPerAdd: number;
  agentCpuMsPerDel: number;
  failures: number;
}

export async function scale(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: "string", default: "5000" },
      n: { type: "string", default: "200" },
      burst: { type: "string", default: "8" },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
    },
    strict: true,
  });
  const records = Number(values.records);
  const n = Number(values.n);
  if (!Number.isInteger(records) || records < 0 || records > 60_000) throw new Error("--records must be in 0..60000");
  if (!Number.isInteger(n) || n < 1) throw new Error("--n must be a positive integer");
  const burst = Number(values.burst);
  if (!Number.isInteger(burst) || burst < 0 || burst > 64) throw new Error("--burst must be in 0..64");
  const cpuProfDir = values["cpu-prof"];
  const cluster = await BenchCluster.start({
    nodes: 1,
    controller: false,
    ...(cpuProfDir !== undefined ? { cpuProfDir } : {}),
  });
  try {
    const c = cluster.client;
    const agent = cluster.agents[0];
    if (agent === undefined) throw new Error("no agent");
    const mk = (name: string, subnet: string, ips: string, gateway: string): Promise<unknown> =>
      c.create(POOLS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderIPPool",
        metadata: { name },
        spec: { subnet, ips: [ips], gateway },
      });
    await mk("scale-big", "2001:db8:50::/112", "2001:db8:50::2-2001:db8:50::ffff", "2001:db8:50::1");
    await mk("scale-64", "2001:db8:64::/64", "2001:db8:64::2-2001:db8:64::ffff:ffff:ffff:ffff", "2001:db8:64::1");
    await mk("scale-24", "192.0.2.0/24", "192.0.2.2-192.0.2.254", "192.0.2.1");
    const podsFor = (pool: string, family: "ipv4" | "ipv6", count: number, tag: string): PodSpec[] =>
      Array.from({ length: count }, (_, i) => ({
        name: `${tag}-${i}`,
        namespace: "default",
        node: "node1",
        annotations: { "ipam.spidernet.io/ippool": JSON.stringify({ [family]: [pool] }) },
      }));
    const call = (cmd: "ADD" | "DEL", p: PodSpec, uid: string): ReturnType<typeof cni> =>
      cni({
        plugin: SHIM,
        command: cmd,
        netconf: spiderpoolNetconf(agent.socket),
        containerID: `c-${p.name}`,
        namespace: p.namespace,
        pod: p.name,
        podUid: uid,
      });

    // The measured ADDs take the pool from records-n to records: with the agent's default
    // cap (ipamPoolMaxAllocatedIPs, 5000) that is the biggest pool it will write.
    const fillCount = Math.max(0, records - n);
    if (fillCount > 0) {
      const fill = podsFor("scale-big", "ipv6", fillCount, "fill");
      process.stderr.write(`  creating ${fillCount} pods and allocating their addresses in scale-big\n`);
      const uids = await cluster.createPods(fill, 32);
      let done = 0;
      let failed = 0;
      await forEachLimit(fill, 16, async (p) => {
        const r = await call("ADD", p, uids.get(`default/${p.name}`) ?? "");
        if (!r.ok) failed++;
        if (++done % 1000 === 0) process.stderr.write(`  fill: ${done}/${fillCount}\n`);
      });
      if (failed > 0) throw new Error(`${failed} of ${fillCount} fill allocations failed`);
    }

    interface Run {
      addMs: number[];
      delMs: number[];
      cpuAdd: number;
      sysAdd: number;
      cpuDel: number;
      failures: number;
    }
    const run = async (pool: string, family: "ipv4" | "ipv6", concurrency: number, round: string): Promise<Run> => {
      const pods = podsFor(pool, family, n, `m${concurrency}${round}-${pool}`);
      const uids = await cluster.createPods(pods);
      const addMs: number[] = [];
      const delMs: number[] = [];
      let failures = 0;
      const cpu = (): { all: number; sys: number } => {
        const u = procUsage(agent.daemon.pid);
        return { all: u?.cpuSeconds ?? Number.NaN, sys: u?.sysSeconds ?? Number.NaN };
      };
      const every = (cmd: "ADD" | "DEL", times: number[]): Promise<void> =>
        forEachLimit(pods, concurrency, async (p) => {
          const r = await call(cmd, p, uids.get(`default/${p.name}`) ?? "");
          times.push(r.ms);
          if (!r.ok) {
            failures++;
            if (failures <= 3) process.stderr.write(`  ${cmd} ${p.name} failed: ${r.error ?? ""}\n`);
          }
        });
      // ADDs first, all of them, then DELs: the pool grows by n records on top of what it held.
      // Each phase starts from a quiet agent: the pods' watch events (created, then deleted)
      // are the informer's work per pod, not the ADD's or the DEL's, and would otherwise land
      // in whichever phase they overlap.
      await quiet(agent.daemon.pid);
      const a0 = cpu();
      await every("ADD", addMs);
      const a1 = cpu();
      for (const p of pods) await c.delete(Resources.pods, p.name, { namespace: "default" });
      await quiet(agent.daemon.pid);
      const d0 = cpu();
      await every("DEL", delMs);
      const d1 = cpu();
      process.stderr.write(`  ${pool}: ${n} ADDs and DELs measured, ${concurrency} in flight\n`);
      return {
        addMs,
        delMs,
        cpuAdd: a1.all - a0.all,
        sysAdd: a1.sys - a0.sys,
        cpuDel: d1.all - d0.all,
        failures,
      };
    };
    const figures = (pool: string, recordsBefore: number, concurrency: number, runs: Run[]): PoolFigures => {
      const calls = n * runs.length;
      const sum = (f: (r: Run) => number): number => runs.reduce((t, r) => t + f(r), 0);
      return {
        pool,
        concurrency,
        recordsBefore,
        add: stats(runs.flatMap((r) => r.addMs)),
        del: stats(runs.flatMap((r) => r.delMs)),
        agentCpuMsPerAdd: round((sum((r) => r.cpuAdd) * 1000) / calls),
        agentSysMsPerAdd: round((sum((r) => r.sysAdd) * 1000) / calls),
        agentCpuMsPerDel: round((sum((r) => r.cpuDel) * 1000) / calls),
        failures: sum((r) => r.failures),
      };
    };
    const measure = async (
      pool: string,
      family: "ipv4" | "ipv6",
      recordsBefore: number,
      concurrency = 1,
    ): Promise<PoolFigures> => figures(pool, recordsBefore, concurrency, [await run(pool, family, concurrency, "")]);
    // Warm-up: the agent's first calls compile its code; that is not a cost per allocation.
    await measure("scale-24", "ipv4", 0);
    const big = await measure("scale-big", "ipv6", fillCount);
    const bigBurst = burst > 0 ? await measure("scale-big", "ipv6", fillCount, burst) : undefined;
    // The /64 and the /24 four times each, in the order A B B A B A A B: what drifts during the
    // run (the collection of the big pool's garbage, the machine's other work) weighs on both
    // alike, and a ratio of two pools that each cost a millisecond needs that many calls to
    // stop swinging by ±10 % from run to run.
    const runs64: Run[] = [];
    const runs24: Run[] = [];
    for (const [i, which] of ["64", "24", "24", "64", "24", "64", "64", "24"].entries()) {
      if (which === "64") runs64.push(await run("scale-64", "ipv6", 1, `r${i}`));
      else runs24.push(await run("scale-24", "ipv4", 1, `r${i}`));
    }
    const v64 = figures("scale-64", 0, 1, runs64);
    const v24 = figures("scale-24", 0, 1, runs24);

    console.log("");
    console.log(statsHeader(`(ms per call, N=${n}; ${4 * n} for the /64 and the /24)`, 40));
    const all = [big, ...(bigBurst !== undefined ? [bigBurst] : []), v64, v24];
    const inFlight = (f: PoolFigures): string => (f.concurrency > 1 ? `, ${f.concurrency} in flight` : "");
    for (const f of all) {
      console.log(statsRow(`ADD ${f.pool} (${f.recordsBefore} records${inFlight(f)})`, f.add, 40));
      console.log(statsRow(`DEL ${f.pool}${inFlight(f)}`, f.del, 40));
    }
    console.log("");
    for (const f of all)
      console.log(
        `agent CPU per allocation, ${f.pool} (${f.recordsBefore} records before${inFlight(f)}): ADD ${f.agentCpuMsPerAdd.toFixed(2)} ms (kernel ${f.agentSysMsPerAdd.toFixed(2)}), DEL ${f.agentCpuMsPerDel.toFixed(2)} ms`,
      );
    console.log(
      `/64 vs /24: median ADD ${(v64.add.medianMs / v24.add.medianMs).toFixed(2)}x, agent CPU per ADD ${(v64.agentCpuMsPerAdd / v24.agentCpuMsPerAdd).toFixed(2)}x (target: no slower)`,
    );
    const check = await spiderpoolctlCheck(cluster.kubeconfig);
    console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
    return {
      scenario: "scale",
      n,
      check: check.pass ? "pass" : "fail",
      failures: all.reduce((n, f) => n + f.failures, 0),
      duplicates: 0,
      wallSeconds: 0,
      add: big.add,
      del: big.del,
      agentCpuMsPerAllocation: big.agentCpuMsPerAdd,
      ...(bigBurst !== undefined ? { agentCpuMsPerAllocationBurst: bigBurst.agentCpuMsPerAdd } : {}),
      pools: { big, ...(bigBurst !== undefined ? { bigBurst } : {}), v64, v24 },
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * Waits until the process has used no CPU for 200 ms (the kernel counts in 10 ms ticks), or
 * 5 s at most, so a measured phase starts with what came before it finished.
 */
async function quiet(pid: number): Promise<void> {
  const until = Date.now() + 5_000;
  let last = procUsage(pid)?.cpuSeconds ?? 0;
  let still = 0;
  while (Date.now() < until && still < 4) {
    await new Promise((r) => setTimeout(r, 50));
    const now = procUsage(pid)?.cpuSeconds ?? 0;
    still = now === last ? still + 1 : 0;
    last = now;
  }
}
