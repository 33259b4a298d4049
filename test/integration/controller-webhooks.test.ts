// The controller's SpiderIPPool webhooks, served over HTTPS with a generated certificate,
// registered in the embedded API server and exercised through it, as kubectl would.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { SpiderReservedIPKind, type SpiderReservedIP } from "../../src/api/reservedip.ts";
import { SpiderSubnetKind, type SpiderSubnet } from "../../src/api/subnet.ts";
import {
  ALWAYS_REGISTERED,
  COORDINATOR_REGISTERED,
  MULTUS_CONFIG_REGISTERED,
  registerWebhooks,
  WEBHOOK_CONFIG_NAME,
} from "../../src/controller/webhooks/registration.ts";
import { SpiderCoordinatorKind, type SpiderCoordinator } from "../../src/api/coordinator.ts";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../../src/api/multusconfig.ts";
import { webhookRoutes } from "../../src/controller/webhooks/routes.ts";
import { HEALTH_PATH, WebhookServer } from "../../src/controller/webhooks/server.ts";
import { dueForRotation, loadOrGenerateTls } from "../../src/controller/webhooks/tls.ts";
import { ApiError, Resources, resourceTypeOf, type KubeObject } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { request as httpsRequest } from "node:https";
import { startApiServer, type Harness } from "../support/apiserver.ts";

const pool = (name: string, spec: Partial<SpiderIPPool["spec"]> & { subnet: string }): SpiderIPPool =>
  ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderIPPool",
    metadata: { name },
    spec,
  }) as SpiderIPPool;

async function rejected(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail("expected the API server to reject the request");
}

