// Benchmark of the embedded API server: writes/s from parallel writers, and the delay from
// a write to its event at each of many watchers. The server runs in its own process
// (spiderpoolctl apiserver), as the agent and controller would see it. Prints figures and
// the machine's load; asserts nothing.
// Usage: npm run bench:apiserver [-- --writers 10 --writes 20000 --watchers 50 --write-latency-ms 0 --json FILE]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { KubeClient, loadKubeconfig, Resources, type KubeObject } from "../src/kube/index.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const { values } = parseArgs({
  options: {
    writers: { type: "string", default: "10" },
    writes: { type: "string", default: "20000" },
    watchers: { type: "string", default: "50" },
    "write-latency-ms": { type: "string", default: "0" },
    json: { type: "string" },
  },
});
const WRITERS = Number(values.writers);
const WRITES = Number(values.writes);
const WATCHERS = Number(values.watchers);
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "..", "bin", "spiderpoolctl");

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

async function startServer(dir: string): Promise<{ kubeconfig: string; stop: () => Promise<void>; pid: number }> {
  const kubeconfig = join(dir, "kubeconfig");
  const child = spawn(
    BIN,
    [
      "apiserver",
      "--listen",
      "127.0.0.1:0",
      "--kubeconfig-out",
      kubeconfig,
      "--skip-crds",
      "--write-latency-ms",
      values["write-latency-ms"] ?? "0",
      "--history",
      "100000",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  // Whatever ends this process (an error, Ctrl-C, a harness timeout), the server ends too:
  // the exit handler runs synchronously, so the kill always goes out.
  const reap = (): void => void child.kill("SIGKILL");
  process.on("exit", reap);
  child.on("exit", () => process.off("exit", reap));
  await new Promise<void>((ok, fail) => {
    let out = "";
    const t = setTimeout(() => fail(new Error("API server not ready after 30 s")), 30_000);
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (/^ready /m.test(out)) {
        clearTimeout(t);
        ok();
      }
    });
    child.on("exit", (code) => fail(new Error(`API server exited with ${code}`)));
  });
  return {
    kubeconfig,
    pid: child.pid ?? 0,
    stop: async () => {
      const done = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await done;
    },
  };
}

