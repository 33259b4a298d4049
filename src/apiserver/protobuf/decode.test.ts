// Decoding kube's protobuf envelopes to JSON objects (issue 20): zero values, pointers,
// maps, lists, the special types, and refusals instead of silent loss.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeObject, ProtobufDecodeError, ProtobufKindError } from "./decode.ts";
import { WireWriter } from "./wire.ts";

const w = (): WireWriter => new WireWriter();

function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const typeMeta = w().string(1, apiVersion).string(2, kind).finish();
  const unknown = w().bytes(1, typeMeta).bytes(2, raw).string(3, "").string(4, "").finish();
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...unknown]);
}

/** ObjectMeta as the Go marshaller writes it: every non-pointer field, zero or not. */
function meta(name: string, labels: Record<string, string> = {}): Uint8Array {
  const m = w().string(1, name).string(2, "").string(3, "").string(4, "").string(5, "").string(6, "");
  m.varint(7, 0).bytes(8, new Uint8Array());
  for (const [k, v] of Object.entries(labels)) m.bytes(11, w().string(1, k).string(2, v).finish());
  return m.finish();
}

describe("protobuf request bodies", () => {
  it("a Namespace as kubectl create namespace sends it", () => {
    const raw = w().bytes(1, meta("foo")).bytes(2, new Uint8Array()).bytes(3, w().string(1, "").finish()).finish();
    assert.deepEqual(decodeObject(envelope("v1", "Namespace", raw)), {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "foo" },
    });
  });

  it("maps, bytes as base64, pointer zeros kept, non-pointer zeros dropped", () => {
    const raw = w()
      .bytes(1, meta("s", { a: "b" }))
      .bytes(2, w().string(1, "k").bytes(2, Buffer.from("secret")).finish())
      .string(3, "")
      .varint(5, false)
      .finish();
    assert.deepEqual(decodeObject(envelope("v1", "Secret", raw)), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", labels: { a: "b" } },
      data: { k: Buffer.from("secret").toString("base64") },
      immutable: false,
    });
  });

  it("IntOrString, int32 pointers, negative numbers and lists", () => {
    const intOrStr = (v: number | string): Uint8Array =>
      typeof v === "number" ? w().varint(1, 0).varint(2, v).finish() : w().varint(1, 1).string(3, v).finish();
    const pdb = w()
      .bytes(1, meta("p"))
      .bytes(2, w().bytes(1, intOrStr(0)).bytes(3, intOrStr("25%")).finish())
      .finish();
    assert.deepEqual(decodeObject(envelope("policy/v1", "PodDisruptionBudget", pdb)), {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "p" },
      spec: { minAvailable: 0, maxUnavailable: "25%" },
    });
    const pc = w().bytes(1, meta("pc")).varint(2, -5).varint(3, true).finish();
    assert.deepEqual(decodeObject(envelope("scheduling.k8s.io/v1", "PriorityClass", pc)), {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "pc" },
      value: -5,
      globalDefault: true,
    });
  });

  it("quantities and times", () => {
    const container = w()
      .string(1, "c")
      .string(2, "img")
      .bytes(
        8,
        w()
          .bytes(2, w().string(1, "cpu").bytes(2, w().string(1, "100m").finish()).finish())
          .finish(),
      )
      .finish();
    const template = w().bytes(2, w().bytes(2, container).finish()).finish();
    const created = w().varint(1, 1_700_000_000).finish();
    const metaWithTime = w().string(1, "d").bytes(8, created).finish();
    const raw = w().bytes(1, metaWithTime).bytes(2, w().varint(1, 0).bytes(3, template).finish()).finish();
    const d = decodeObject(envelope("apps/v1", "Deployment", raw));
    assert.deepEqual(d["metadata"], { name: "d", creationTimestamp: "2023-11-14T22:13:20Z" });
    assert.deepEqual(d["spec"], {
      replicas: 0,
      template: { spec: { containers: [{ name: "c", image: "img", resources: { requests: { cpu: "100m" } } }] } },
    });
  });

  it("a field without a definition is skipped when zero and refused when set", () => {
    const zero = w().bytes(1, meta("c")).string(99, "").finish();
    assert.deepEqual(decodeObject(envelope("v1", "ConfigMap", zero))["metadata"], { name: "c" });
    const set = w().bytes(1, meta("c")).string(99, "x").finish();
    assert.throws(
      () => decodeObject(envelope("v1", "ConfigMap", set)),
      (err: unknown) => {
        assert.ok(err instanceof ProtobufDecodeError);
        assert.match(err.message, /k8s\.io\.api\.core\.v1\.ConfigMap field 99/);
        return true;
      },
    );
  });

  it("refuses a kind without definitions, a missing magic, a wrong wire type and truncation", () => {
    assert.throws(() => decodeObject(envelope("v1", "Pod", w().bytes(1, meta("p")).finish())), ProtobufKindError);
    assert.throws(() => decodeObject(Uint8Array.from([1, 2, 3, 4, 5])), ProtobufDecodeError);
    const wrong = w().bytes(1, meta("c")).varint(2, 1).finish();
    assert.throws(() => decodeObject(envelope("v1", "ConfigMap", wrong)), ProtobufDecodeError);
    const ok = envelope("v1", "ConfigMap", w().bytes(1, meta("c")).finish());
    assert.throws(() => decodeObject(ok.subarray(0, ok.length - 3)), ProtobufDecodeError);
  });
});
