// `spiderpoolctl top pools` against the embedded API server: bars and counts per pool and
// subnet, fullest first, and the forecast column from the controller's metrics.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { SpiderSubnetKind } from "../../src/api/subnet.ts";
import { bar, runTop } from "../../src/cli/top.ts";
import { loadControllerConfig } from "../../src/controller/config.ts";
import { SpiderpoolController } from "../../src/controller/controller.ts";
import { resourceTypeOf } from "../../src/kube/index.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool } from "../support/cluster.ts";
import { writeRecord } from "../support/controller.ts";

describe("spiderpoolctl top pools", () => {
  let h: Harness;
  let dir: string;
  let kubeconfig: string;
  let ctrl: SpiderpoolController;

  before(async () => {
    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "top-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, h.server.kubeconfig());
    await createPool(h, "idle", { subnet: "198.51.100.0/24", ipVersion: 4, ips: ["198.51.100.1-198.51.100.10"] });
    await createPool(h, "busy", {
      subnet: "192.0.2.0/24",
      ipVersion: 4,
      ips: ["192.0.2.1-192.0.2.10"],
      excludeIPs: ["192.0.2.10"],
    });
    for (let i = 1; i <= 6; i++) await writeRecord(h, "busy", `192.0.2.${i}`, `default/p${i}`, `u${i}`);
    await h.client.create(resourceTypeOf(SpiderSubnetKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderSubnet",
      metadata: { name: "s" },
      spec: { subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.1-192.0.2.40"] },
    });
    ctrl = new SpiderpoolController({
      config: loadControllerConfig({
        SPIDERPOOL_POD_NAMESPACE: "kube-system",
        SPIDERPOOL_POD_NAME: "top",
        SPIDERPOOL_GC_IP_ENABLED: "false",
      }),
      client: h.newClient(),
      logger: pino({ level: "silent" }),
      ports: { health: 0, metrics: 0, webhook: 0 },
    });
    await ctrl.start();
  });
  after(async () => {
    await ctrl?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function top(...args: string[]): Promise<string> {
    let text = "";
    assert.equal(
      await runTop(["pools", "--kubeconfig", kubeconfig, ...args], { write: (s: string) => (text += s) }),
      0,
    );
    return text;
  }

  it("bars: allocated, reserved, excluded, free; a state present shows at least once", () => {
    assert.equal(bar({ total: 10, allocated: 6, reserved: 0, excluded: 1, free: 3 }, 10), "######x...");
    assert.equal(bar({ total: 1000, allocated: 1, reserved: 0, excluded: 0, free: 999 }, 10), "#.........");
    assert.equal(bar({ total: 0, allocated: 0, reserved: 0, excluded: 0, free: 0 }, 4), "    ");
  });

  it("pools fullest first, then subnets, with their counts", async () => {
    const text = await top("--width", "10");
    const lines = text.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^POOL\s+CIDR\s+USAGE\s+USED%\s+ALLOC\s+FREE\s+RSVD\s+EXCL\s+FORECAST$/);
    assert.match(lines[1] ?? "", /^busy\s+192\.0\.2\.0\/24\s+\[######x\.\.\.\]\s+67%\s+6\s+3\s+0\s+1$/);
    assert.match(lines[2] ?? "", /^idle\s+198\.51\.100\.0\/24\s+\[\.{10}\]\s+0%\s+0\s+10\s+0\s+0$/);
    assert.match(lines[4] ?? "", /^SUBNET/);
    assert.match(lines[5] ?? "", /^s\s+192\.0\.2\.0\/24\s+\[###\.{7}\]\s+25%\s+10\s+30\s+0\s+0$/);
  });

  it("--metrics adds the controller's forecast; -o json for tools", async () => {
    const text = await top("--width", "10", "--metrics", `http://127.0.0.1:${ctrl.ports.metrics}/metrics`);
    assert.match(text, /^busy .* not falling$/m);
    const rows = JSON.parse(await top("-o", "json")) as Array<{ name: string; capacity: { free: number } }>;
    assert.deepEqual(
      rows.map((r) => [r.name, r.capacity.free]),
      [
        ["busy", 3],
        ["idle", 10],
        ["s", 30],
      ],
    );
  });
});
