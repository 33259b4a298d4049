/**
 * Calls of the plugin roles the agent serves besides IPAM (coordinator, ifacer): a counter and
 * a latency histogram per role, command and outcome, registered in the agent's registry.
 */
import { Counter, Histogram, type Registry } from "prom-client";

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 1, 3, 5, 10];
type Labels = "plugin" | "command" | "outcome";

export class PluginMetrics {
  readonly calls: Counter<Labels>;
  readonly duration: Histogram<Labels>;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: "spiderpool_ts_plugin_calls_total",
      help: "CNI calls of a plugin role, by command and outcome (success, failure)",
      labelNames: ["plugin", "command", "outcome"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "spiderpool_ts_plugin_duration_seconds",
      help: "time the agent spent on a CNI call of a plugin role",
      labelNames: ["plugin", "command", "outcome"],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  observe(plugin: string, command: string, outcome: "success" | "failure", seconds: number): void {
    const labels = { plugin, command, outcome };
    this.calls.inc(labels);
    this.duration.observe(labels, seconds);
  }
}
