// Latency of one CNI ADD then DEL, sequentially, through the shim and spiderpool-agent
// against the embedded API server, and in the same run Debian's host-local under the same
// harness (same process spawning, same netconf shape). Prints min/median/p95/p99 and the
// ratio of medians; asserts nothing.
// Usage: npm run bench:latency [-- --n 200 --json FILE]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spiderpoolctlCheck } from "./check.ts";
import { parseArgs } from "node:util";
import { POOLS } from "../src/poolstore/pool-writer.ts";
import { findPlugin, runPlugin } from "../src/cli/netlab.ts";
import { KubeClient, loadKubeconfig, Resources, type KubeObject } from "../src/kube/index.ts";
import { describeMachine, machineInfo } from "./machine.ts";

const children = new Set<ChildProcess>();

const { values } = parseArgs({ options: { n: { type: "string", default: "200" }, json: { type: "string" } } });
const N = Number(values.n);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SHIM = join(ROOT, "native", "shim", "build", "spiderpool");

interface Stats {
  minMs: number;
  medianMs: number;
  p95Ms: number;
  p99Ms: number;
}
function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { minMs: s[0] ?? Number.NaN, medianMs: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

function start(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ stop: () => Promise<void>; out: () => string }> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`${cmd} not ready: ${out}`)), 60_000);
    const check = setInterval(() => {
      if (ready.test(out)) {
        clearTimeout(t);
        clearInterval(check);
        ok({
          out: () => out,
          stop: async () => {
            const done = new Promise((r) => child.on("exit", r));
            child.kill("SIGTERM");
            await done;
          },
        });
      }
    }, 20);
    child.on("exit", (code) => {
      clearTimeout(t);
      clearInterval(check);
      fail(new Error(`${cmd} exited with ${code}: ${out}`));
    });
  });
}

// Whatever ends this process (an error, Ctrl-C, a harness timeout), the daemons it started
// end with it: the exit handler runs synchronously, so the kill always goes out.
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

const machine = machineInfo();
console.log(describeMachine(machine));
const hostLocal = findPlugin("host-local");
if (hostLocal === undefined) {
  console.error("host-local is not installed (Debian package containernetworking-plugins): the comparison needs it");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "bench-latency-"));
