// The controller's capacity gauges on its metrics port, against the embedded API server: the
// counts of a pool and a subnet (reserved and excluded addresses included), and the
// exhaustion forecast from free counts sampled on the controller's (fake) clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { SpiderReservedIPKind } from "../../src/api/reservedip.ts";
import { SpiderSubnetKind } from "../../src/api/subnet.ts";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { SpiderpoolController } from "../../src/controller/controller.ts";
import { resourceTypeOf } from "../../src/kube/index.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { FakeClock } from "../support/clock.ts";
import { createPool, records } from "../support/cluster.ts";
import { writeRecord } from "../support/controller.ts";
import { until } from "../support/wait.ts";

/** The value of `name{label="value"}` in a Prometheus text exposition. */
function gauge(text: string, name: string, label: string, value: string): number | undefined {
  const re = new RegExp(`^${name}\\{[^}]*${label}="${value}"[^}]*\\} (\\S+)$`, "m");
  const m = re.exec(text);
  if (m === null) return undefined;
  return m[1] === "+Inf" ? Infinity : Number(m[1]);
}

describe("capacity gauges and the exhaustion forecast", () => {
  let h: Harness;
  let ctrl: SpiderpoolController;
  const clock = new FakeClock();

  before(async () => {
    h = await startApiServer();
    await createPool(h, "web", {
      subnet: "192.0.2.0/24",
      ipVersion: 4,
      ips: ["192.0.2.10-192.0.2.29"],
      excludeIPs: ["192.0.2.10-192.0.2.11"],
    });
    await h.client.create(resourceTypeOf(SpiderReservedIPKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderReservedIP",
      metadata: { name: "keep" },
      spec: { ipVersion: 4, ips: ["192.0.2.20-192.0.2.23"] },
    });
    await h.client.create(resourceTypeOf(SpiderSubnetKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s" },
      spec: { subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.1-192.0.2.100"] },
    });
    for (const i of [12, 13, 14]) await writeRecord(h, "web", `192.0.2.${i}`, `default/p${i}`, `u${i}`);
    ctrl = new SpiderpoolController({
      // No GC: the records planted here belong to no pod.
      config: loadControllerConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "cap",
        SPIDERPOOL_GC_IP_ENABLED: "false",
      }),
      client: h.newClient(),
      logger: pino({ level: "silent" }),
      ports: { health: 0, metrics: 0, webhook: 0 },
      clock,
    });
    await ctrl.start();
  });
  after(async () => {
    await ctrl?.stop();
    await h?.close();
  });

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${ctrl.ports.metrics}/metrics`)).text();

  it("per pool and per subnet: total, allocated, free, reserved, excluded", async () => {
    await until(async () => ctrl.capacity.reserved.list().length === 1, "the reserved IP in the cache");
    const text = await scrape();
    const pool = (s: string): number | undefined => gauge(text, `spiderpool_ts_ippool_${s}_ips`, "pool", "web");
    assert.deepEqual(
      ["total", "allocated", "free", "reserved", "excluded"].map(pool),
      [20, 3, 11, 4, 2],
      text
        .split("\n")
        .filter((l) => l.includes("web"))
        .join("\n"),
    );
    const subnet = (s: string): number | undefined => gauge(text, `spiderpool_ts_subnet_${s}_ips`, "subnet", "s");
    // 100 listed; 4 reserved; the pool holds 20, of which 4 are the reserved ones.
    assert.deepEqual(["total", "allocated", "free", "reserved", "excluded"].map(subnet), [100, 16, 80, 4, 0]);
    assert.equal(gauge(text, "spiderpool_ts_ippool_exhaustion_forecast_hours", "pool", "web"), Infinity);
  });

  it("the window is SPIDERPOOL_TS_FORECAST_WINDOW_HOURS (24 by default)", () => {
    const env = { SPIDERPOOL_POD_NAMESPACE: "kube-system", SPIDERPOOL_POD_NAME: "x" };
    assert.equal(loadControllerConfig(env).forecastWindowHours, 24);
    assert.equal(loadControllerConfig({ ...env, SPIDERPOOL_TS_FORECAST_WINDOW_HOURS: "48" }).forecastWindowHours, 48);
    assert.throws(() => loadControllerConfig({ ...env, SPIDERPOOL_TS_FORECAST_WINDOW_HOURS: "0" }));
  });

  it("one allocation every two minutes: 30 per hour, the pool out when the line says", async () => {
    for (let i = 0; i < 6; i++) {
      const ip = `192.0.2.${24 + i}`;
      await writeRecord(h, "web", ip, `default/q${i}`, `v${i}`);
      await until(() => ip in records(ctrl.pools.getByName("web") as SpiderIPPool), `${ip} in the cache`);
      clock.advance(120_000);
    }
    const text = await scrape();
    const rate = gauge(text, "spiderpool_ts_ippool_net_allocation_rate_per_hour", "pool", "web") ?? NaN;
    const hours = gauge(text, "spiderpool_ts_ippool_exhaustion_forecast_hours", "pool", "web") ?? NaN;
    const free = gauge(text, "spiderpool_ts_ippool_free_ips", "pool", "web") ?? NaN;
    assert.equal(free, 5, JSON.stringify(records(ctrl.pools.getByName("web") as SpiderIPPool)));
    assert.ok(Math.abs(rate - 30) < 1e-6, `rate ${rate}`);
    assert.ok(Math.abs(hours - 5 / 30) < 1e-6, `hours ${hours}`);
  });
});
