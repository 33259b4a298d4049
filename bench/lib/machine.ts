// What every benchmark prints first: the machine and how busy it is, so figures from a
// loaded machine are recognisable as such.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: [number, number, number];
  node: string;
}

export function machineInfo(): MachineInfo {
  const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: [l1, l5, l15],
    node: process.version,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, load ${m.loadAverage
    .map((x) => x.toFixed(2))
    .join(" ")}, node ${m.node}`;
}
