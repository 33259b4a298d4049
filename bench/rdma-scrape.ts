// The RDMA exporter's scrape cost on this machine (natively, unlike the kernel lab's figure,
// which is under emulation): 10 network namespaces made here, read as in exclusive mode, 20
// scrapes. This kernel has no RDMA (no ib_core: the RDMA netlink socket is refused), so what
// is measured is entering each namespace and opening a socket there, which is what a scrape
// pays for a pod without RDMA. As root: node bench/rdma-scrape.ts
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { NetlinkRdmaSource } from "../src/rdma/netlink-source.ts";
import { RdmaExporter } from "../src/rdma/exporter.ts";

const names = Array.from({ length: 10 }, () => `spt-kl-b${randomBytes(3).toString("hex")}`);
const paths = names.map((n) => `/var/run/netns/${n}`);

class TenNamespaces extends NetlinkRdmaSource {
  override async netnsMode(): Promise<"exclusive"> {
    return "exclusive";
  }
  // Only ours: other namespaces on a shared machine are not this benchmark's.
  override async namespaces(): Promise<string[]> {
    return paths;
  }
}

try {
  for (const n of names) execFileSync("ip", ["netns", "add", n]);
  const exporter = new RdmaExporter(
    new TenNamespaces(),
    { nodeName: "bench", podOf: () => undefined },
    pino({ level: "silent" }),
  );
  await exporter.collect(); // warm-up
  const costs: number[] = [];
  for (let i = 0; i < 20; i++) costs.push((await exporter.collect()).durationMs);
  costs.sort((a, b) => a - b);
  const load = execFileSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).split(" ").slice(0, 3).join(" ");
  console.log(
    `rdma scrape, 10 namespaces + the host's, 20 runs: median ${costs[10]?.toFixed(1)} ms, min ${costs[0]?.toFixed(1)} ms, p90 ${costs[18]?.toFixed(1)} ms (load ${load})`,
  );
} finally {
  for (const n of names) {
    try {
      execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
    } catch {
      // not made
    }
  }
}
