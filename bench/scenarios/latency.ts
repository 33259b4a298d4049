// latency: one CNI ADD then DEL at a time through the shim and spiderpool-agent against
// the embedded API server, and in the same run Debian's host-local under the same harness
// (same process start, same netconf shape). Only the plugin process is timed, for both:
// pod bookkeeping (create, delete) happens outside the timed call.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findPlugin } from "../../src/cli/netlab.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, SHIM } from "../lib/cluster.ts";
import { cni, hostLocalNetconf, spiderpoolNetconf, type CniOutcome } from "../lib/cni.ts";
import { round, stats, statsHeader, statsRow, type Stats } from "../lib/stats.ts";

export const USAGE = `npm run bench -- latency [options]
  --n N                  pods, one ADD and one DEL each, per stack (default 200)
  --api-latency-ms MS    added to every API write (default 0)
  --json FILE            write the figures as JSON`;

interface Side {
  add: Stats;
  del: Stats;
  failures: number;
  duplicates: number;
  wallSeconds: number;
}

async function sequence(
  label: string,
  n: number,
  call: (i: number, cmd: "ADD" | "DEL") => Promise<CniOutcome>,
): Promise<Side> {
  const add: number[] = [];
  const del: number[] = [];
  const seen = new Set<string>();
  let failures = 0;
  let duplicates = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = await call(i, "ADD");
    add.push(a.ms);
    if (!a.ok) failures++;
    // Sequential ADD/DEL frees each address before the next ADD, so a duplicate here is an
    // address given while still held: counted against the live set only.
    for (const ip of a.ips) if (seen.has(ip)) duplicates++;
    for (const ip of a.ips) seen.add(ip);
    const d = await call(i, "DEL");
    del.push(d.ms);
    if (!d.ok) failures++;
    for (const ip of a.ips) seen.delete(ip);
    if ((i + 1) % 50 === 0) process.stderr.write(`  ${label}: ${i + 1}/${n}\n`);
  }
  return {
    add: stats(add),
    del: stats(del),
    failures,
    duplicates,
    wallSeconds: round((performance.now() - t0) / 1000),
  };
}

export async function latency(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", default: "200" },
      "api-latency-ms": { type: "string", default: "0" },
      json: { type: "string" },
    },
    strict: true,
  });
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 1) throw new Error("--n must be a positive integer");
  const hostLocal = findPlugin("host-local");
  if (hostLocal === undefined)
    throw new Error(
      "host-local is not installed (Debian package containernetworking-plugins): the comparison needs it",
    );
  // No controller: the agent's path is what is measured; on a cluster the controller runs
  // elsewhere and is not on the ADD path.
  const cluster = await BenchCluster.start({
    nodes: 1,
    controller: false,
    writeLatencyMs: Number(values["api-latency-ms"]),
  });
  const hlDir = mkdtempSync(join(tmpdir(), "bench-latency-hl-"));
  try {
    const c = cluster.client;
    const socket = cluster.agents[0]?.socket ?? "";
    const pool = (name: string, subnet: string, ips: string, gateway: string): KubeObject => ({
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name },
      spec: { subnet, ips: [ips], gateway },
    });
    await c.create(POOLS, pool("lat-v4", "192.0.2.0/24", "192.0.2.1-192.0.2.254", "192.0.2.1"));
    await c.create(POOLS, pool("lat-v6", "2001:db8:1a7::/64", "2001:db8:1a7::1-2001:db8:1a7::ffff", "2001:db8:1a7::1"));

    const ours =
      (annotation: string, tag: string) =>
      async (i: number, cmd: "ADD" | "DEL"): Promise<CniOutcome> => {
        const name = `lat-${tag}-${i}`;
        let uid: string;
        if (cmd === "ADD") {
          const p: KubeObject = await c.create(Resources.pods, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: "default", annotations: { "ipam.spidernet.io/ippool": annotation } },
            spec: { nodeName: "node1", containers: [] },
          });
          await c.updateStatus(Resources.pods, { ...p, status: { phase: "Running" } });
          uid = p.metadata?.uid ?? "";
        } else {
          const p = await c.get(Resources.pods, name, "default");
          uid = p.metadata?.uid ?? "";
          await c.delete(Resources.pods, name, { namespace: "default" });
        }
        return cni({
          plugin: SHIM,
          command: cmd,
          netconf: spiderpoolNetconf(socket),
          containerID: `c-${name}`,
          namespace: "default",
          pod: name,
          podUid: uid,
        });
      };
    const hl =
      (dual: boolean) =>
      (i: number, cmd: "ADD" | "DEL"): Promise<CniOutcome> => {
        const ranges = [[{ subnet: "192.0.2.0/24", gateway: "192.0.2.1" }]];
        if (dual) ranges.push([{ subnet: "2001:db8:1a7::/64", gateway: "2001:db8:1a7::1" }]);
        return cni({
          plugin: hostLocal,
          command: cmd,
          netconf: hostLocalNetconf(hlDir, ranges),
          containerID: `c-hl-${dual ? "d" : "4"}-${i}`,
          namespace: "default",
          pod: `hl-${i}`,
        });
      };

    const v4 = await sequence("spiderpool IPv4", n, ours('{"ipv4":["lat-v4"]}', "v4"));
    const hl4 = await sequence("host-local IPv4", n, hl(false));
    const dual = await sequence("spiderpool dual", n, ours('{"ipv4":["lat-v4"],"ipv6":["lat-v6"]}', "dual"));
    const hl6 = await sequence("host-local dual", n, hl(true));

    console.log("");
    console.log(statsHeader(`(ms, N=${n})`, 28));
    console.log(statsRow("spiderpool ADD, IPv4", v4.add, 28));
    console.log(statsRow("host-local ADD, IPv4", hl4.add, 28));
    console.log(statsRow("spiderpool DEL, IPv4", v4.del, 28));
    console.log(statsRow("host-local DEL, IPv4", hl4.del, 28));
    console.log(statsRow("spiderpool ADD, dual stack", dual.add, 28));
    console.log(statsRow("host-local ADD, dual stack", hl6.add, 28));
    console.log(statsRow("spiderpool DEL, dual stack", dual.del, 28));
    console.log(statsRow("host-local DEL, dual stack", hl6.del, 28));
    const r4 = round(v4.add.medianMs / hl4.add.medianMs);
    const r6 = round(dual.add.medianMs / hl6.add.medianMs);
    console.log("");
    console.log(
      `median ADD ratio (spiderpool / host-local): IPv4 ${r4.toFixed(2)}, dual stack ${r6.toFixed(2)} (target <= 2)`,
    );
    const check = await spiderpoolctlCheck(cluster.kubeconfig);
    console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
    return {
      scenario: "latency",
      n,
      check: check.pass ? "pass" : "fail",
      failures: v4.failures + dual.failures,
      duplicates: v4.duplicates + dual.duplicates,
      wallSeconds: v4.wallSeconds,
      add: v4.add,
      del: v4.del,
      hostLocal: { add: hl4.add, del: hl4.del, failures: hl4.failures, wallSeconds: hl4.wallSeconds },
      ratioMedianAdd: r4,
      dualStack: {
        failures: dual.failures,
        duplicates: dual.duplicates,
        wallSeconds: dual.wallSeconds,
        add: dual.add,
        del: dual.del,
        hostLocal: { add: hl6.add, del: hl6.del, failures: hl6.failures, wallSeconds: hl6.wallSeconds },
        ratioMedianAdd: r6,
      },
    };
  } finally {
    rmSync(hlDir, { recursive: true, force: true });
    await cluster.stop();
  }
}
