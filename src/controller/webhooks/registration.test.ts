import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { renderWebhookManifest, webhookConfigurations } from "./registration.ts";

describe("webhook configurations", () => {
  it("deploy/webhooks.yaml matches the generator (run `node scripts/gen-webhooks.ts`)", () => {
    const file = readFileSync(new URL("../../../deploy/webhooks.yaml", import.meta.url), "utf8");
    assert.equal(file, renderWebhookManifest());
  });

  it("registers the spec §2.0 webhooks with their paths, operations and failure policy", () => {
    const { mutating, validating } = webhookConfigurations({ url: "https://127.0.0.1:5722", caPem: "CA" });
    const hooks = (o: unknown) =>
      (o as { webhooks: { name: string; failurePolicy: string; rules: { operations: string[] }[] }[] }).webhooks;
    assert.deepEqual(
      hooks(mutating).map((w) => w.name),
      [
        "spiderippool.spiderpool.spidernet.io",
        "spidersubnet.spiderpool.spidernet.io",
        "spiderreservedip.spiderpool.spidernet.io",
      ],
    );
    assert.deepEqual(hooks(validating)[2]?.rules[0]?.operations, ["CREATE", "UPDATE"], "reserved IPs: no DELETE");
    assert.ok(hooks(validating).every((w) => w.failurePolicy === "Fail"));
    const deployed = parseAllDocuments(renderWebhookManifest()).map((d) => d.toJS() as unknown);
    assert.deepEqual(
      hooks(deployed[0])
        .slice(3)
        .map((w) => w.name),
      ["spidermultusconfig.spiderpool.spidernet.io", "spidercoordinator.spiderpool.spidernet.io"],
      "as the chart: multus configs and coordinator on",
    );
    const docs = parseAllDocuments(renderWebhookManifest()).map((d) => d.toJS() as { kind: string });
    assert.deepEqual(
      docs.map((d) => d.kind),
      ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"],
    );
  });
});
