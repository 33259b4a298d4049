// The SpiderMultusConfig controller against the embedded API server, with its webhooks
// registered (node-networking §3.4): NADs created, kept in sync, re-created, collected with
// their SMC, and refused when another SMC owns them; an Event when a NAD cannot be written.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { toCrd } from "../../src/api/crd.ts";
import { SpiderMultusConfigKind, type SpiderMultusConfig } from "../../src/api/multusconfig.ts";
import { NetworkAttachmentDefinitionKind, type NetworkAttachmentDefinition } from "../../src/api/nad.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import pino from "pino";
import { EventRecorder } from "../../src/controller/events.ts";
import { MultusConfigController, NADS } from "../../src/controller/multus/controller.ts";
import { Informer } from "../../src/kube/informer.ts";
import {
  ApiError,
  KubeClient,
  Resources,
  resourceTypeOf,
  type AnyObject,
  type KubeObject,
  type ResourceType,
} from "../../src/kube/index.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { testController } from "../support/controller.ts";

const SMCS = resourceTypeOf(SpiderMultusConfigKind);
const NS = "default";
const golden = (file: string): string => readFileSync(new URL(`../golden/nad/${file}.golden`, import.meta.url), "utf8");

const smc = (name: string, spec: SpiderMultusConfig["spec"], annotations?: Record<string, string>) =>
  ({
    apiVersion: "spiderpool.spidernet.io/v2beta1",
    kind: "SpiderMultusConfig",
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec,
  }) as SpiderMultusConfig;

