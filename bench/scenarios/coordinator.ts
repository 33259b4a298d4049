// coordinator: sequential ADD then DEL of the coordinator alone on a macvlan pod (the chain's
// macvlan + spiderpool step runs first, untimed for this figure), against Debian's ptp +
// host-local — which also makes a veth pair, addresses and routes — under the same harness in
// the same run; and the whole chain (macvlan + spiderpool + coordinator) against macvlan +
// host-local + ptp. Everything happens in namespaces the benchmark creates: a "node" (the
// agent's node, SPIDERPOOL_TS_NODE_NETNS, and where the runner starts the plugins) and one
// namespace per pod. Only plugin processes are timed.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { SpiderCoordinatorKind } from "../../src/api/coordinator.ts";
import { findPlugin, NetLab } from "../../src/cli/netlab.ts";
import { Resources, type KubeObject } from "../../src/kube/index.ts";
import { resourceTypeOf } from "../../src/kube/resources.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { spiderpoolctlCheck } from "../lib/check.ts";
import { BenchCluster, SHIM } from "../lib/cluster.ts";
import { RssSampler } from "../lib/daemons.ts";
import { CniRunner, type RunResult } from "../lib/runner.ts";
import { round, stats, statsHeader, statsRow } from "../lib/stats.ts";

const exec = promisify(execFile);
const COORDINATOR = join(dirname(SHIM), "coordinator");

export const USAGE = `npm run bench -- coordinator [options]   (root; Debian's macvlan, ptp, host-local; the host addon)
  --n N                  pods, one chain ADD and DEL each, per stack (default 200)
  --json FILE            write the figures as JSON`;

