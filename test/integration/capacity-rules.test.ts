// The capacity alert rules (charts/spiderpool/files/capacity-rules.yaml, carried by the chart's
// controller PrometheusRule): promtool accepts them,
// their unit tests pass, and every metric they name is one the controller exports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CapacityGauges } from "../../src/controller/capacity.ts";
import { ControllerMetrics } from "../../src/controller/metrics.ts";
import { systemClock } from "../../src/kube/clock.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { Informer } from "../../src/kube/informer.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { SUBNETS } from "../../src/controller/controller.ts";

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../charts/spiderpool/files");
const RULES = join(DIR, "capacity-rules.yaml");
const PROMTOOL = "/usr/bin/promtool";
const skip = existsSync(PROMTOOL) ? false : "promtool is not installed (Debian package prometheus)";

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: DIR, encoding: "utf8" });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("capacity alert rules", () => {
  it("promtool check rules", { skip }, () => {
    const r = promtool("check", "rules", RULES);
    assert.equal(r.code, 0, r.out);
  });

  it("promtool test rules: each alert fires when it should, and only then", { skip }, () => {
    const r = promtool("test", "rules", join(DIR, "tests/capacity-rules.test.yaml"));
    assert.equal(r.code, 0, r.out);
  });

  it("every metric an expression names is one the controller exports", async () => {
    const m = new ControllerMetrics("test");
    const client = new KubeClient({ server: "http://127.0.0.1:1" });
    new CapacityGauges({
      client,
      pools: new Informer(client, POOLS),
      subnets: new Informer(client, SUBNETS),
      registry: m.registry,
      clock: systemClock,
    });
    const exported = new Set([...(await m.registry.metrics()).matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]));
    const doc = parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const named = new Set(
      doc.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/spiderpool_\w+/g)].map((x) => x[0]))),
    );
    assert.ok(named.size >= 5);
    const missing = [...named].filter((n) => !exported.has(n));
    assert.deepEqual(missing, []);
    await client.close();
  });
});
