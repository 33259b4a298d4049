/**
 * `spiderpoolctl top pools --html FILE`: each pool's address space as a grid, one cell per
 * address coloured by state (allocated, reserved, excluded, free), the holder on hover. The
 * page draws the grid itself from the data it embeds, and writes the counts it drew into
 * each pool's `data-drawn`, so a browser test compares what was drawn with the API.
 */
import type { SpiderIPPool } from "../api/ippool.ts";
import { formatIP, IPRangeSet, parseCIDR } from "../ip/index.ts";
import { parseAllocatedIPs } from "../ipam/pool-state.ts";

/** Cells drawn per pool at most; a bigger pool shows its first addresses and says so. */
export const MAX_CELLS = 4096;

export type CellState = "allocated" | "reserved" | "excluded" | "free";

export interface GridPool {
  name: string;
  subnet: string;
  /** Addresses `ips` lists. */
  total: number;
  /** One per drawn address: [address, state, holder]. */
  cells: Array<[string, CellState, string]>;
}

/** The first MAX_CELLS addresses of the pool with their states; excluded wins, then reserved, then a record. */
export function gridOf(pool: SpiderIPPool, reserved: IPRangeSet): GridPool {
  const family = parseCIDR(pool.spec.subnet).family;
  const listed = IPRangeSet.parse(family, pool.spec.ips ?? []);
  const excluded = IPRangeSet.parse(family, pool.spec.excludeIPs ?? []);
  const records = parseAllocatedIPs(pool.status?.allocatedIPs);
  const cells: GridPool["cells"] = [];
  for (const r of listed.ranges) {
    for (let v = r.start; v <= r.end && cells.length < MAX_CELLS; v++) {
      const ip = formatIP(family, v);
      const rec = records.get(ip);
      const state: CellState = excluded.has(v)
        ? "excluded"
        : reserved.family === family && reserved.has(v)
          ? "reserved"
          : rec !== undefined
            ? "allocated"
            : "free";
      cells.push([ip, state, rec?.pod ?? ""]);
    }
    if (cells.length >= MAX_CELLS) break;
  }
  return { name: pool.metadata.name ?? "", subnet: pool.spec.subnet, total: Number(listed.size), cells };
}

/** Every pool's grid, each against the reserved addresses of its family. */
export function gridsOf(pools: readonly SpiderIPPool[], reserved: Record<4 | 6, IPRangeSet>): GridPool[] {
  return pools.map((p) => gridOf(p, reserved[parseCIDR(p.spec.subnet).family]));
}

const escapeScript = (json: string): string => json.replace(/</g, "\\u003c");

export interface GridPageOptions {
  /** The browser reloads the page this often (the sandbox's live page); unset: a still page. */
  refreshSeconds?: number;
  /** Who drew it, for the page's note. */
  by?: string;
}

export function renderGridHtml(pools: readonly GridPool[], generatedAt: string, o: GridPageOptions = {}): string {
  const refresh = o.refreshSeconds === undefined ? "" : `<meta http-equiv="refresh" content="${o.refreshSeconds}">\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${refresh}<title>Spiderpool: pools</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  h2 { font-size: 15px; margin: 1.2em 0 .3em; }
  .grid { display: grid; grid-template-columns: repeat(32, 14px); gap: 2px; }
  .c { width: 14px; height: 14px; border-radius: 2px; }
  .allocated { background: #d9534f; } .reserved { background: #f0ad4e; }
  .excluded { background: #777; } .free { background: #dff0d8; border: 1px solid #b2d8a5; box-sizing: border-box; }
  .legend span { display: inline-block; margin-right: 1em; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: .3em; vertical-align: -1px; }
  .note { color: #666; }
</style>
</head>
<body>
<h1>SpiderIPPools</h1>
<p class="note">generated ${generatedAt} by ${o.by ?? "spiderpoolctl top pools --html"}; hover a cell for its address and holder</p>
<p class="legend"><span><i class="allocated"></i>allocated</span><span><i class="reserved"></i>reserved</span><span><i class="excluded"></i>excluded</span><span><i class="free"></i>free</span></p>
<div id="pools"></div>
<script id="data" type="application/json">${escapeScript(JSON.stringify(pools))}</script>
<script>
  const pools = JSON.parse(document.getElementById("data").textContent);
  const root = document.getElementById("pools");
  for (const p of pools) {
    const section = document.createElement("section");
    section.className = "pool";
    section.dataset.pool = p.name;
    const h = document.createElement("h2");
    section.append(h);
    const grid = document.createElement("div");
    grid.className = "grid";
    const drawn = { allocated: 0, reserved: 0, excluded: 0, free: 0 };
    for (const [ip, state, pod] of p.cells) {
      const c = document.createElement("div");
      c.className = "c " + state;
      c.title = pod === "" ? ip + " (" + state + ")" : ip + " — " + pod;
      grid.append(c);
      drawn[state]++;
    }
    section.dataset.drawn = JSON.stringify(drawn);
    const shown = p.cells.length < p.total ? ", the first " + p.cells.length + " of " + p.total + " addresses shown" : "";
    h.textContent = p.name + "  " + p.subnet + "  (" + drawn.allocated + " allocated, " + drawn.free + " free" + shown + ")";
    section.append(grid);
    root.append(section);
  }
</script>
</body>
</html>
`;
}
