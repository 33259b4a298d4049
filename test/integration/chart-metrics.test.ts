// Dashboards and alerts against what the daemons export (issue 21): `promtool check rules` and
// `promtool test rules` on the chart's alerts, then a running spiderpool-agent's and
// spiderpool-controller's /metrics parsed, and every metric the Grafana dashboards and the
// alert expressions name must be among them (Spiderpool's own alerts name metrics its code
// does not export; ours must not).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { CHART_DIR } from "../../scripts/chart-docs.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { testController } from "../support/controller.ts";

const RULES = join(CHART_DIR, "files", "prometheus-rules.yaml");
const RULE_TESTS = join(CHART_DIR, "files", "tests");
const DASHBOARDS = join(CHART_DIR, "files", "dashboards");

function promtool(): string {
  const p = "/usr/bin/promtool";
  if (!existsSync(p)) {
    assert.fail("promtool is missing: scripts/ensure-debs.sh installs Debian's prometheus package when run as root");
  }
  return p;
}

/** Metric names in the exposition format's # TYPE lines, with a histogram's series names. */
export function exportedNames(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    out.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(name + s);
    if (type === "summary") for (const s of ["_sum", "_count"]) out.add(name + s);
  }
  return out;
}

/** Every spiderpool_* metric an expression names. */
export function namedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bspiderpool_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

function alertExpressions(): Array<{ where: string; expr: string }> {
  const doc = parse(readFileSync(RULES, "utf8")) as {
    groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }>;
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

function dashboardExpressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const f of readdirSync(DASHBOARDS).filter((x) => x.endsWith(".json"))) {
    const d = JSON.parse(readFileSync(join(DASHBOARDS, f), "utf8")) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      templating?: { list: Array<{ name: string; definition?: string }> };
    };
    for (const p of d.panels)
      for (const t of p.targets ?? []) out.push({ where: `${f} panel "${p.title}"`, expr: t.expr });
    for (const v of d.templating?.list ?? [])
      if (v.definition !== undefined) out.push({ where: `${f} variable ${v.name}`, expr: v.definition });
  }
  return out;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

describe("dashboards and alerts against the daemons' metrics (issue 21)", () => {
  let c: Cluster;
  let ctrl: SpiderpoolController;

  before(async () => {
    c = await startCluster({ nodes: 1 });
    ctrl = testController(c.h, "metrics-ctrl");
    await ctrl.start();
  });
  after(async () => {
    await ctrl?.stop();
    await c?.close();
  });

  it("issue 21: promtool check rules accepts the chart's alerts", () => {
    const out = execFileSync(promtool(), ["check", "rules", RULES], { encoding: "utf8" });
    assert.match(out, /SUCCESS: \d+ rules found/);
  });

  it("issue 21: promtool test rules: each alert fires on its fixture series and not before its `for`", () => {
    for (const f of readdirSync(RULE_TESTS).filter((x) => x.endsWith(".test.yaml"))) {
      const out = execFileSync(promtool(), ["test", "rules", f], { cwd: RULE_TESTS, encoding: "utf8" });
      assert.match(out, /SUCCESS/, f);
    }
  });

  it("issue 21: every metric a dashboard or an alert names is exported by the running agent or controller", async () => {
    const exported = new Set([
      ...exportedNames(await scrape(c.nodes[0]!.agent.ports.metrics)),
      ...exportedNames(await scrape(ctrl.ports.metrics)),
    ]);
    assert.ok(exported.has("spiderpool_ipam_allocation_counts_total"), "the agent's metrics were scraped");
    assert.ok(exported.has("spiderpool_ip_gc_counts_total"), "the controller's metrics were scraped");
    const uses = [...alertExpressions(), ...dashboardExpressions()];
    assert.ok(uses.length > 10, "expressions were found in the alerts and the dashboards");
    const missing = uses.flatMap((u) =>
      namedMetrics(u.expr)
        .filter((m) => !exported.has(m))
        .map((m) => `${u.where}: ${m}`),
    );
    assert.deepEqual(missing, [], "metrics named by dashboards or alerts that neither daemon exports");
    // The check itself: a name nobody exports is caught.
    assert.deepEqual(
      namedMetrics("rate(spiderpool_ipam_allocation_err_no_available_pool_counts_total[5m])").filter(
        (m) => !exported.has(m),
      ),
      ["spiderpool_ipam_allocation_err_no_available_pool_counts_total"],
    );
  });
});