async function cpuSecondsOf(pid: number): Promise<number> {
  const { readFileSync } = await import("node:fs");
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime, fields 14 and 15 of /proc/PID/stat (11 and 12 after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const machine = machineInfo();
console.log(describeMachine(machine));
const dir = mkdtempSync(join(tmpdir(), "bench-apiserver-"));
const server = await startServer(dir);
const config = loadKubeconfig(server.kubeconfig);
const results: Record<string, unknown> = {
  scenario: "apiserver",
  machine,
  writers: WRITERS,
  writes: WRITES,
  watchers: WATCHERS,
};
try {
  const writerClient = new KubeClient(config, { connections: WRITERS });
  const watchClient = new KubeClient(config);
  const ns = "bench";
  await writerClient.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });

  // Phase 1: writes alone.
  const run = async (
    prefix: string,
    onSent?: (name: string, t: number) => void,
  ): Promise<{ seconds: number; latencies: number[] }> => {
    const latencies: number[] = [];
    let next = 0;
    let lastShown = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (;;) {
          const i = next++;
          if (i >= WRITES) return;
          const name = `${prefix}-${i}`;
          const sent = performance.now();
          onSent?.(name, sent);
          await writerClient.create(Resources.configmaps, {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name, namespace: ns, labels: { phase: prefix } },
            data: { i: String(i) },
          } as KubeObject);
          latencies.push(performance.now() - sent);
          if (i - lastShown >= WRITES / 10) {
            lastShown = i;
            process.stderr.write(`${prefix}: ${i}/${WRITES}\n`);
          }
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, latencies: latencies.sort((a, b) => a - b) };
  };

  // Warm-up (not counted): lets both processes' JIT reach steady state, as a long-running server is.
  const measured = WRITES;
  await (async () => {
    let i = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (i < Math.min(2000, measured)) {
          const n = i++;
          await writerClient.create(Resources.configmaps, {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `warm-${n}`, namespace: ns },
          } as KubeObject);
        }
      }),
    );
  })();
  const cpu0 = await cpuSecondsOf(server.pid);
  const alone = await run("alone");
  const cpu1 = await cpuSecondsOf(server.pid);
  results["writesAlone"] = {
    writesPerSecond: Math.round(WRITES / alone.seconds),
    wallSeconds: alone.seconds,
    medianMs: pct(alone.latencies, 50),
    p99Ms: pct(alone.latencies, 99),
    serverCpuSeconds: cpu1 - cpu0,
  };

  // Phase 2: the same writes with WATCHERS watches open on the resource.
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  const ac = new AbortController();
  let received = 0;
  const perWatcher = new Array<number>(WATCHERS).fill(0);
  let ready = 0;
  const watches = Array.from({ length: WATCHERS }, async (_, k) => {
    const list = await watchClient.list(Resources.configmaps, { namespace: ns, limit: 1 });
    ready++;
    for await (const ev of watchClient.watch(Resources.configmaps, {
      namespace: ns,
      resourceVersion: list.metadata.resourceVersion,
      labelSelector: "phase=watched",
      signal: ac.signal,
    })) {
      const name = (ev.object as KubeObject).metadata?.name ?? "";
      const t = sentAt.get(name);
      if (ev.type === "ADDED" && t !== undefined) {
        delays.push(performance.now() - t);
        received++;
        perWatcher[k] = (perWatcher[k] ?? 0) + 1;
      }
    }
    if (!ac.signal.aborted) process.stderr.write(`watcher ${k} ended early after ${perWatcher[k]} events\n`);
  });
  // Every watcher must have its starting resourceVersion before the first write.
  while (ready < WATCHERS) await new Promise((r) => setTimeout(r, 20));
  const cpu2 = await cpuSecondsOf(server.pid);
  const watched = await run("watched", (name, t) => sentAt.set(name, t));
  const deadline = Date.now() + 30_000;
  while (received < WRITES * WATCHERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const cpu3 = await cpuSecondsOf(server.pid);
  ac.abort();
  await Promise.allSettled(watches);
  delays.sort((a, b) => a - b);
  results["writesWithWatchers"] = {
    writesPerSecond: Math.round(WRITES / watched.seconds),
    wallSeconds: watched.seconds,
    medianMs: pct(watched.latencies, 50),
    p99Ms: pct(watched.latencies, 99),
    serverCpuSeconds: cpu3 - cpu2,
  };
  results["eventDelay"] = {
    expected: WRITES * WATCHERS,
    received,
    watchersShort: perWatcher.filter((n) => n < WRITES).length,
    medianMs: pct(delays, 50),
    p95Ms: pct(delays, 95),
    p99Ms: pct(delays, 99),
    maxMs: delays[delays.length - 1] ?? Number.NaN,
  };
  await writerClient.close();
  await watchClient.close();
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const a = results["writesAlone"] as Record<string, number>;
const w = results["writesWithWatchers"] as Record<string, number>;
const d = results["eventDelay"] as Record<string, number>;
const f = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(1));
console.log("");
console.log(`writes (${WRITERS} writers, ${WRITES} creates, write latency ${values["write-latency-ms"]} ms):`);
console.log(
  `  alone:             ${a["writesPerSecond"]} writes/s (target >= 5000), median ${f(a["medianMs"])} ms, p99 ${f(a["p99Ms"])} ms, server CPU ${f(a["serverCpuSeconds"])} s`,
);
console.log(
  `  with ${WATCHERS} watchers: ${w["writesPerSecond"]} writes/s, median ${f(w["medianMs"])} ms, p99 ${f(w["p99Ms"])} ms, server CPU ${f(w["serverCpuSeconds"])} s`,
);
console.log(`event delay, write sent -> event at a watcher (${d["received"]}/${d["expected"]} events):`);
console.log(
  `  median ${f(d["medianMs"])} ms, p95 ${f(d["p95Ms"])} ms, p99 ${f(d["p99Ms"])} ms, max ${f(d["maxMs"])} ms`,
);
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