export async function coordinator(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: { n: { type: "string", default: "200" }, json: { type: "string" } },
    strict: true,
  });
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 1 || n > 240) throw new Error("--n must be an integer from 1 to 240");
  const [macvlan, ptp, hostLocal] = ["macvlan", "ptp", "host-local"].map(findPlugin);
  if (macvlan === undefined || ptp === undefined || hostLocal === undefined)
    throw new Error("macvlan, ptp and host-local are needed (Debian package containernetworking-plugins)");

  const lab = new NetLab(`spt-co-b${randomBytes(2).toString("hex")}`);
  const node = `${lab.prefix}-n`;
  await lab.addNode(node);
  await exec("ip", ["-n", node, "addr", "add", "192.0.2.2/24", "dev", "eth-m"]);
  const hlDir = mkdtempSync(join(tmpdir(), "bench-coordinator-hl-"));
  let cluster: BenchCluster | undefined;
  // Pods' namespaces come and go per iteration; whatever is live when something fails goes in `finally`.
  const live = new Set<string>();
  const addPodNs = async (name: string): Promise<void> => {
    await exec("ip", ["netns", "add", name]);
    live.add(name);
    await exec("ip", ["-n", name, "link", "set", "lo", "up"]);
  };
  const delPodNs = async (name: string): Promise<void> => {
    await exec("ip", ["netns", "del", name]);
    live.delete(name);
  };
  const runner = CniRunner.start(lab.nsPath(node));
  if (runner === undefined) throw new Error("the cni-runner cannot be built (gcc missing)");
  try {
    cluster = await BenchCluster.start({
      nodes: 1,
      controller: false,
      agentEnv: { SPIDERPOOL_TS_NODE_NETNS: lab.nsPath(node) },
    });
    const c = cluster.client;
    const socket = cluster.agents[0]?.socket ?? "";
    const SCC = resourceTypeOf(SpiderCoordinatorKind);
    const scc: KubeObject = await c.create(SCC, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { mode: "auto", podCIDRType: "none", hijackCIDR: ["198.51.100.128/25"], tunePodRoutes: true },
    });
    await c.updateStatus(SCC, {
      ...scc,
      status: { phase: "Synced", overlayPodCIDR: [], serviceCIDR: ["198.51.100.0/25"] },
    });
    await c.create(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name: "bench-co" },
      spec: { subnet: "192.0.2.0/24", ips: ["192.0.2.10-192.0.2.250"], gateway: "192.0.2.1" },
    });

    const call = (plugin: string, cmd: "ADD" | "DEL", pod: string, uid: string, ifName: string, conf: unknown) =>
      runner.run(
        plugin,
        {
          PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: `${pod}-${"0".repeat(12)}`,
          CNI_NETNS: lab.nsPath(pod),
          CNI_IFNAME: ifName,
          CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod};K8S_POD_UID=${uid}`,
          CNI_PATH: `${dirname(SHIM)}:${dirname(macvlan)}`,
        },
        JSON.stringify({ cniVersion: "1.0.0", name: "bench", ...(conf as object) }),
      );
    let failures = 0;
    const ok = (r: RunResult, what: string): RunResult => {
      if (r.code !== 0) {
        failures++;
        process.stderr.write(`  ${what} failed: ${(r.stdout || r.stderr).trim().slice(0, 300)}\n`);
      }
      return r;
    };
    const macvlanConf = (ipam: unknown) => ({ type: "macvlan", master: "eth-m", mode: "bridge", ipam });
    const spiderIpam = { type: "spiderpool", ipam_unix_socket_path: socket };
    const coordConf = (prevResult: unknown) => ({
      type: "coordinator",
      ipam: { ipam_unix_socket_path: socket },
      prevResult,
    });

    // Ours: macvlan + spiderpool (chain step 1), then the coordinator; DEL in reverse.
    const rss = new RssSampler(cluster.agents.map((a) => a.daemon));
    const co = { add: [] as number[], del: [] as number[], chain: [] as number[] };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const pod = `${lab.prefix}-p${i}`;
      await addPodNs(pod);
      const p: KubeObject = await c.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: pod,
          namespace: "default",
          annotations: { "ipam.spidernet.io/ippool": '{"ipv4":["bench-co"]}' },
        },
        spec: { nodeName: "node1", containers: [] },
      });
      await c.updateStatus(Resources.pods, { ...p, status: { phase: "Running" } });
      const uid = p.metadata?.uid ?? "";
      const m = ok(await call(macvlan, "ADD", pod, uid, "eth0", macvlanConf(spiderIpam)), "macvlan+spiderpool ADD");
      const prev = m.code === 0 ? (JSON.parse(m.stdout) as unknown) : {};
      const a = ok(await call(COORDINATOR, "ADD", pod, uid, "eth0", coordConf(prev)), "coordinator ADD");
      co.add.push(a.ms);
      co.chain.push(m.ms + a.ms);
      const d = ok(await call(COORDINATOR, "DEL", pod, uid, "eth0", coordConf(prev)), "coordinator DEL");
      co.del.push(d.ms);
      await c.delete(Resources.pods, pod, { namespace: "default" });
      ok(await call(macvlan, "DEL", pod, uid, "eth0", macvlanConf(spiderIpam)), "macvlan+spiderpool DEL");
      await delPodNs(pod);
      if ((i + 1) % 50 === 0) process.stderr.write(`  coordinator: ${i + 1}/${n}\n`);
    }
    const coWall = round((performance.now() - t0) / 1000);
    const peaks = rss.stop();

    // Theirs: macvlan + host-local, then ptp + host-local on a second interface; DEL in reverse.
    const hl = (subnet: string) => ({ type: "host-local", ranges: [[{ subnet }]], dataDir: hlDir });
    const base = { add: [] as number[], del: [] as number[], chain: [] as number[] };
    const t1 = performance.now();
    for (let i = 0; i < n; i++) {
      const pod = `${lab.prefix}-q${i}`;
      await addPodNs(pod);
      const m = ok(
        await call(macvlan, "ADD", pod, "", "eth0", macvlanConf(hl("203.0.113.0/24"))),
        "macvlan+host-local ADD",
      );
      const a = ok(
        await call(ptp, "ADD", pod, "", "ptp0", { type: "ptp", ipMasq: false, ipam: hl("198.51.100.0/24") }),
        "ptp ADD",
      );
      base.add.push(a.ms);
      base.chain.push(m.ms + a.ms);
      const d = ok(
        await call(ptp, "DEL", pod, "", "ptp0", { type: "ptp", ipMasq: false, ipam: hl("198.51.100.0/24") }),
        "ptp DEL",
      );
      base.del.push(d.ms);
      ok(await call(macvlan, "DEL", pod, "", "eth0", macvlanConf(hl("203.0.113.0/24"))), "macvlan+host-local DEL");
      await delPodNs(pod);
      if ((i + 1) % 50 === 0) process.stderr.write(`  ptp: ${i + 1}/${n}\n`);
    }
    const baseWall = round((performance.now() - t1) / 1000);

    const coAdd = stats(co.add);
    const coDel = stats(co.del);
    const coChain = stats(co.chain);
    const ptpAdd = stats(base.add);
    const ptpDel = stats(base.del);
    const baseChain = stats(base.chain);
    console.log("");
    console.log(statsHeader(`(ms, N=${n})`, 40));
    console.log(statsRow("coordinator ADD", coAdd, 40));
    console.log(statsRow("ptp + host-local ADD", ptpAdd, 40));
    console.log(statsRow("coordinator DEL", coDel, 40));
    console.log(statsRow("ptp + host-local DEL", ptpDel, 40));
    console.log(statsRow("chain: macvlan+spiderpool+coordinator", coChain, 40));
    console.log(statsRow("chain: macvlan+host-local + ptp", baseChain, 40));
    const ratio = round(coAdd.medianMs / ptpAdd.medianMs);
    const chainRatio = round(coChain.medianMs / baseChain.medianMs);
    const agentRss = Math.max(...peaks.values());
    console.log("");
    console.log(`median ADD ratio (coordinator / ptp + host-local): ${ratio.toFixed(2)} (target <= 0.5)`);
    console.log(`median chain ADD ratio: ${chainRatio.toFixed(2)} (target <= 1.5)`);
    console.log(`agent peak RSS: ${agentRss} MB (target < 100)`);
    const check = await spiderpoolctlCheck(cluster.kubeconfig);
    console.log(`spiderpoolctl check: ${check.pass ? "pass" : "FAIL"}\n${check.report}`);
    return {
      scenario: "coordinator",
      n,
      check: check.pass ? "pass" : "fail",
      failures,
      duplicates: 0,
      wallSeconds: coWall,
      add: coAdd,
      del: coDel,
      ptp: { add: ptpAdd, del: ptpDel, wallSeconds: baseWall },
      chain: { add: coChain, baseline: baseChain },
      ratioMedianAdd: ratio,
      chainRatioMedianAdd: chainRatio,
      agentPeakRssMB: agentRss,
    };
  } finally {
    await runner.stop();
    await cluster?.stop();
    for (const ns of live) await exec("ip", ["netns", "del", ns]).catch(() => undefined);
    rmSync(hlDir, { recursive: true, force: true });
    const left = await lab.cleanup();
    if (left.length > 0) process.stderr.write(`namespaces left behind: ${left.join(" ")}\n`);
  }
}
