// Micro-benchmark of src/ip: parsing 100 000 IPv6 strings, and "lowest free" in a /64 with
// 50 000 used addresses. Prints figures and the machine's load; it asserts nothing.
// Usage: npm run bench:ip [-- --runs N] [--json FILE]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatIP, IPRangeSet, parseCIDR, parseIP } from "../src/ip/index.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "7" }, json: { type: "string" } },
});
const RUNS = Math.max(1, Number(values.runs));

// A deterministic corpus of mixed spellings: compressed, full, upper case, IPv4-mapped.
function corpus(n: number): string[] {
  let seed = 0x2545f491;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const g = (): string => Math.floor(rand() * 65536).toString(16);
    switch (i % 4) {
      case 0:
        out.push(`2001:db8::${g()}:${g()}`);
        break;
      case 1:
        out.push([g(), g(), g(), g(), g(), g(), g(), g()].join(":"));
        break;
      case 2:
        out.push(`2001:DB8:0:0:${g()}:0:0:${g()}`.toUpperCase());
        break;
      default:
        out.push(`::ffff:198.51.${i & 255}.${(i >> 8) & 255}`);
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

interface Figure {
  name: string;
  firstMs: number;
  medianMs: number;
  targetMs: number;
}

const figures: Figure[] = [];
function measure(name: string, targetMs: number, fn: () => void): void {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(time(fn));
    if (process.stderr.isTTY) process.stderr.write(`\r${name}: run ${i + 1}/${RUNS}`);
  }
  process.stderr.write(process.stderr.isTTY ? "\n" : `${name}: ${RUNS} runs done\n`);
  figures.push({ name, firstMs: runs[0] ?? Number.NaN, medianMs: median(runs), targetMs });
}

const machine = machineInfo();
console.log(describeMachine(machine));

const strings = corpus(100_000);
let sink = 0n;
measure("parse 100 000 IPv6 strings", 100, () => {
  for (const s of strings) sink ^= parseIP(s).value;
});

const values6 = strings.map((s) => parseIP(s).value);
measure("format 100 000 IPv6 values (RFC 5952)", 100, () => {
  let n = 0;
  for (const v of values6) n += formatIP(6, v).length;
  sink ^= BigInt(n);
});

const pool = IPRangeSet.fromCIDR(parseCIDR("2001:db8::/64"));
const base = pool.first ?? 0n;
const used = new Set<bigint>();
for (let i = 0n; i < 50_000n; i++) used.add(base + i);
measure("lowest free in 2001:db8::/64 with 50 000 used", 50, () => {
  sink ^= pool.lowestFree(used) ?? 0n;
});

const v4pool = IPRangeSet.fromCIDR(parseCIDR("198.51.100.0/24"));
const used4 = new Set<bigint>();
for (const v of v4pool.values(250)) used4.add(v);
measure("lowest free in 198.51.100.0/24 with 250 used", 50, () => {
  sink ^= v4pool.lowestFree(used4) ?? 0n;
});

console.log("");
// The target is judged on the median of warm runs; the first run also pays for JIT warm-up
// and is shown so a cold-start regression is visible too.
console.log(
  "figure".padEnd(50),
  "median ms".padStart(10),
  "target ms".padStart(10),
  "",
  "cold 1st run ms".padStart(16),
);
for (const f of figures) {
  const ok = f.medianMs < f.targetMs ? "ok    " : "MISSED";
  console.log(
    f.name.padEnd(50),
    f.medianMs.toFixed(1).padStart(10),
    String(f.targetMs).padStart(10),
    ok,
    f.firstMs.toFixed(1).padStart(16),
  );
}
if (sink === -1n) console.log("unreachable");
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify({ scenario: "ip", machine, runs: RUNS, figures }, null, 2)}\n`);
}
