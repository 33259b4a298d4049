/**
 * `spiderpoolctl top pools`: each pool's addresses as a bar (allocated, reserved, excluded,
 * free) with the counts the controller exports (src/ipam/capacity.ts), and its forecast
 * when the controller's metrics URL is given.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { SpiderIPPool } from "../api/ippool.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../api/reservedip.ts";
import type { SpiderSubnet } from "../api/subnet.ts";
import { poolCapacity, subnetCapacity, type Capacity } from "../ipam/capacity.ts";
import { reservedAddresses } from "../ipam/pool-state.ts";
import { KubeClient } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { resourceTypeOf } from "../kube/resources.ts";
import { SUBNETS } from "../poolstore/auto-pool.ts";
import { POOLS } from "../poolstore/pool-writer.ts";
import { gridsOf, renderGridHtml } from "./pool-grid.ts";
import { UsageError } from "./usage.ts";

export const TOP_USAGE = `usage: spiderpoolctl top pools [options]

Each SpiderIPPool (and SpiderSubnet) as a bar: # allocated, r reserved, x excluded, . free,
with the counts, sorted fullest first.

  --kubeconfig FILE    the cluster (default: $KUBECONFIG, else in-cluster)
  --metrics URL        spiderpool-controller's metrics (http://HOST:5721/metrics): adds the
                       net allocation rate and the forecast hours to exhaustion
  --width N            bar width in characters (default 30)
  --html FILE          also write a page drawing each pool's addresses as a grid (state by
                       colour, the holder on hover)
  -o, --output text|json
`;

export interface TopRow {
  kind: "pool" | "subnet";
  name: string;
  subnet: string;
  capacity: Capacity;
  ratePerHour?: number;
  hoursToExhaustion?: number;
}

/** The bar: one character per total/width addresses, each state at least one when present. */
export function bar(c: Capacity, width: number): string {
  if (c.total === 0) return " ".repeat(width);
  const parts: Array<[string, number]> = [
    ["#", c.allocated],
    ["r", c.reserved],
    ["x", c.excluded],
  ];
  let used = 0;
  let out = "";
  for (const [ch, n] of parts) {
    if (n <= 0) continue;
    const w = Math.min(width - used, Math.max(1, Math.round((n / c.total) * width)));
    out += ch.repeat(w);
    used += w;
  }
  return out + ".".repeat(Math.max(0, width - used));
}

const pct = (c: Capacity): number => {
  const usable = c.total - c.excluded - c.reserved;
  return usable <= 0 ? 100 : ((usable - c.free) / usable) * 100;
};

function forecastText(r: TopRow): string {
  if (r.hoursToExhaustion === undefined) return "";
  if (!Number.isFinite(r.hoursToExhaustion)) return "not falling";
  const h = r.hoursToExhaustion;
  return h < 48 ? `out in ${h.toFixed(1)} h` : `out in ${(h / 24).toFixed(1)} d`;
}

export function renderTop(rows: readonly TopRow[], width: number): string {
  const sorted = [...rows].sort((a, b) =>
    a.kind === b.kind ? pct(b.capacity) - pct(a.capacity) : a.kind === "pool" ? -1 : 1,
  );
  const nameW = Math.max(4, ...sorted.map((r) => r.name.length));
  const subW = Math.max(6, ...sorted.map((r) => r.subnet.length));
  const lines: string[] = [];
  let kind: TopRow["kind"] | undefined;
  for (const r of sorted) {
    if (r.kind !== kind) {
      kind = r.kind;
      if (lines.length > 0) lines.push("");
      lines.push(
        `${(kind === "pool" ? "POOL" : "SUBNET").padEnd(nameW)}  ${"CIDR".padEnd(subW)}  ${"USAGE".padEnd(width + 2)}  USED%  ALLOC   FREE  RSVD  EXCL  FORECAST`,
      );
    }
    const c = r.capacity;
    lines.push(
      `${r.name.padEnd(nameW)}  ${r.subnet.padEnd(subW)}  [${bar(c, width)}]  ${pct(c).toFixed(0).padStart(4)}%  ${String(c.allocated).padStart(5)}  ${String(c.free).padStart(5)}  ${String(c.reserved).padStart(4)}  ${String(c.excluded).padStart(4)}  ${forecastText(r)}`.trimEnd(),
    );
  }
  return lines.join("\n") + "\n";
}

/** `name{pool="x",...} value` lines of a Prometheus exposition, by pool. */
export function perPool(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const pool = /(?:^|,)pool="([^"]*)"/.exec(m[1] ?? "")?.[1];
    if (pool === undefined) continue;
    const v = m[2] === "+Inf" ? Infinity : Number(m[2]);
    out.set(pool, Math.min(out.get(pool) ?? Infinity, v));
  }
  return out;
}

export async function runTop(argv: string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: "string" },
      metrics: { type: "string" },
      width: { type: "string", default: "30" },
      output: { type: "string", short: "o", default: "text" },
      html: { type: "string" },
    },
    strict: true,
  });
  if (positionals[0] !== "pools" || positionals.length !== 1) throw new UsageError("top takes one subject: pools");
  const width = Number(values.width);
  if (!Number.isInteger(width) || width < 5 || width > 200) throw new UsageError("--width must be 5..200");
  if (values.output !== "text" && values.output !== "json") throw new UsageError("-o must be text or json");
  const path = values.kubeconfig ?? process.env["KUBECONFIG"];
  const client = new KubeClient(path !== undefined && path !== "" ? loadKubeconfig(path) : inClusterConfig());
  try {
    const [pools, subnets, reservedList] = await Promise.all([
      client.listAll<SpiderIPPool>(POOLS, { limit: 500 }),
      client.listAll<SpiderSubnet>(SUBNETS, { limit: 500 }),
      client.listAll<SpiderReservedIP>(resourceTypeOf(SpiderReservedIPKind), { limit: 500 }),
    ]);
    const reserved = { 4: reservedAddresses(4, reservedList.items), 6: reservedAddresses(6, reservedList.items) };
    const fam = (cidr: string): 4 | 6 => (cidr.includes(":") ? 6 : 4);
    let hours = new Map<string, number>();
    let rate = new Map<string, number>();
    if (values.metrics !== undefined) {
      const text = await (await fetch(values.metrics)).text();
      hours = perPool(text, "spiderpool_ts_ippool_exhaustion_forecast_hours");
      rate = perPool(text, "spiderpool_ts_ippool_net_allocation_rate_per_hour");
    }
    const rows: TopRow[] = [];
    for (const p of pools.items) {
      const name = p.metadata.name ?? "";
      const row: TopRow = {
        kind: "pool",
        name,
        subnet: p.spec.subnet,
        capacity: poolCapacity(p, reserved[fam(p.spec.subnet)]),
      };
      if (hours.has(name)) row.hoursToExhaustion = hours.get(name) as number;
      if (rate.has(name)) row.ratePerHour = rate.get(name) as number;
      rows.push(row);
    }
    for (const s of subnets.items) {
      rows.push({
        kind: "subnet",
        name: s.metadata.name ?? "",
        subnet: s.spec.subnet,
        capacity: subnetCapacity(s, pools.items, reserved[fam(s.spec.subnet)]),
      });
    }
    if (values.html !== undefined)
      writeFileSync(values.html, renderGridHtml(gridsOf(pools.items, reserved), new Date().toISOString()));
    out.write(
      values.output === "json"
        ? JSON.stringify(rows, (_k, v: unknown) => (v === Infinity ? "+Inf" : v), 2) + "\n"
        : renderTop(rows, width),
    );
    return 0;
  } finally {
    await client.close();
  }
}
