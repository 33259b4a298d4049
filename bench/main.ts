// The benchmarks' one entry point: `npm run bench -- <scenario> [options] [--json FILE]`.
// Every scenario prints its figures and the machine's load, ends with `spiderpoolctl
// check`, and writes a stable JSON (scenario, machine, check, failures, duplicates,
// wallSeconds, add, del, ...). The exit code is non-zero when the check fails or any
// call failed or an address was given twice: figures from a broken run are not figures.
import { writeFileSync } from "node:fs";
import { cniHarness, stopCniHarness } from "./lib/cni.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";
import { latency, USAGE as LATENCY } from "./scenarios/latency.ts";
import { storm, USAGE as STORM } from "./scenarios/storm.ts";
import { scale, USAGE as SCALE } from "./scenarios/scale.ts";
import { gc, USAGE as GC } from "./scenarios/gc.ts";
import { coordinator, USAGE as COORDINATOR } from "./scenarios/coordinator.ts";
import { stormEvents, USAGE as STORM_EVENTS } from "./scenarios/storm-events.ts";
import { soak, USAGE as SOAK } from "./scenarios/soak.ts";

const SCENARIOS: Record<string, { run: (argv: string[]) => Promise<Record<string, unknown>>; usage: string }> = {
  latency: { run: latency, usage: LATENCY },
  storm: { run: storm, usage: STORM },
  scale: { run: scale, usage: SCALE },
  gc: { run: gc, usage: GC },
  coordinator: { run: coordinator, usage: COORDINATOR },
  "storm-events": { run: stormEvents, usage: STORM_EVENTS },
  soak: { run: soak, usage: SOAK },
};

function usage(): string {
  return `usage: npm run bench -- <scenario> [options]\n\n${Object.values(SCENARIOS)
    .map((s) => s.usage)
    .join("\n\n")}\n`;
}

const [name, ...argv] = process.argv.slice(2);
const scenario = name === undefined ? undefined : SCENARIOS[name];
if (scenario === undefined) {
  process.stderr.write(name === undefined || name === "--help" ? usage() : `unknown scenario '${name}'\n\n${usage()}`);
  process.exit(name === "--help" ? 0 : 2);
}
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(`${scenario.usage}\n`);
  process.exit(0);
}
const jsonAt = argv.indexOf("--json");
const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const machine = machineInfo();
console.log(describeMachine(machine));
const harness = cniHarness();
console.log(
  harness === "cni-runner"
    ? "harness: plugins started by bench/native/cni-runner (posix_spawn, as a container runtime)"
    : "harness: plugins started by node:child_process (gcc missing: cni-runner not built); per-call figures include Node's fork cost",
);
try {
  const result = await scenario.run(argv);
  const out: Record<string, unknown> = {
    scenario: name,
    machine,
    machineAfter: machineInfo().loadAverage,
    harness,
    ...result,
  };
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(out, null, 2)}\n`);
  const bad = out["check"] !== "pass" || Number(out["failures"] ?? 0) > 0 || Number(out["duplicates"] ?? 0) > 0;
  console.log(
    `${name}: check ${String(out["check"])}, failures ${String(out["failures"])}, duplicates ${String(out["duplicates"])}${jsonFile !== undefined ? `; JSON in ${jsonFile}` : ""}`,
  );
  process.exitCode = bad ? 1 : 0;
} catch (err) {
  process.stderr.write(`bench ${name}: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await stopCniHarness();
}