describe("controller webhooks: SpiderIPPool through the API server", () => {
  let h: Harness;
  let hooks: WebhookServer;
  let deleteWebhook = true;
  let caPem = "";
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];

  before(async () => {
    h = await startApiServer();
    const tls = loadOrGenerateTls({ ipAddresses: ["127.0.0.1"] });
    const cfg = {
      enableIPv4: true,
      enableIPv6: true,
      enableSpiderSubnet: true,
      get enableValidatingResourcesDeletedWebhook() {
        return deleteWebhook;
      },
    };
    hooks = new WebhookServer(tls.serving, webhookRoutes(h.client, cfg), (level, msg, fields) =>
      logs.push({ level, msg, fields }),
    );
    caPem = tls.caPem;
    const url = await hooks.listen();
    await registerWebhooks(h.client, { url, caPem: tls.caPem });
    // Registering twice (a restart, a rotation) updates in place.
    await registerWebhooks(h.client, { url, caPem: tls.caPem });
  });
  after(async () => {
    await h?.close();
    await hooks?.close();
  });

  it("registers both configurations under the spec's names", async () => {
    const m = await h.client.get(Resources.mutatingwebhookconfigurations, WEBHOOK_CONFIG_NAME);
    const v = await h.client.get(Resources.validatingwebhookconfigurations, WEBHOOK_CONFIG_NAME);
    const mh = (m["webhooks"] as { name: string; clientConfig: { url: string } }[])[0];
    const vh = (v["webhooks"] as { name: string; clientConfig: { url: string } }[])[0];
    assert.equal(mh?.name, "spiderippool.spiderpool.spidernet.io");
    assert.match(mh?.clientConfig.url ?? "", /\/mutate-spiderpool-spidernet-io-v2beta1-spiderippool$/);
    assert.match(vh?.clientConfig.url ?? "", /\/validate-spiderpool-spidernet-io-v2beta1-spiderippool$/);
  });

  it("AC-53: a valid pool is stored with derived ipVersion, merged ranges, CIDR label and finalizer", async () => {
    const p = await h.client.create<SpiderIPPool>(
      POOLS,
      pool("ac53", { subnet: "192.0.2.0/24", ips: ["192.0.2.5", "192.0.2.1-192.0.2.4"] }),
    );
    assert.equal(p.spec.ipVersion, 4);
    assert.deepEqual(p.spec.ips, ["192.0.2.1-192.0.2.5"]);
    assert.equal(p.metadata.labels?.["ipam.spidernet.io/ippool-cidr"], "192-0-2-0-24");
    assert.deepEqual(p.metadata.finalizers, ["spiderpool.spidernet.io"]);
  });

  it("AC-43: a subnet with host bits set is rejected with the canonical form", async () => {
    const e = await rejected(h.client.create(POOLS, pool("ac43", { subnet: "198.51.100.7/24" })));
    assert.equal(e.status, 422);
    assert.match(e.statusMessage, /unformatted subnet 198\.51\.100\.7\/24, please change it to 198\.51\.100\.0\/24/);
  });

  it("AC-42: a pool whose subnet overlaps another pool's subnet is rejected", async () => {
    await h.client.create(POOLS, pool("ac42-wide", { subnet: "2001:db8::/48", ips: ["2001:db8::10-2001:db8::20"] }));
    const e = await rejected(
      h.client.create(POOLS, pool("ac42-narrow", { subnet: "2001:db8:0:1::/64", ips: ["2001:db8:0:1::10"] })),
    );
    assert.equal(e.status, 422);
    assert.match(e.statusMessage, /overlap with IPPool ac42-wide which 'spec.subnet' is 2001:db8::\/48/);
  });

  it("AC-41: a pool whose addresses overlap another pool's in the same subnet is rejected", async () => {
    await h.client.create(POOLS, pool("ac41-a", { subnet: "203.0.113.0/24", ips: ["203.0.113.10-203.0.113.20"] }));
    const e = await rejected(
      h.client.create(POOLS, pool("ac41-b", { subnet: "203.0.113.0/24", ips: ["203.0.113.15-203.0.113.25"] })),
    );
    assert.equal(e.status, 403);
    assert.match(e.statusMessage, /overlap with IPPool ac41-a in IP ranges \["203\.0\.113\.15-203\.0\.113\.20"\]/);
    // Excluding the shared part makes the same pool acceptable.
    await h.client.create(
      POOLS,
      pool("ac41-b", {
        subnet: "203.0.113.0/24",
        ips: ["203.0.113.15-203.0.113.25"],
        excludeIPs: ["203.0.113.15-203.0.113.20"],
      }),
    );
  });

  it("AC-44: gateway or route gateway outside the subnet is rejected; a valid pair is accepted", async () => {
    const base = await h.client.create<SpiderIPPool>(
      POOLS,
      pool("ac44", { subnet: "203.0.113.0/24", ips: ["203.0.113.100-203.0.113.110"] }),
    );
    let e = await rejected(h.client.update(POOLS, { ...base, spec: { ...base.spec, gateway: "198.51.100.1" } }));
    assert.match(e.statusMessage, /spec\.gateway: Invalid value: "198\.51\.100\.1": not pertains to the 'spec.subnet'/);
    e = await rejected(
      h.client.update(POOLS, {
        ...base,
        spec: { ...base.spec, routes: [{ dst: "192.0.2.0/24", gw: "198.51.100.1" }] },
      }),
    );
    assert.match(e.statusMessage, /spec\.routes\[0\]\.gw: Invalid value: "198\.51\.100\.1": not pertains/);
    const ok = await h.client.update<SpiderIPPool>(POOLS, {
      ...base,
      spec: { ...base.spec, gateway: "203.0.113.1", routes: [{ dst: "192.0.2.0/24", gw: "203.0.113.2" }] },
    });
    assert.equal(ok.spec.gateway, "203.0.113.1");
  });

  it("AC-46: a default route in routes and duplicate destinations are rejected", async () => {
    const base = await h.client.get<SpiderIPPool>(POOLS, "ac44");
    let e = await rejected(
      h.client.update(POOLS, { ...base, spec: { ...base.spec, routes: [{ dst: "0.0.0.0/0", gw: "203.0.113.2" }] } }),
    );
    assert.match(e.statusMessage, /please specify 'spec.gateway' to configure the default route/);
    const dup = { dst: "192.0.2.0/24", gw: "203.0.113.2" };
    e = await rejected(h.client.update(POOLS, { ...base, spec: { ...base.spec, routes: [dup, dup] } }));
    assert.match(e.statusMessage, /duplicate route with the same dst/);
  });

  it("AC-47: spec.subnet and spec.ipVersion cannot change", async () => {
    const base = await h.client.get<SpiderIPPool>(POOLS, "ac44");
    const e = await rejected(h.client.update(POOLS, { ...base, spec: { ...base.spec, subnet: "203.0.113.0/25" } }));
    assert.match(e.statusMessage, /spec\.subnet: Forbidden: is not changeable/);
  });

  it("AC-48, AC-52: an address in use cannot be removed, and a pool with allocations cannot be deleted", async () => {
    const p = await h.client.create<SpiderIPPool>(
      POOLS,
      pool("ac48", { subnet: "192.0.2.0/24", ips: ["192.0.2.100-192.0.2.101"] }),
    );
    const used = await h.client.updateStatus<SpiderIPPool>(POOLS, {
      ...p,
      status: {
        allocatedIPs: JSON.stringify({ "192.0.2.100": { pod: "default/web-0", podUid: "u-1" } }),
        allocatedIPCount: 1,
      },
    });
    const e = await rejected(
      h.client.update(POOLS, { ...used, spec: { ...used.spec, excludeIPs: ["192.0.2.100-192.0.2.101"] } }),
    );
    assert.equal(e.status, 403);
    assert.match(e.statusMessage, /remove an IP address 192\.0\.2\.100 that is being used by Pod default\/web-0/);
    // Excluding only the free address is fine.
    await h.client.update(POOLS, { ...used, spec: { ...used.spec, excludeIPs: ["192.0.2.101"] } });
    const d = await rejected(h.client.delete(POOLS, "ac48"));
    assert.equal(d.status, 403);
    assert.match(d.statusMessage, /cannot delete an IPPool with allocated IPs\(1\)/);
  });

  it("AC-51 (admission part): with the delete webhook off, a pool with allocations goes Terminating", async () => {
    deleteWebhook = false;
    try {
      await h.client.delete(POOLS, "ac48");
      const p = await h.client.get<SpiderIPPool>(POOLS, "ac48");
      assert.ok(p.metadata.deletionTimestamp, "held by the finalizer");
      const e = await rejected(h.client.update(POOLS, { ...p, spec: { ...p.spec, gateway: "192.0.2.1" } }));
      assert.match(e.statusMessage, /cannot update a terminating IPPool/);
    } finally {
      deleteWebhook = true;
    }
  });

  it("answers the health path and counts its decisions", async () => {
    const tls = loadOrGenerateTls({ ipAddresses: ["127.0.0.1"] });
    assert.equal(dueForRotation(tls), false);
    assert.equal(dueForRotation(tls, Date.now() + 300 * 86_400_000), true, "renewed in the last third");
    const denied = hooks.counters.entries().filter((c) => c.result === "denied");
    assert.ok(denied.reduce((n, c) => n + c.count, 0) >= 8);
    assert.ok(logs.some((l) => l.msg === "denied" && l.fields["field"] === "spec.subnet"));
    const url = (
      (await h.client.get(Resources.validatingwebhookconfigurations, WEBHOOK_CONFIG_NAME))["webhooks"] as {
        clientConfig: { url: string };
      }[]
    )[0]?.clientConfig.url;
    const base = new URL(url ?? "").origin;
    const res = await fetch(`${base}${HEALTH_PATH}`).catch((err: unknown) => err as Error);
    // The certificate is not in Node's trust store, so a plain fetch must refuse it.
    assert.ok(res instanceof Error, "the webhook serves TLS only with its own CA");
    const call = (path: string, method = "GET", body?: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(`${base}${path}`, { method, ca: caPem }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
      });
    const ok = await call(HEALTH_PATH);
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.text), { status: "ok" });
    const missing = await call("/mutate-nothing", "POST", "{}");
    assert.equal(missing.status, 404);
  });
});