async function nad(h: Harness, name: string): Promise<NetworkAttachmentDefinition | undefined> {
  try {
    return await h.client.get<NetworkAttachmentDefinition>(NADS, name, NS);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

async function rejected(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail("expected the API server to reject the request");
}

async function metric(c: SpiderpoolController, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${c.ports.metrics}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("SpiderMultusConfig controller (node-networking §3.4)", () => {
  let h: Harness;
  let c: SpiderpoolController;

  before(async () => {
    h = await startApiServer();
    c = testController(h, "ctrl-multus", {
      SPIDERPOOL_MULTUS_CONFIG_ENABLED: "true",
      SPIDERPOOL_TS_MULTUS_CONFIG_RESYNC_MS: "300",
      SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS: "100",
    });
    await c.start();
    await eventually(() => c.isLeader, 5000, "leadership");
  });
  after(async () => {
    await c?.stop();
    await h?.close();
  });

  it("NN-37 creates the NAD with the spec's config and a controller owner reference", async () => {
    const created = await h.client.create(
      SMCS,
      smc("macvlan-ens192", { cniType: "macvlan", macvlan: { master: ["ens192"], ippools: { ipv4: ["v4-pool"] } } }),
    );
    await eventually(async () => (await nad(h, "macvlan-ens192")) !== undefined, 5000, "the NAD");
    const n = (await nad(h, "macvlan-ens192")) as NetworkAttachmentDefinition;
    assert.equal(n.spec?.config, golden("spec-macvlan-ens192"));
    assert.deepEqual(n.metadata.ownerReferences, [
      {
        apiVersion: "spiderpool.spidernet.io/v2beta1",
        kind: "SpiderMultusConfig",
        name: "macvlan-ens192",
        uid: created.metadata?.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(n.metadata.labels, undefined, "no labels, as upstream");
    assert.ok((await metric(c, "spiderpool_ts_nad_writes_total", 'op="create"')) >= 1);
  });

  it("an SMC update rewrites its NAD in place; a hand edit of the NAD is undone at the next resync", async () => {
    const before = (await nad(h, "macvlan-ens192")) as NetworkAttachmentDefinition;
    const cur = await h.client.get<SpiderMultusConfig>(SMCS, "macvlan-ens192", NS);
    await h.client.update(SMCS, { ...cur, spec: { ...cur.spec, macvlan: { ...cur.spec.macvlan!, mtu: 1400 } } });
    await eventually(
      async () => (await nad(h, "macvlan-ens192"))?.spec?.config?.includes('"mtu":1400') === true,
      5000,
      "the new mtu",
    );
    const after1 = (await nad(h, "macvlan-ens192")) as NetworkAttachmentDefinition;
    assert.equal(after1.metadata.uid, before.metadata.uid, "updated, not re-created");
    await h.client.update(NADS, {
      ...after1,
      spec: { config: "{}" },
      metadata: { ...after1.metadata, annotations: {} },
    });
    await eventually(
      async () => (await nad(h, "macvlan-ens192"))?.spec?.config?.includes('"mtu":1400') === true,
      5000,
      "the drift undone",
    );
    assert.equal((await nad(h, "macvlan-ens192"))?.metadata.uid, before.metadata.uid);
  });

  it("NN-43 annotations rename the NAD and set cniVersion and the config name; the name cannot change later", async () => {
    await h.client.create(
      SMCS,
      smc(
        "smc43",
        { cniType: "macvlan", macvlan: { master: ["eth0"] } },
        {
          "multus.spidernet.io/cr-name": "foo",
          "multus.spidernet.io/cni-version": "1.0.0",
          "cni.spidernet.io/cniconfig-name": "bar",
        },
      ),
    );
    await eventually(async () => (await nad(h, "foo")) !== undefined, 5000, "NAD foo");
    assert.equal((await nad(h, "foo"))?.spec?.config, golden("annotations"));
    assert.equal((await nad(h, "foo"))?.metadata.annotations?.["cni.spidernet.io/cniconfig-name"], "bar");
    assert.equal(await nad(h, "smc43"), undefined);
    const cur = await h.client.get<SpiderMultusConfig>(SMCS, "smc43", NS);
    const e = await rejected(
      h.client.update(SMCS, {
        ...cur,
        metadata: {
          ...cur.metadata,
          annotations: { ...cur.metadata.annotations, "multus.spidernet.io/cr-name": "foo2" },
        },
      }),
    );
    assert.match(
      e.statusMessage,
      /it's unsupported to change customized Multus net-attach-def resource name from 'foo' to 'foo2'/,
    );
    const v = await rejected(
      h.client.create(
        SMCS,
        smc(
          "badver",
          { cniType: "macvlan", macvlan: { master: ["eth0"] } },
          { "multus.spidernet.io/cni-version": "0.2.0" },
        ),
      ),
    );
    assert.match(v.statusMessage, /unsupported CNI version 0\.2\.0/);
  });

  it("NN-46 a NAD deleted by hand comes back within a resync; deleting the SMC takes its NAD", async () => {
    const old = (await nad(h, "macvlan-ens192")) as NetworkAttachmentDefinition;
    await h.client.delete(NADS, "macvlan-ens192", { namespace: NS });
    await eventually(
      async () => {
        const n = await nad(h, "macvlan-ens192");
        return n !== undefined && n.metadata.uid !== old.metadata.uid;
      },
      5000,
      "the NAD re-created",
    );
    assert.equal((await nad(h, "macvlan-ens192"))?.spec?.config, old.spec?.config);
    await h.client.delete(SMCS, "macvlan-ens192", { namespace: NS });
    await eventually(async () => (await nad(h, "macvlan-ens192")) === undefined, 5000, "the NAD collected");
  });

  it("NN-47 an SMC whose NAD another SMC owns is refused", async () => {
    const e = await rejected(
      h.client.create(
        SMCS,
        smc(
          "intruder",
          { cniType: "macvlan", macvlan: { master: ["eth1"] } },
          { "multus.spidernet.io/cr-name": "foo" },
        ),
      ),
    );
    assert.match(
      e.statusMessage,
      /the net-attach-def default\/foo already exists and is managed by SpiderMultusConfig default\/smc43\./,
    );
    assert.equal((await nad(h, "foo"))?.metadata.ownerReferences?.[0]?.name, "smc43", "the NAD is untouched");
  });

  it("an un-owned NAD of the same name is taken over", async () => {
    await h.client.create(NADS, {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "adopt", namespace: NS },
      spec: { config: "{}" },
    } as NetworkAttachmentDefinition);
    await h.client.create(SMCS, smc("adopt", { cniType: "ipvlan", ipvlan: { master: ["ens192"] } }));
    await eventually(
      async () => (await nad(h, "adopt"))?.metadata.ownerReferences?.[0]?.name === "adopt",
      5000,
      "adopted",
    );
    assert.match((await nad(h, "adopt"))?.spec?.config ?? "", /"type":"ipvlan"/);
  });

  it("waits for a terminating NAD to go, then creates its own", async () => {
    await h.client.create(NADS, {
      apiVersion: "k8s.cni.cncf.io/v1",
      kind: "NetworkAttachmentDefinition",
      metadata: { name: "leaving", namespace: NS, finalizers: ["test.spidernet.io/hold"] },
      spec: { config: "{}" },
    } as NetworkAttachmentDefinition);
    await h.client.delete(NADS, "leaving", { namespace: NS });
    const retries = await metric(c, "spiderpool_ts_multus_config_reconciles_total", 'result="retry"');
    await h.client.create(SMCS, smc("leaving", { cniType: "macvlan", macvlan: { master: ["eth0"] } }));
    await eventually(
      async () => (await metric(c, "spiderpool_ts_multus_config_reconciles_total", 'result="retry"')) >= retries + 2,
      5000,
      "two retries on the terminating NAD",
    );
    const held = (await nad(h, "leaving")) as NetworkAttachmentDefinition;
    assert.ok(held.metadata.deletionTimestamp !== undefined);
    assert.equal(held.spec?.config, "{}", "a terminating NAD is never rewritten");
    await h.client.update(NADS, { ...held, metadata: { ...held.metadata, finalizers: [] } });
    await eventually(
      async () => (await nad(h, "leaving"))?.spec?.config?.includes('"type":"macvlan"') === true,
      5000,
      "created",
    );
  });

  it("NN-42 a custom SMC: customCNI verbatim; no customCNI → a NAD without spec.config; bad JSON refused", async () => {
    const text = golden("custom");
    await h.client.create(SMCS, smc("custom1", { cniType: "custom", customCNI: text }));
    await h.client.create(SMCS, smc("custom2", { cniType: "custom" }));
    await eventually(async () => (await nad(h, "custom1")) !== undefined && (await nad(h, "custom2")) !== undefined);
    assert.equal((await nad(h, "custom1"))?.spec?.config, text);
    assert.equal((await nad(h, "custom2"))?.spec?.config, undefined);
    const e = await rejected(h.client.create(SMCS, smc("custom3", { cniType: "custom", customCNI: "{bad" })));
    assert.match(e.statusMessage, /customCniConfig isn't a valid JSON encoding/);
  });

  it("NN-39, NN-41, NN-48 the webhook's refusals carry upstream's texts and write no NAD", async () => {
    const cases: [string, SpiderMultusConfig["spec"], RegExp][] = [
      [
        "nobond",
        { cniType: "macvlan", macvlan: { master: ["a", "b"] } },
        /the bond property is nil with multiple Interfaces/,
      ],
      ["nores", { cniType: "sriov", sriov: {} }, /no spec\.sriovConfig\[resourceName\] specified/],
      [
        "rates",
        { cniType: "sriov", sriov: { resourceName: "r", minTxRateMbps: 10, maxTxRateMbps: 5 } },
        /minTxRateMbps must be less than maxTxRateMbps/,
      ],
      [
        "notype",
        { cniType: "macvlan", macvlan: { master: ["a"] }, chainCNIJsonData: ['{"sysctl":{}}'] },
        /invalid \{"sysctl":\{\}\}: error parsing configuration: missing 'type'/,
      ],
    ];
    for (const [name, spec, re] of cases) {
      const e = await rejected(h.client.create(SMCS, smc(name, spec)));
      assert.match(e.statusMessage, re, name);
      assert.equal(await nad(h, name), undefined);
    }
  });

  it("a NAD that cannot be written leaves a Warning Event on the SMC; it is written once it can be", async () => {
    await h.client.delete(Resources.customresourcedefinitions, toCrd(NetworkAttachmentDefinitionKind).metadata.name);
    await h.client.create(SMCS, smc("nocrd", { cniType: "macvlan", macvlan: { master: ["eth0"] } }));
    const warned = async (): Promise<boolean> => {
      const evs = await h.client.list<KubeObject>(Resources.events, { namespace: NS });
      return evs.items.some((e) => {
        const x = e as unknown as { reason?: string; type?: string; involvedObject?: { name?: string } };
        return x.reason === "NadWriteFailed" && x.type === "Warning" && x.involvedObject?.name === "nocrd";
      });
    };
    await eventually(warned, 5000, "the Warning Event");
    assert.ok((await metric(c, "spiderpool_ts_multus_config_reconciles_total", 'result="retry"')) >= 1);
    await h.client.create(Resources.customresourcedefinitions, toCrd(NetworkAttachmentDefinitionKind) as never);
    await eventually(async () => (await nad(h, "nocrd").catch(() => undefined)) !== undefined, 5000, "the NAD");
  });
});

describe("SpiderMultusConfig controller: leadership lost mid-reconcile", () => {
  it("a replica that stops leading between reading and writing writes nothing; the next leader writes the NAD", async () => {
    const h = await startApiServer();
    let leader = true;
    let flipOnNextNadRead = true;
    // The NAD read is the last step before the write: leadership goes right there.
    class FlippingClient extends KubeClient {
      override get<T extends AnyObject = KubeObject>(rt: ResourceType, name: string, namespace?: string): Promise<T> {
        const r = super.get<T>(rt, name, namespace);
        if (rt.plural === NADS.plural && flipOnNextNadRead) {
          flipOnNextNadRead = false;
          leader = false;
        }
        return r;
      }
    }
    const client = new FlippingClient({ server: h.url });
    const smcs = new Informer<SpiderMultusConfig>(client, SMCS);
    const writes: string[] = [];
    const ctl = new MultusConfigController({
      client,
      smcs,
      isLeader: () => leader,
      events: new EventRecorder(client, "test", pino({ level: "silent" })),
      resyncMs: 60_000,
      retryMs: 50,
      maxRetries: 5,
      metrics: { reconciled: () => {}, written: (op) => writes.push(op), depth: () => {} },
      log: pino({ level: "silent" }),
    });
    try {
      smcs.start();
      await smcs.waitForSync();
      await h.client.create(SMCS, smc("lead", { cniType: "macvlan", macvlan: { master: ["eth0"] } }));
      await eventually(() => !leader, 5000, "leadership lost during the reconcile");
      await ctl.idle();
      assert.deepEqual(writes, []);
      assert.equal(await nad(h, "lead"), undefined, "no NAD written by a replica that no longer leads");
      leader = true;
      ctl.resync();
      await eventually(async () => (await nad(h, "lead")) !== undefined, 5000, "the NAD from the leader");
      assert.deepEqual(writes, ["create"]);
    } finally {
      ctl.stop();
      await smcs.stop();
      await client.close();
      await h.close();
    }
  });
});
