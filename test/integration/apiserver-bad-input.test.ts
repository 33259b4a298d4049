// Issue 20, bad input: whatever a client sends for a built-in kind (random JSON shapes,
// random protobuf), the answer is kube-apiserver's Status (kind, reason, code) or
// success, never a 5xx. Property-based: fast-check varies the bodies; seeds are printed
// on failure for replay.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { WireWriter } from "../../src/apiserver/protobuf/wire.ts";
import { BUILTIN_RESOURCES, EmbeddedApiServer, groupVersion, type ServedResource } from "../../src/apiserver/index.ts";

function collectionUrl(base: string, r: ServedResource, dryRun = true): string {
  const prefix = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const q = dryRun ? "?dryRun=All&fieldValidation=Strict" : "?fieldValidation=Warn";
  return `${base}${prefix}${r.namespaced ? "/namespaces/default" : ""}/${r.plural}${q}`;
}

async function checkAnswer(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.ok(res.status < 500, `${what}: ${res.status} ${text}`);
  if (res.status >= 400) {
    const st = JSON.parse(text) as Record<string, unknown>;
    assert.equal(st["kind"], "Status", `${what}: ${text}`);
    assert.equal(st["code"], res.status, `${what}: ${text}`);
    assert.equal(typeof st["reason"], "string", `${what}: ${text}`);
  }
}

describe("issue 20: bad input for built-in kinds gets a Status, never a crash", () => {
  let server: EmbeddedApiServer;
  let url: string;

  before(async () => {
    server = new EmbeddedApiServer();
    url = await server.listen();
  });
  after(() => server.close());

  const kinds = BUILTIN_RESOURCES.filter((r) => r.plural !== "customresourcedefinitions");
  // JSON of any shape, with now and then the fields a manifest has, holding anything.
  const anything = fc.jsonValue({ maxDepth: 3 });
  const body = (r: ServedResource) =>
    fc.record(
      {
        apiVersion: fc.constant(groupVersion(r)),
        kind: fc.constant(r.kind),
        metadata: fc.oneof(
          fc.record(
            {
              name: fc.constantFrom("x", "Bad_Name", ""),
              generateName: anything,
              labels: anything,
              annotations: anything,
              finalizers: anything,
              ownerReferences: anything,
              resourceVersion: anything,
            },
            { requiredKeys: ["name"] },
          ),
          anything,
        ),
        spec: anything,
        data: anything,
        rules: anything,
        roleRef: anything,
        subjects: anything,
        value: anything,
        webhooks: anything,
      },
      { requiredKeys: ["apiVersion", "kind", "metadata"] },
    );

  it("random JSON objects", async () => {
    for (const r of kinds) {
      await fc.assert(
        fc.asyncProperty(body(r), fc.boolean(), async (b, dryRun) => {
          // Committed objects too: what is stored must not break the store's indexes either.
          const res = await fetch(collectionUrl(url, r, dryRun), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(b),
          });
          await checkAnswer(res, `${r.plural} ${JSON.stringify(b)}`);
        }),
        { numRuns: 25 },
      );
    }
  });

  it("random merge, strategic and JSON patches and PUTs of existing objects", async () => {
    const deployments = kinds.find((r) => r.plural === "deployments") as ServedResource;
    const created = await fetch(collectionUrl(url, deployments, false), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "patched" },
        spec: { replicas: 1 },
      }),
    });
    assert.equal(created.status, 201);
    const item = `${url}/apis/apps/v1/namespaces/default/deployments/patched`;
    const op = fc.record({
      op: fc.constantFrom("add", "remove", "replace", "move", "copy", "test", "bogus"),
      path: fc.constantFrom(
        "",
        "/",
        "/spec",
        "/spec/replicas",
        "/metadata/labels",
        "/metadata/ownerReferences",
        "/x/y/z",
        "/spec/-",
        "~1",
      ),
      from: fc.constantFrom("/spec", "/metadata/name", "/nope"),
      value: anything,
    });
    const request = fc.oneof(
      fc.record({ type: fc.constant("application/merge-patch+json"), method: fc.constant("PATCH"), body: anything }),
      fc.record({
        type: fc.constant("application/strategic-merge-patch+json"),
        method: fc.constant("PATCH"),
        body: anything,
      }),
      fc.record({
        type: fc.constant("application/json-patch+json"),
        method: fc.constant("PATCH"),
        body: fc.array(op, { maxLength: 3 }),
      }),
      fc.record({ type: fc.constant("application/json"), method: fc.constant("PUT"), body: body(deployments) }),
    );
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom("", "/status", "/scale"), async (r, sub) => {
        const res = await fetch(`${item}${sub}`, {
          method: r.method,
          headers: { "content-type": r.type },
          body: JSON.stringify(r.body),
        });
        await checkAnswer(res, `${r.method} ${sub} ${r.type} ${JSON.stringify(r.body)}`);
      }),
      { numRuns: 300 },
    );
  });

  it("random messages in a well-formed protobuf envelope", async () => {
    const decodable = kinds.filter((r) =>
      [
        "namespaces",
        "configmaps",
        "secrets",
        "services",
        "deployments",
        "jobs",
        "cronjobs",
        "roles",
        "clusterrolebindings",
        "priorityclasses",
        "poddisruptionbudgets",
      ].includes(r.plural),
    );
    // Fields 1–3 (metadata, spec or data, status) filled with random bytes, so the decoder reaches into the messages.
    const raw = fc.array(fc.record({ n: fc.integer({ min: 1, max: 5 }), bytes: fc.uint8Array({ maxLength: 48 }) }), {
      maxLength: 4,
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...decodable), raw, async (r, fields) => {
        const m = new WireWriter();
        for (const f of fields) m.bytes(f.n, f.bytes);
        const typeMeta = new WireWriter().string(1, groupVersion(r)).string(2, r.kind).finish();
        const unknown = new WireWriter().bytes(1, typeMeta).bytes(2, m.finish()).finish();
        const res = await fetch(collectionUrl(url, r), {
          method: "POST",
          headers: { "content-type": "application/vnd.kubernetes.protobuf" },
          body: Buffer.concat([Uint8Array.from([0x6b, 0x38, 0x73, 0x00]), unknown]),
        });
        await checkAnswer(
          res,
          `${r.plural} protobuf ${JSON.stringify(fields.map((f) => [f.n, Buffer.from(f.bytes).toString("hex")]))}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("random protobuf bodies", async () => {
    const magic = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), fc.uint8Array({ maxLength: 64 }), async (r, bytes) => {
        const res = await fetch(collectionUrl(url, r), {
          method: "POST",
          headers: { "content-type": "application/vnd.kubernetes.protobuf" },
          body: Buffer.concat([magic, bytes]),
        });
        await checkAnswer(res, `${r.plural} protobuf ${Buffer.from(bytes).toString("hex")}`);
      }),
      { numRuns: 200 },
    );
  });
});
