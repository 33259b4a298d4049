// Micro-benchmark of what one agent pays for each version of a big pool it watches: on
// 100 nodes every agent receives every version every other agent writes, so at 10 000
// records this per-event cost, times agents, times versions, is most of the storm's CPU
// (docs/performance.md, "The fourth session on issue 16"). A stand-in server
// (bench/lib/pool-watch-server.ts) streams a pool growing by --step records a version to
// --records; each arm is a fresh client process, measured from its 20th event to the last:
//   ours   the agent's path: Informer with the records decoded by difference when read
//          (StringDeltas) and events of its own writes recognised, reading the records of
//          one version in --read-every (the versions it would plan a write on);
//   plain  the same client parsing every event whole, as a watcher without deltas does
//          (client-go's informers among them): the peer the ratio is against.
// Prints CPU per event (user, system), V8 collections and their pause time, peak RSS and
// the ratio; the arms alternate for --rounds rounds and the medians are the figures. The
// clients run with the agent launcher's V8 flags (scripts/daemon.sh) unless --flags names
// others. It asserts only that every client ended with every record.
// Usage: npm run bench:watch [-- --records N] [--step N] [--pace-ms N] [--read-every N] [--rounds N] [--flags="..."]
import { spawn } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { SpiderIPPool } from "../src/api/ippool.ts";
import { KubeClient } from "../src/kube/client.ts";
import { Informer } from "../src/kube/informer.ts";
import { POOLS, POOL_RECORDS } from "../src/poolstore/pool-writer.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const SERVER = fileURLToPath(new URL("./lib/pool-watch-server.ts", import.meta.url));
const SKIP = 20;
/** The agent's V8 flags, as scripts/daemon.sh starts it. */
const AGENT_FLAGS = "--max-semi-space-size=4 --initial-heap-size=24";

interface ArmResult {
  arm: string;
  events: number;
  records: number;
  /** Megabytes of records text read (the versions planned on). */
  touchedMb: number;
  userMsPerEvent: number;
  sysMsPerEvent: number;
  gcs: number;
  gcMs: number;
  maxRssMb: number;
}

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    step: { type: "string", default: "8" },
    "pace-ms": { type: "string", default: "2" },
    "read-every": { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    flags: { type: "string", default: AGENT_FLAGS },
    client: { type: "string" },
    port: { type: "string" },
  },
});

if (values.client !== undefined) {
  process.stdout.write(`${JSON.stringify(await client(values.client, Number(values.port)))}\n`);
  process.exit(0);
} else await main();

async function main(): Promise<void> {
  const records = Math.max(100, Number(values.records));
  const step = Math.max(1, Number(values.step));
  const pace = Math.max(0, Number(values["pace-ms"]));
  const rounds = Math.max(1, Number(values.rounds));
  console.log(describeMachine(machineInfo()));
  console.log(
    `watch-events: one pool growing by ${step} records a version to ${records}, a version every ${pace} ms; ` +
      `ours reads the records of one version in ${values["read-every"]}`,
  );
  const results: ArmResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const arm of r % 2 === 0 ? ["ours", "plain"] : ["plain", "ours"]) {
      const res = await runArm(arm, records, step, pace);
      if (res.records !== records) throw new Error(`${arm}: ended with ${res.records} records, not ${records}`);
      results.push(res);
      console.log(
        `  round ${r + 1} ${arm.padEnd(5)}: ${res.events} events; per event user ${res.userMsPerEvent} ms, ` +
          `system ${res.sysMsPerEvent} ms; ${res.gcs} collections, ${res.gcMs} ms in them; peak RSS ${res.maxRssMb} MB`,
      );
    }
  }
  const med = (arm: string, k: keyof ArmResult): number => {
    const xs = results
      .filter((x) => x.arm === arm)
      .map((x) => x[k] as number)
      .sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)] as number;
  };
  const cpu = (arm: string): number => med(arm, "userMsPerEvent") + med(arm, "sysMsPerEvent");
  // The stream is the same for both arms: its size follows from the records (≈ 125 bytes each, escaped).
  const avgMb = (((records / 2) * 125) / 1e6).toFixed(2);
  console.log(
    `medians (events of ${avgMb} MB on average): ours ${round(cpu("ours"))} ms CPU per event, ` +
      `GC ${med("ours", "gcMs")} ms, peak RSS ${med("ours", "maxRssMb")} MB; ` +
      `plain ${round(cpu("plain"))} ms, GC ${med("plain", "gcMs")} ms, peak RSS ${med("plain", "maxRssMb")} MB; ` +
      `ours/plain ${round(cpu("ours") / cpu("plain"))}`,
  );
  console.log(
    `load after: ${machineInfo()
      .loadAverage.map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

function runArm(arm: string, records: number, step: number, pace: number): Promise<ArmResult> {
  return new Promise((resolve, reject) => {
    const server = spawn(process.execPath, [SERVER, String(records), String(step), String(pace)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    server.on("error", reject);
    server.stdout.once("data", (d: Buffer) => {
      const port = d.toString().trim();
      const c = spawn(
        process.execPath,
        [
          ...(values.flags ?? "").split(/\s+/).filter((f) => f !== ""),
          fileURLToPath(import.meta.url),
          ...["--client", arm, "--port", port, "--records", String(records)],
          ...["--read-every", String(values["read-every"])],
        ],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let out = "";
      c.stdout.on("data", (b: Buffer) => (out += b.toString()));
      c.on("exit", (code) => {
        server.kill();
        if (code !== 0) reject(new Error(`${arm} client exited ${code}`));
        else resolve(JSON.parse(out) as ArmResult);
      });
    });
  });
}

async function client(arm: string, port: number): Promise<ArmResult> {
  let gcs = 0;
  let gcMs = 0;
  let measuring = false;
  const obs = new PerformanceObserver((list) => {
    if (!measuring) return;
    for (const e of list.getEntries()) {
      gcs++;
      gcMs += e.duration;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  let events = 0;
  let start: NodeJS.CpuUsage | undefined;
  const counted = (): void => {
    events++;
    if (events === SKIP) {
      start = process.cpuUsage();
      measuring = true;
    }
  };
  let last: SpiderIPPool | undefined;
  const readEvery = Math.max(1, Number(values["read-every"]));
  const kube = new KubeClient({ server: `http://127.0.0.1:${port}` });
  const inf = new Informer<SpiderIPPool>(kube, POOLS, arm === "ours" ? { deltaString: POOL_RECORDS } : {});
  // As the agent: an event is looked up among its own writes first (none here).
  if (arm === "ours") inf.recognize(() => undefined);
  let touched = 0;
  inf.addHandlers({
    onUpdate: (_o, p) => {
      counted();
      last = p;
      if (events % readEvery === 0) touched += p.status?.allocatedIPs?.length ?? 0;
    },
  });
  inf.start();
  const want = Number(values.records);
  // The last version is the end; the informer would re-watch a server that has stopped.
  while (last?.status?.allocatedIPCount !== want) await new Promise((r) => setTimeout(r, 20));
  await inf.stop();
  await kube.close();
  const used = process.cpuUsage(start);
  measuring = false;
  obs.disconnect();
  const n = Math.max(1, events - SKIP);
  const recordCount = Object.keys(JSON.parse(last?.status?.allocatedIPs ?? "{}") as object).length;
  return {
    arm,
    events,
    records: recordCount,
    touchedMb: round(touched / 1e6),
    userMsPerEvent: round(used.user / 1000 / n),
    sysMsPerEvent: round(used.system / 1000 / n),
    gcs,
    gcMs: round(gcMs),
    maxRssMb: round(process.resourceUsage().maxRSS / 1024),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
