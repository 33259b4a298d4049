// One CNI call as a container runtime makes it: the plugin binary started with the CNI_*
// environment and the netconf on stdin, timed around the process only.
import { dirname } from "node:path";
import { runPlugin } from "../../src/cli/netlab.ts";

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
  const t = performance.now();
  const r = await runPlugin({
    plugin: c.plugin,
    command: c.command,
    netconf: c.netconf,
    containerID: c.containerID,
    netns: `/var/run/netns/${c.containerID}`,
    ifName: "eth0",
    args: args.join(";"),
    cniPath: dirname(c.plugin),
  });
  const ms = performance.now() - t;
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
