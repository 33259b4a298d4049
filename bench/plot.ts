// Plots of a storm run: allocations completed over time, ours and host-local's, one PNG
// per stack. Usage: npm run bench:plot -- STORM.json [--out DIR]   (default docs/img)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Canvas, type RGB } from "./lib/png.ts";

interface Timeline {
  timeline?: { addDoneMs?: number[] };
  wallSeconds?: number;
}

const { values, positionals } = parseArgs({
  options: { out: { type: "string", default: "docs/img" }, prefix: { type: "string", default: "storm" } },
  allowPositionals: true,
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write("usage: npm run bench:plot -- STORM.json [--out DIR] [--prefix NAME]\n");
  process.exit(2);
}
const run = JSON.parse(readFileSync(file, "utf8")) as {
  runs?: Record<string, Timeline & { pods?: number; nodes?: number; apiLatencyMs?: number }>;
  hostLocal?: Record<string, Timeline>;
};
mkdirSync(values.out, { recursive: true });

const W = 900;
const H = 520;
const L = 90;
const R = 30;
const T = 60;
const B = 70;
const OURS: RGB = [31, 119, 180];
const HL: RGB = [214, 39, 40];
const AXIS: RGB = [40, 40, 40];
const GRID: RGB = [225, 225, 225];

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

for (const [stack, ours] of Object.entries(run.runs ?? {})) {
  const series: Array<{ label: string; color: RGB; done: number[] }> = [
    { label: `spiderpool-ts`, color: OURS, done: ours.timeline?.addDoneMs ?? [] },
  ];
  const hl = run.hostLocal?.[stack];
  if (hl !== undefined) series.push({ label: "host-local", color: HL, done: hl.timeline?.addDoneMs ?? [] });
  const maxT = Math.max(1, ...series.map((s) => (s.done.at(-1) ?? 0) / 1000));
  const maxN = Math.max(1, ...series.map((s) => s.done.length));
  const c = new Canvas(W, H);
  const px = (t: number): number => L + (t / maxT) * (W - L - R);
  const py = (n: number): number => H - B - (n / maxN) * (H - T - B);
  const tStep = niceStep(maxT, 8);
  for (let t = 0; t <= maxT + 1e-9; t += tStep) {
    c.line(px(t), T, px(t), H - B, GRID);
    const label = `${Number(t.toFixed(2))}`;
    c.text(px(t) - label.length * 6, H - B + 10, label, AXIS);
  }
  const nStep = niceStep(maxN, 5);
  for (let n = 0; n <= maxN; n += nStep) {
    c.line(L, py(n), W - R, py(n), GRID);
    const label = String(n);
    c.text(L - 10 - label.length * 12, py(n) - 7, label, AXIS);
  }
  c.line(L, T, L, H - B, AXIS, 2);
  c.line(L, H - B, W - R, H - B, AXIS, 2);
  c.text(W / 2 - 60, H - 28, "time (s)", AXIS);
  c.text(
    10,
    20,
    `allocations done, storm ${stack === "ipv4" ? "IPv4" : "dual"}: ${ours.pods ?? "?"} pods, ${ours.nodes ?? "?"} nodes, +${ours.apiLatencyMs ?? 0} ms/write`,
    AXIS,
  );
  for (const s of series) {
    let x0 = px(0);
    let y0 = py(0);
    s.done.forEach((ms, i) => {
      const x1 = px(ms / 1000);
      const y1 = py(i + 1);
      c.line(x0, y0, x1, y0, s.color, 3);
      c.line(x1, y0, x1, y1, s.color, 3);
      x0 = x1;
      y0 = y1;
    });
  }
  series.forEach((s, i) => {
    c.rect(L + 20, T + 12 + i * 26, 24, 12, s.color);
    c.text(L + 52, T + 10 + i * 26, `${s.label} ${((s.done.at(-1) ?? 0) / 1000).toFixed(2)} s`, AXIS);
  });
  const out = join(values.out, `${values.prefix}-${stack}.png`);
  writeFileSync(out, c.png());
  console.log(`wrote ${out}`);
}