const kubeconfig = join(dir, "kubeconfig");
const socket = join(dir, "agent.sock");
const apiserver = await start(
  join(ROOT, "bin", "spiderpoolctl"),
  ["apiserver", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig],
  {},
  /^ready /m,
);
const results: Record<string, unknown> = { scenario: "latency", machine, n: N };
try {
  const client = new KubeClient(loadKubeconfig(kubeconfig));
  await client.create(Resources.nodes, { apiVersion: "v1", kind: "Node", metadata: { name: "node1" } });
  const confFile = join(dir, "conf.yml");
  writeFileSync(confFile, `ipamUnixSocketPath: ${socket}\n`);
  const agent = await start(
    join(ROOT, "bin", "spiderpool-agent"),
    ["--config-path", confFile],
    {
      KUBECONFIG: kubeconfig,
      SPIDERPOOL_POD_NAMESPACE: "kube-system",
      SPIDERPOOL_POD_NAME: "agent",
      SPIDERPOOL_NODE_NAME: "node1",
      SPIDERPOOL_LOG_LEVEL: "info",
      SPIDERPOOL_HEALTH_PORT: "0",
    },
    /spiderpool-agent serving/,
  );
  const pool = (name: string, subnet: string, ips: string, gateway: string): KubeObject => ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec: { subnet, ips: [ips], gateway },
  });
  await client.create(POOLS, pool("lat-v4", "192.0.2.0/24", "192.0.2.1-192.0.2.254", "192.0.2.1"));
  await client.create(
    POOLS,
    pool("lat-v6", "2001:db8:1a7::/64", "2001:db8:1a7::1-2001:db8:1a7::ffff", "2001:db8:1a7::1"),
  );

  const hl =
    (dual: boolean) =>
    async (i: number, cmd: "ADD" | "DEL"): Promise<void> => {
      const ranges = dual
        ? [
            [{ subnet: "192.0.2.0/24", gateway: "192.0.2.1" }],
            [{ subnet: "2001:db8:1a7::/64", gateway: "2001:db8:1a7::1" }],
          ]
        : [[{ subnet: "192.0.2.0/24", gateway: "192.0.2.1" }]];
      const r = await runPlugin({
        plugin: hostLocal,
        command: cmd,
        netconf: {
          cniVersion: "1.0.0",
          name: "bench",
          type: "macvlan",
          ipam: { type: "host-local", ranges, dataDir: join(dir, "host-local") },
        },
        containerID: `c-hl-${i}`,
        netns: `/var/run/netns/hl-${i}`,
        ifName: "eth0",
        args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=hl-${i}`,
        cniPath: dirname(hostLocal),
      });
      if (r.code !== 0) throw new Error(`host-local ${cmd} failed: ${r.stdout}`);
    };

  // Pod bookkeeping (create, status, delete) is outside the timed plugin call for us; to keep
  // the harness identical, only the plugin process is timed, for both.
  const timed = async (
    label: string,
    fn: (i: number, cmd: "ADD" | "DEL") => Promise<void>,
    prepare?: (i: number, cmd: "ADD" | "DEL") => Promise<() => Promise<void>>,
  ): Promise<{ add: Stats; del: Stats }> => {
    const add: number[] = [];
    const del: number[] = [];
    for (let i = 0; i < N; i++) {
      for (const cmd of ["ADD", "DEL"] as const) {
        const go = prepare !== undefined ? await prepare(i, cmd) : () => fn(i, cmd);
        const t = performance.now();
        await go();
        (cmd === "ADD" ? add : del).push(performance.now() - t);
      }
      if ((i + 1) % 50 === 0) process.stderr.write(`${label}: ${i + 1}/${N}\n`);
    }
    return { add: stats(add), del: stats(del) };
  };

  const prepareOurs =
    (annotation: string, tag: string) =>
    async (i: number, cmd: "ADD" | "DEL"): Promise<() => Promise<void>> => {
      const name = `lat-${tag}-${i}`;
      let uid: string;
      if (cmd === "ADD") {
        const p: KubeObject = await client.create(Resources.pods, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace: "default", annotations: { "ipam.spidernet.io/ippool": annotation } },
          spec: { nodeName: "node1", containers: [] },
        });
        await client.updateStatus(Resources.pods, { ...p, status: { phase: "Running" } });
        uid = p.metadata?.uid ?? "";
      } else {
        const p = await client.get(Resources.pods, name, "default");
        uid = p.metadata?.uid ?? "";
        await client.delete(Resources.pods, name, { namespace: "default" });
      }
      return async () => {
        const r = await runPlugin({
          plugin: SHIM,
          command: cmd,
          netconf: {
            cniVersion: "1.0.0",
            name: "bench",
            type: "macvlan",
            ipam: { type: "spiderpool", ipam_unix_socket_path: socket },
          },
          containerID: `c-${name}`,
          netns: `/var/run/netns/${name}`,
          ifName: "eth0",
          args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_UID=${uid}`,
          cniPath: dirname(SHIM),
        });
        if (r.code !== 0) throw new Error(`spiderpool ${cmd} failed: ${r.stdout}`);
      };
    };

  const v4 = await timed("spiderpool IPv4", () => Promise.resolve(), prepareOurs('{"ipv4":["lat-v4"]}', "v4"));
  const hl4 = await timed("host-local IPv4", hl(false));
  const dual = await timed(
    "spiderpool dual",
    () => Promise.resolve(),
    prepareOurs('{"ipv4":["lat-v4"],"ipv6":["lat-v6"]}', "dual"),
  );
  const hl6 = await timed("host-local dual", hl(true));
  results["ipv4"] = {
    add: v4.add,
    del: v4.del,
    hostLocal: { add: hl4.add, del: hl4.del },
    ratioMedianAdd: v4.add.medianMs / hl4.add.medianMs,
  };
  results["dualStack"] = {
    add: dual.add,
    del: dual.del,
    hostLocal: { add: hl6.add, del: hl6.del },
    ratioMedianAdd: dual.add.medianMs / hl6.add.medianMs,
  };
  const f = (x: number): string => x.toFixed(2).padStart(8);
  const row = (name: string, s: Stats): string =>
    `${name.padEnd(28)}${f(s.minMs)}${f(s.medianMs)}${f(s.p95Ms)}${f(s.p99Ms)}`;
  console.log("");
  console.log(
    `${"".padEnd(28)}${"min".padStart(8)}${"median".padStart(8)}${"p95".padStart(8)}${"p99".padStart(8)}  (ms, N=${N})`,
  );
  console.log(row("spiderpool ADD, IPv4", v4.add));
  console.log(row("host-local ADD, IPv4", hl4.add));
  console.log(row("spiderpool DEL, IPv4", v4.del));
  console.log(row("host-local DEL, IPv4", hl4.del));
  console.log(row("spiderpool ADD, dual stack", dual.add));
  console.log(row("host-local ADD, dual stack", hl6.add));
  console.log(row("spiderpool DEL, dual stack", dual.del));
  console.log(row("host-local DEL, dual stack", hl6.del));
  console.log("");
  console.log(
    `median ADD ratio (spiderpool / host-local): IPv4 ${(v4.add.medianMs / hl4.add.medianMs).toFixed(2)}, dual stack ${(dual.add.medianMs / hl6.add.medianMs).toFixed(2)} (target <= 2)`,
  );
  const check = await spiderpoolctlCheck(kubeconfig);
  results["check"] = check.pass ? "pass" : "fail";
  console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
  if (!check.pass) process.exitCode = 1;
  await agent.stop();
  await client.close();
} finally {
  await apiserver.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