describe("controller webhooks: SpiderSubnet and SpiderReservedIP through the API server", () => {
  let h: Harness;
  let hooks: WebhookServer;
  const SUBNETS = resourceTypeOf(SpiderSubnetKind);
  const RESERVED = resourceTypeOf(SpiderReservedIPKind);
  const subnet = (name: string, spec: Record<string, unknown>): KubeObject & { spec: Record<string, unknown> } => ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderSubnet",
    metadata: { name },
    spec,
  });

  before(async () => {
    h = await startApiServer();
    const tls = loadOrGenerateTls({ ipAddresses: ["127.0.0.1"] });
    const cfg = {
      enableIPv4: true,
      enableIPv6: true,
      enableSpiderSubnet: true,
      enableValidatingResourcesDeletedWebhook: true,
      enableCoordinator: true,
      enableMultusConfig: true,
    };
    hooks = new WebhookServer(tls.serving, webhookRoutes(h.client, cfg));
    await registerWebhooks(h.client, { url: await hooks.listen(), caPem: tls.caPem }, [
      ...ALWAYS_REGISTERED,
      MULTUS_CONFIG_REGISTERED,
      COORDINATOR_REGISTERED,
    ]);
  });
  after(async () => {
    await h?.close();
    await hooks?.close();
  });

  it("a subnet is defaulted: ipVersion, CIDR label, merged ranges, finalizer", async () => {
    const s = await h.client.create<SpiderSubnet>(
      SUBNETS,
      subnet("s1", { subnet: "192.0.2.0/24", ips: ["192.0.2.20", "192.0.2.10-192.0.2.19"] }) as unknown as SpiderSubnet,
    );
    assert.equal(s.spec.ipVersion, 4);
    assert.deepEqual(s.spec.ips, ["192.0.2.10-192.0.2.20"]);
    assert.equal(s.metadata.labels?.["ipam.spidernet.io/subnet-cidr"], "192-0-2-0-24");
    assert.deepEqual(s.metadata.finalizers, ["spiderpool.spidernet.io"]);
  });

  it("subnets: non-canonical, overlapping another subnet, ranges outside the CIDR are rejected", async () => {
    let e = await rejected(h.client.create(SUBNETS, subnet("bad1", { subnet: "192.0.2.1/24" })));
    assert.match(e.statusMessage, /unformatted subnet 192\.0\.2\.1\/24, please change it to 192\.0\.2\.0\/24/);
    e = await rejected(h.client.create(SUBNETS, subnet("bad2", { subnet: "192.0.2.128/25" })));
    assert.match(e.statusMessage, /overlap with Subnet s1 which 'spec.subnet' is 192\.0\.2\.0\/24/);
    e = await rejected(h.client.create(SUBNETS, subnet("bad3", { subnet: "198.51.100.0/24", ips: ["192.0.2.5"] })));
    assert.match(e.statusMessage, /spec\.ips\[0\].*not pertains to the 'spec.subnet' 198\.51\.100\.0\/24/);
  });

  it("a pool adopted by a subnet inherits its gateway; AC-101: addresses outside the subnet are refused", async () => {
    await h.client.create(
      SUBNETS,
      subnet("s2", {
        subnet: "198.51.100.0/24",
        ips: ["198.51.100.10-198.51.100.20"],
        excludeIPs: ["198.51.100.15-198.51.100.20"],
        gateway: "198.51.100.1",
      }),
    );
    const p = await h.client.create<SpiderIPPool>(
      POOLS,
      pool("in-s2", { subnet: "198.51.100.0/24", ips: ["198.51.100.10-198.51.100.12"] }),
    );
    assert.equal(p.spec.gateway, "198.51.100.1");
    assert.equal(p.metadata.labels?.["ipam.spidernet.io/owner-spider-subnet"], "s2");
    assert.equal(p.metadata.ownerReferences?.[0]?.kind, "SpiderSubnet");
    const e = await rejected(
      h.client.create(POOLS, pool("outside-s2", { subnet: "198.51.100.0/24", ips: ["198.51.100.16"] })),
    );
    assert.match(e.statusMessage, /not contained in controller Subnet s2/);
  });

  it("AC-102: a subnet cannot drop addresses its pools hold; adding is fine; subnet and ipVersion are immutable", async () => {
    const s = await h.client.get<SpiderSubnet>(SUBNETS, "s2");
    let e = await rejected(
      h.client.update(SUBNETS, { ...s, spec: { ...s.spec, excludeIPs: ["198.51.100.11-198.51.100.20"] } }),
    );
    assert.match(
      e.statusMessage,
      /remove some IP ranges \["198\.51\.100\.11-198\.51\.100\.12"\] that is being used by IPPool in-s2/,
    );
    const grown = await h.client.update<SpiderSubnet>(SUBNETS, {
      ...s,
      spec: { ...s.spec, ips: ["198.51.100.10-198.51.100.30"] },
    });
    assert.deepEqual(grown.spec.ips, ["198.51.100.10-198.51.100.30"]);
    e = await rejected(h.client.update(SUBNETS, { ...grown, spec: { ...grown.spec, subnet: "198.51.100.0/25" } }));
    assert.match(e.statusMessage, /spec\.subnet: Forbidden: is not changeable/);
  });

  it("a subnet whose CIDR another pool overlaps, or whose pool it cannot contain, is refused", async () => {
    await h.client.create(POOLS, pool("orphan", { subnet: "203.0.113.0/24", ips: ["203.0.113.50-203.0.113.60"] }));
    let e = await rejected(h.client.create(SUBNETS, subnet("s3", { subnet: "203.0.113.0/25" })));
    assert.match(e.statusMessage, /overlap with SpiderIPPool 'orphan' resource 'spec.subnet' 203\.0\.113\.0\/24/);
    e = await rejected(
      h.client.create(SUBNETS, subnet("s4", { subnet: "203.0.113.0/24", ips: ["203.0.113.50-203.0.113.55"] })),
    );
    assert.match(e.statusMessage, /SpiderIPPool 'orphan' owns some IP addresses that SpiderSubnet 's4' can't control/);
  });

  it("reserved IPs: the family is derived and ranges merged; invalid ranges are refused", async () => {
    const r = await h.client.create<SpiderReservedIP>(RESERVED, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderReservedIP",
      metadata: { name: "r1" },
      spec: { ips: ["2001:db8::5", "2001:db8::1-2001:db8::4"] },
    } as SpiderReservedIP);
    assert.equal(r.spec.ipVersion, 6);
    assert.deepEqual(r.spec.ips, ["2001:db8::1-2001:db8::5"]);
    let e = await rejected(
      h.client.create(RESERVED, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderReservedIP",
        metadata: { name: "r2" },
        spec: { ips: ["192.0.2.1", "2001:db8::9"] },
      }),
    );
    assert.match(e.statusMessage, /spec\.ips\[1\]: Invalid value: "2001:db8::9": invalid IP range of IPv4/);
    e = await rejected(
      h.client.create(RESERVED, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderReservedIP",
        metadata: { name: "r3" },
        spec: { ips: ["not-an-ip"] },
      }),
    );
    assert.match(e.statusMessage, /spec\.ips is empty or spec\.ips\[0\] may be invalid/);
  });

  it("coordinator: defaults and prefix forms are stored; a multicast MAC prefix is refused", async () => {
    const COORDS = resourceTypeOf(SpiderCoordinatorKind);
    const c = await h.client.create<SpiderCoordinator>(COORDS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderCoordinator",
      metadata: { name: "default" },
      spec: { podCIDRType: "cluster", hijackCIDR: ["192.0.2.1"] },
    } as SpiderCoordinator);
    assert.deepEqual(c.spec.hijackCIDR, ["192.0.2.1/32"]);
    assert.equal(c.spec.podRPFilter, 0);
    assert.deepEqual(c.metadata.finalizers, ["spiderpool.spidernet.io"]);
    const e = await rejected(h.client.update(COORDS, { ...c, spec: { ...c.spec, podMACPrefix: "0b:00" } }));
    assert.match(e.statusMessage, /spec\.podMACPrefix: Invalid value: "0b:00"/);
  });

  it("multus configs: defaults and the coordinator are stored; two masters without a bond are refused", async () => {
    const SMCS = resourceTypeOf(SpiderMultusConfigKind);
    const m = await h.client.create<SpiderMultusConfig>(SMCS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderMultusConfig",
      metadata: { name: "macvlan-eth0", namespace: "default" },
      spec: { cniType: "macvlan", macvlan: { master: ["eth0"] } },
    } as SpiderMultusConfig);
    assert.equal(m.spec?.macvlan?.vlanID, 0);
    assert.equal(m.spec?.coordinator?.mode, "auto");
    const e = await rejected(
      h.client.create(SMCS, {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderMultusConfig",
        metadata: { name: "two-masters", namespace: "default" },
        spec: { cniType: "macvlan", macvlan: { master: ["eth0", "eth1"] } },
      }),
    );
    assert.match(
      e.statusMessage,
      /spec\.macvlan\.bond: Required value: the bond property is nil with multiple Interfaces/,
    );
  });
});
