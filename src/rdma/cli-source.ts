/**
 * RdmaSource on the kernel through iproute2's `rdma` and `ip`: one shell per namespace (entered
 * with nsenter) prints everything the exporter needs, so a scrape costs one process per
 * namespace, and a namespace without RDMA devices stops after the first command.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { NamespaceReading, RdmaSource } from "./model.ts";

const run = promisify(execFile);
const NETNS_DIRS = ["/var/run/netns", "/var/run/docker/netns"];
const SEP = "--spiderpool-rdma--";

// Each section is one JSON document; the route lookups may fail (no route): empty then.
const SCRIPT = `d=$(rdma -j dev show 2>/dev/null) || d='[]'; echo "$d"; [ "$d" = "[]" ] && exit 0
echo ${SEP}; rdma -j link show
echo ${SEP}; rdma -j statistic show
echo ${SEP}; ip -j link show
echo ${SEP}; ip -j route get 1.0.0.0 2>/dev/null || ip -j -6 route get 2001:4860:4860::8888 2>/dev/null || echo '[]'`;

function parse<T>(text: string | undefined, fallback: T): T {
  if (text === undefined || text.trim() === "") return fallback;
  return JSON.parse(text) as T;
}

export class CliRdmaSource implements RdmaSource {
  async netnsMode(): Promise<"shared" | "exclusive"> {
    const { stdout } = await run("rdma", ["system", "show"]);
    return /netns\s+exclusive/.test(stdout) ? "exclusive" : "shared";
  }

  async namespaces(): Promise<string[]> {
    const out: string[] = [];
    for (const dir of NETNS_DIRS) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (n !== "default") out.push(`${dir}/${n}`);
    }
    return out;
  }

  async read(path: string | undefined): Promise<NamespaceReading> {
    const argv = path === undefined ? ["sh", "-c", SCRIPT] : ["nsenter", `--net=${path}`, "sh", "-c", SCRIPT];
    const { stdout } = await run(argv[0] as string, argv.slice(1), { maxBuffer: 16 << 20 });
    const [devices, ports, statistics, netdevs, route] = stdout.split(SEP);
    const reading: NamespaceReading = {
      devices: parse(devices, []),
      ports: parse(ports, []),
      statistics: parse(statistics, []),
      netdevs: parse(netdevs, []),
    };
    if (path !== undefined) reading.path = path;
    const src = parse<Array<{ prefsrc?: string }>>(route, [])[0]?.prefsrc;
    if (src !== undefined) reading.podIP = src;
    if (path === undefined) {
      // Root devices' traffic class (RoCE QoS); absent for most devices, soft-RoCE included.
      const tc: Record<string, number> = {};
      for (const d of reading.devices) {
        try {
          const m = /Global tclass=(\d+)/.exec(
            await readFile(`/sys/class/infiniband/${d.ifname}/tc/1/traffic_class`, "utf8"),
          );
          if (m !== null) tc[d.ifname] = Number(m[1]);
        } catch {
          // no tc for this device
        }
      }
      reading.trafficClass = tc;
    }
    return reading;
  }
}
