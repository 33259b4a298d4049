// Webhooks with several controller replicas (issue 16): every replica serves the same
// certificate (one Secret), so the registered caBundle verifies each; by URL (the sandbox)
// the first replica, then the leader on takeover, is named, so stopping a replica that is
// not named breaks nothing and stopping the named one is repaired by the election.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect } from "node:tls";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import type { SpiderpoolController } from "../../src/controller/controller.ts";
import { WEBHOOK_CONFIG_NAME } from "../../src/controller/webhooks/registration.ts";
import { WEBHOOK_TLS_SECRET } from "../../src/controller/webhooks/tls-secret.ts";
import { Resources } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { eventually, startApiServer, type Harness } from "../support/apiserver.ts";
import { testController } from "../support/controller.ts";

/** The SHA-256 fingerprint of the certificate a replica serves. */
function servedCert(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on("error", reject);
  });
}

describe("webhooks with two controller replicas", () => {
  let h: Harness;
  const running: SpiderpoolController[] = [];
  const registeredUrl = async (): Promise<string> =>
    (
      (await h.client.get(Resources.validatingwebhookconfigurations, WEBHOOK_CONFIG_NAME))["webhooks"] as {
        clientConfig: { url: string };
      }[]
    )[0]?.clientConfig.url ?? "";
  /** A pool that the mutating webhook must have defaulted (ipVersion, finalizer). */
  const admitted = async (name: string): Promise<void> => {
    const p = await h.client.create<SpiderIPPool>(POOLS, {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderIPPool",
      metadata: { name },
      spec: { subnet: `198.51.100.0/24`, ips: [`198.51.100.${10 + running.length}`] } as SpiderIPPool["spec"],
    });
    assert.equal(p.spec.ipVersion, 4, "defaulted by the webhook");
    await h.client.delete(POOLS, name);
  };
  const start = async (name: string): Promise<SpiderpoolController> => {
    const c = testController(h, name);
    await c.start();
    running.push(c);
    return c;
  };

  before(async () => {
    h = await startApiServer();
  });
  after(async () => {
    for (const c of running) await c.stop();
    await h?.close();
  });

  it("every replica serves the one certificate of the Secret; stopping the one not named breaks nothing", async () => {
    const a = await start("ctrl-a");
    await eventually(() => a.isLeader, 5000, "a leads");
    const b = await start("ctrl-b");
    assert.equal(await servedCert(a.webhookUrl), await servedCert(b.webhookUrl), "one certificate");
    await h.client.get(Resources.secrets, WEBHOOK_TLS_SECRET, "kube-system");
    assert.ok((await registeredUrl()).startsWith(a.webhookUrl), "the first replica stays named");
    await b.stop();
    running.splice(running.indexOf(b), 1);
    await admitted("after-b");
  });

  it("stopping the named replica: the next leader registers itself and admission works again", async () => {
    const a = running[0] as SpiderpoolController;
    const c = await start("ctrl-c");
    await a.stop();
    running.splice(running.indexOf(a), 1);
    await eventually(() => c.isLeader, 10_000, "c takes over");
    await eventually(async () => (await registeredUrl()).startsWith(c.webhookUrl), 5000, "c registered");
    await admitted("after-a");
  });
});
