/**
 * RdmaSource on the kernel through iproute2's `rdma` and `ip`: one shell per scrape walks the
 * namespaces (each command entered with nsenter) and prints everything the exporter needs; a
 * namespace without RDMA devices stops after its first command. One process from Node per
 * scrape, not one per namespace: that was most of the scrape's cost.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { NamespaceReading, RdmaSource } from "./model.ts";

const run = promisify(execFile);
const NETNS_DIRS = ["/var/run/netns", "/var/run/docker/netns"];
const SEP = "--spiderpool-rdma--";

const NS = "--spiderpool-rdma-netns--";
// Each section is one JSON document; the route lookups may fail (no route): empty then. $1 is
// the nsenter prefix (empty for the host); netns paths have no spaces.
const SCRIPT = `one() {
  d=$($1 rdma -j dev show 2>/dev/null) || d='[]'; echo "$d"; [ "$d" = "[]" ] && return 0
  echo ${SEP}; $1 rdma -j link show
  echo ${SEP}; $1 rdma -j statistic show
  echo ${SEP}; $1 ip -j link show
  echo ${SEP}; $1 ip -j route get 1.0.0.0 2>/dev/null || $1 ip -j -6 route get 2001:4860:4860::8888 2>/dev/null || echo '[]'
}
for p in "$@"; do
  echo ${NS}
  if [ "$p" = - ]; then one ""; elif [ -e "$p" ]; then one "nsenter --net=$p"; else echo gone; fi
done`;

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

  async readAll(paths: readonly (string | undefined)[]): Promise<NamespaceReading[]> {
    const { stdout } = await run("sh", ["-c", SCRIPT, "sh", ...paths.map((p) => p ?? "-")], { maxBuffer: 64 << 20 });
    const chunks = stdout.split(`${NS}\n`).slice(1);
    const out: NamespaceReading[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const path = paths[i];
      if (chunk.trim() === "gone") continue;
      const [devices, ports, statistics, netdevs, route] = chunk.split(SEP);
      const reading: NamespaceReading = {
        devices: parse(devices, []),
        ports: parse(ports, []),
        statistics: parse(statistics, []),
        netdevs: parse(netdevs, []),
      };
      if (path !== undefined) reading.path = path;
      const src = parse<Array<{ prefsrc?: string }>>(route, [])[0]?.prefsrc;
      if (src !== undefined) reading.podIP = src;
      if (path === undefined) reading.trafficClass = await trafficClasses(reading);
      out.push(reading);
    }
    return out;
  }
}

/** Root devices' traffic class (RoCE QoS); absent for most devices, soft-RoCE included. */
async function trafficClasses(reading: NamespaceReading): Promise<Record<string, number>> {
  const tc: Record<string, number> = {};
  for (const d of reading.devices) {
    try {
      const text = await readFile(`/sys/class/infiniband/${d.ifname}/tc/1/traffic_class`, "utf8");
      const m = /Global tclass=(\d+)/.exec(text);
      if (m !== null) tc[d.ifname] = Number(m[1]);
    } catch {
      // no tc for this device
    }
  }
  return tc;
}
