// soak: many sequential ADD/DEL cycles against one agent, its RSS sampled as the cycles go,
// to tell memory the agent keeps from memory that only grows until the collector runs. The
// agent's V8 flags can be swapped (--agent-node-flags) so alternatives to scripts/daemon.sh's
// are measured with the same run.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, SHIM } from "../lib/cluster.ts";
import { cni, spiderpoolNetconf } from "../lib/cni.ts";
import { procUsage } from "../lib/daemons.ts";
import { round, stats, statsHeader, statsRow } from "../lib/stats.ts";

export const USAGE = `npm run bench -- soak [options]
  --cycles N             ADD+DEL cycles, one after another, IPv4 (default 10000)
  --every N              print the agent's RSS every N cycles (default 500)
  --agent-node-flags=S   the agent's node flags instead of scripts/daemon.sh's (SPIDERPOOL_NODE_FLAGS),
                         e.g. --agent-node-flags="--max-semi-space-size=4"
  --json FILE            write the figures as JSON`;

interface Sample {
  cycles: number;
  seconds: number;
  rssMB: number;
  privateMB: number;
  load1: number;
}

export async function soak(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cycles: { type: "string", default: "10000" },
      every: { type: "string", default: "500" },
      "agent-node-flags": { type: "string" },
      json: { type: "string" },
    },
    strict: true,
  });
  const cycles = Number(values.cycles);
  const every = Number(values.every);
  if (!Number.isInteger(cycles) || cycles < 1) throw new Error("--cycles must be a positive integer");
  if (!Number.isInteger(every) || every < 1) throw new Error("--every must be a positive integer");
  const flags = values["agent-node-flags"];
  const cluster = await BenchCluster.start({
    nodes: 1,
    controller: false,
    ...(flags !== undefined ? { agentEnv: { SPIDERPOOL_NODE_FLAGS: flags } } : {}),
  });
  try {
    const c = cluster.client;
    const agent = cluster.agents[0];
    if (agent === undefined) throw new Error("no agent started");
    await c.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "soak-v4" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.2-192.0.2.254"], gateway: "192.0.2.1" },
    });
    console.log(`agent node flags: ${flags ?? "scripts/daemon.sh's"}`);
    const samples: Sample[] = [];
    const t0 = performance.now();
    const sample = (done: number): void => {
      const u = procUsage(agent.daemon.pid);
      const s: Sample = {
        cycles: done,
        seconds: round((performance.now() - t0) / 1000),
        rssMB: u?.rssMB ?? 0,
        privateMB: u?.privateMB ?? 0,
        load1: round(loadavg()[0] ?? 0),
      };
      samples.push(s);
      console.log(
        `  cycles ${String(done).padStart(6)}  ${s.seconds.toFixed(0).padStart(5)} s  RSS ${s.rssMB.toFixed(1)} MB  RssAnon ${s.privateMB.toFixed(1)} MB  load ${s.load1.toFixed(2)}`,
      );
    };
    sample(0);
    const add: number[] = [];
    const del: number[] = [];
    let failures = 0;
    for (let i = 0; i < cycles; i++) {
      const name = `soak-${i}`;
      const p: KubeObject = await c.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default", annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["soak-v4"]}' } },
        spec: { nodeName: agent.node, containers: [] },
      });
      const call = (command: "ADD" | "DEL") =>
        cni({
          plugin: SHIM,
          command,
          netconf: spiderpoolNetconf(agent.socket),
          containerID: `c-${name}`,
          namespace: "default",
          pod: name,
          podUid: p.metadata?.uid ?? "",
        });
      const a = await call("ADD");
      add.push(a.ms);
      if (!a.ok && failures++ === 0) console.log(`  first failure (ADD, cycle ${i}): ${a.error ?? ""}`);
      await c.delete(Resources.pods, name, { namespace: "default" });
      const d = await call("DEL");
      del.push(d.ms);
      if (!d.ok && failures++ === 0) console.log(`  first failure (DEL, cycle ${i}): ${d.error ?? ""}`);
      if ((i + 1) % every === 0) sample(i + 1);
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const peak = Math.max(...samples.map((s) => s.rssMB));
    console.log("");
    console.log(statsHeader(`(ms, N=${cycles})`, 20));
    console.log(statsRow("ADD", stats(add), 20));
    console.log(statsRow("DEL", stats(del), 20));
    console.log(
      `agent RSS: ${first?.rssMB ?? 0} MB at start, ${last?.rssMB ?? 0} MB after ${cycles} cycles, peak ${peak} MB (target < 100)`,
    );
    if (flags?.includes("--trace-gc") === true) {
      // Where the memory goes: with --trace-gc the agent prints each collection's heap before
      // and after; the full (Mark-Compact) ones show how far the old generation is let grow.
      const gcs = agent.daemon
        .out()
        .split("\n")
        .filter((l) => l.includes("Mark-Compact") || l.includes("Scavenge"));
      const full = gcs.filter((l) => l.includes("Mark-Compact"));
      console.log(`agent collections: ${gcs.length - full.length} scavenges, ${full.length} full (Mark-Compact)`);
      for (const l of full.slice(0, 3)) console.log(`  first: ${l.trim()}`);
      for (const l of full.slice(-3)) console.log(`  last: ${l.trim()}`);
      const last = gcs[gcs.length - 1];
      if (last !== undefined) console.log(`  last collection: ${last.trim()}`);
    }
    const check = await spiderpoolctlCheck(cluster.kubeconfig);
    console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
    return {
      scenario: "soak",
      cycles,
      agentNodeFlags: flags ?? null,
      check: check.pass ? "pass" : "fail",
      failures,
      wallSeconds: round((performance.now() - t0) / 1000),
      add: stats(add),
      del: stats(del),
      rssStartMB: first?.rssMB ?? 0,
      rssEndMB: last?.rssMB ?? 0,
      rssPeakMB: peak,
      samples,
    };
  } finally {
    await cluster.stop();
  }
}
