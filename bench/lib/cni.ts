// One CNI call as a container runtime makes it: the plugin binary started with the CNI_*
// environment and the netconf on stdin, timed around the process only (by the C runner, see
// runner.ts, or around child_process where the runner cannot be built).
import { dirname } from "node:path";
import { runPlugin, type PluginResult } from "../../src/cli/netlab.ts";
import { CniRunner } from "./runner.ts";

/** The C runner once started; null where it cannot be built. */
let runner: CniRunner | undefined | null;

function theRunner(): CniRunner | null {
  if (runner === undefined) runner = CniRunner.start() ?? null;
  return runner;
}

/** What starts the plugin processes: the C runner, or child_process where it cannot be built. */
export function cniHarness(): "cni-runner" | "node:child_process" {
  return theRunner() === null ? "node:child_process" : "cni-runner";
}

/** Stops the runner (its pipe would keep the process alive). */
export async function stopCniHarness(): Promise<void> {
  const r = runner;
  runner = undefined;
  await r?.stop();
}

export interface CniOutcome {
  ms: number;
  ok: boolean;
  ips: string[];
  error?: string;
}

export interface CniCall {
  plugin: string;
  command: "ADD" | "DEL";
  netconf: Record<string, unknown>;
  containerID: string;
  namespace: string;
  pod: string;
  podUid?: string;
}

export async function cni(c: CniCall): Promise<CniOutcome> {
  const args = [`IgnoreUnknown=1`, `K8S_POD_NAMESPACE=${c.namespace}`, `K8S_POD_NAME=${c.pod}`];
  if (c.podUid !== undefined) args.push(`K8S_POD_UID=${c.podUid}`);
  const env = {
    PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: c.command,
    CNI_CONTAINERID: c.containerID,
    CNI_NETNS: `/var/run/netns/${c.containerID}`,
    CNI_IFNAME: "eth0",
    CNI_ARGS: args.join(";"),
    CNI_PATH: dirname(c.plugin),
  };
  let r: PluginResult;
  let ms: number;
  const cr = theRunner();
  if (cr !== null) {
    const rr = await cr.run(c.plugin, env, JSON.stringify(c.netconf));
    r = rr;
    ms = rr.ms;
  } else {
    const t = performance.now();
    r = await runPlugin({
      plugin: c.plugin,
      command: c.command,
      netconf: c.netconf,
      containerID: env.CNI_CONTAINERID,
      netns: env.CNI_NETNS,
      ifName: env.CNI_IFNAME,
      args: env.CNI_ARGS,
      cniPath: env.CNI_PATH,
    });
    ms = performance.now() - t;
  }
  if (r.code !== 0) return { ms, ok: false, ips: [], error: (r.stdout || r.stderr).trim().slice(0, 500) };
  let ips: string[] = [];
  if (c.command === "ADD") {
    try {
      ips = ((JSON.parse(r.stdout) as { ips?: Array<{ address: string }> }).ips ?? []).map((i) =>
        i.address.replace(/\/\d+$/, ""),
      );
    } catch {
      return { ms, ok: false, ips: [], error: `unparsable result: ${r.stdout.slice(0, 200)}` };
    }
  }
  return { ms, ok: true, ips };
}

export function spiderpoolNetconf(socket: string): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "bench",
    type: "macvlan",
    ipam: { type: "spiderpool", ipam_unix_socket_path: socket },
  };
}

export function hostLocalNetconf(dataDir: string, ranges: unknown[][]): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "bench", type: "macvlan", ipam: { type: "host-local", ranges, dataDir } };
}
