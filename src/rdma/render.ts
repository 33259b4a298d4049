/**
 * Samples as Prometheus text (exposition format 0.0.4). Every RDMA value is a counter, exposed
 * with `_total` as the OpenTelemetry exporter upstream used does.
 */
import type { Sample } from "./model.ts";

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function renderPrometheus(samples: readonly Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byName.get(s.name);
    if (list === undefined) byName.set(s.name, [s]);
    else list.push(s);
  }
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const metric = `${name}_total`;
    lines.push(`# HELP ${metric} RDMA ${name.slice("rdma_".length).replaceAll("_", " ")}`, `# TYPE ${metric} counter`);
    for (const s of byName.get(name) ?? []) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(",");
      lines.push(`${metric}{${labels}} ${s.value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
