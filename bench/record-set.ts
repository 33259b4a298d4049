// Micro-benchmark of src/ipam/record-set.ts as a storm uses it: ten agents' record sets
// following a 1 000-record IPv6 pool that grows by 4 records a version, three of them
// syncing to each version and rendering a write on it. Prints the time per sync-and-render
// and the machine's load; it asserts nothing.
// Usage: npm run bench:records [-- --runs N] [--records N]
import { parseArgs } from "node:util";
import { Draft, RecordSet } from "../src/ipam/record-set.ts";
import { recordsWire } from "../src/poolstore/record-wire.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "7" }, records: { type: "string", default: "1000" } },
});
const RUNS = Math.max(1, Number(values.runs));
const N = Math.max(8, Number(values.records));
const STEP = 4;

const uid = (i: number): string =>
  `${(0x10000000 + i).toString(16)}-aaaa-4bbb-8ccc-${(0x100000000000 + i).toString(16)}`;
const records: Array<[string, { pod: string; podUid: string }]> = [];
for (let i = 0; i < N; i++)
  records.push([`2001:db8::${(i + 1).toString(16)}`, { pod: `default/storm-${i}-abcde`, podUid: uid(i) }]);
// Each version as the API server stores it: the JSON text of status.allocatedIPs.
const versions: string[] = [];
for (let n = STEP; n <= N; n += STEP) versions.push(JSON.stringify(Object.fromEntries(records.slice(0, n))));

/** Milliseconds per sync-and-render. */
function run(): number {
  const agents = Array.from({ length: 10 }, () => new RecordSet(6));
  let ops = 0;
  const t0 = performance.now();
  for (let v = 0; v < versions.length; v++) {
    for (let a = 0; a < 3; a++) {
      const s = agents[(v * 3 + a) % agents.length] as RecordSet;
      s.sync(versions[v]);
      const d = new Draft(s);
      d.set(`2001:db8::ffff:${a}`, { pod: "default/next", podUid: "next" });
      recordsWire(s, d);
      ops++;
    }
  }
  return (performance.now() - t0) / ops;
}

console.log(describeMachine(machineInfo()));
run(); // warm-up
const runs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  runs.push(run());
  process.stderr.write(`run ${i + 1}/${RUNS}\n`);
}
runs.sort((a, b) => a - b);
console.log(
  `record sets following a ${N}-record pool, ${STEP} records a version: ` +
    `${(runs[Math.floor(runs.length / 2)] as number).toFixed(3)} ms per sync and render ` +
    `(runs ${runs.map((r) => r.toFixed(3)).join(", ")})`,
);
