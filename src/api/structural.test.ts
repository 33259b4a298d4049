import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Type } from "typebox";
import { toOpenAPI, type JsonSchema } from "./openapi.ts";
import { lintStructural } from "./structural.ts";

const root = (spec: JsonSchema): JsonSchema => ({ type: "object", properties: { spec } });
const messages = (schema: JsonSchema): string[] => lintStructural(schema).map((p) => `${p.path}: ${p.message}`);

describe("structural lint catches broken schemas", () => {
  const broken: Array<[string, JsonSchema, string]> = [
    [
      "missing type",
      root({ properties: { a: { type: "string" } } }),
      ".properties.spec: type is required (structural schema)",
    ],
    [
      "nested missing type",
      root({ type: "object", properties: { a: {} } }),
      ".properties.spec.properties.a: type is required",
    ],
    ["$ref", root({ type: "object", $ref: "#/x" }), "'$ref' is not allowed"],
    ["const", root({ type: "string", const: "a" }), "'const' is not allowed"],
    ["type list", root({ type: ["string", "null"] }), "type must be a single string"],
    ["type null", root({ type: "null" }), "type 'null' is not one of"],
    [
      "properties with additionalProperties",
      root({ type: "object", properties: { a: { type: "string" } }, additionalProperties: { type: "string" } }),
      "mutually exclusive",
    ],
    [
      "additionalProperties false",
      root({ type: "object", additionalProperties: false }),
      "additionalProperties: false",
    ],
    ["numeric exclusiveMinimum", root({ type: "integer", exclusiveMinimum: 3 }), "exclusiveMinimum must be a boolean"],
    [
      "type inside anyOf",
      root({ type: "string", anyOf: [{ type: "string", description: "x" }] }),
      ".properties.spec.anyOf[0]: 'type' must not be set inside anyOf",
    ],
    ["default inside oneOf", root({ type: "integer", oneOf: [{ default: 1 }] }), "'default' must not be set inside"],
    ["nullable inside not", root({ type: "integer", not: { nullable: true } }), "'nullable' must not be set inside"],
    [
      "patternProperties",
      root({ type: "object", patternProperties: { "^a": { type: "string" } } }),
      "'patternProperties' is not allowed",
    ],
    ["tuple items", root({ type: "array", items: [{ type: "string" }] }), "items must be a single schema"],
    ["array without items", root({ type: "array" }), "arrays must declare items"],
    ["enum of wrong type", root({ type: "integer", enum: [4, "6"] }), 'enum value "6" is not of type integer'],
    ["default of wrong type", root({ type: "boolean", default: "false" }), 'default "false" is not of type boolean'],
    ["default outside enum", root({ type: "string", enum: ["a"], default: "b" }), "not one of the enum values"],
    ["format on wrong type", root({ type: "string", format: "int64" }), "format 'int64' applies to integer"],
    ["preserve false", root({ type: "object", "x-kubernetes-preserve-unknown-fields": false }), "must be true"],
    ["list-type on object", root({ type: "object", "x-kubernetes-list-type": "atomic" }), "only to arrays"],
    ["required not in properties", root({ type: "object", properties: {}, required: ["x"] }), "required field 'x'"],
    ["root not object", { type: "string" }, ": the root schema must be of type object"],
    [
      "metadata restricting labels",
      { type: "object", properties: { metadata: { type: "object", properties: { labels: { type: "object" } } } } },
      "metadata may restrict only name and generateName",
    ],
  ];
  for (const [name, schema, expected] of broken) {
    it(name, () => {
      const found = messages(schema);
      assert.ok(
        found.some((m) => m.includes(expected)),
        `expected a problem containing ${JSON.stringify(expected)}, got:\n${found.join("\n")}`,
      );
    });
  }

  it("accepts preserve-unknown-fields and int-or-string without type", () => {
    assert.deepEqual(
      messages(
        root({
          type: "object",
          properties: {
            a: { "x-kubernetes-preserve-unknown-fields": true },
            b: { "x-kubernetes-int-or-string": true },
          },
        }),
      ),
      [],
    );
  });

  it("what TypeBox writes raw is not structural; after toOpenAPI it is", () => {
    const schema = Type.Object({
      nullableGateway: Type.Union([Type.String(), Type.Null()]),
      mode: Type.Union([Type.Literal("a"), Type.Literal("b")]),
      labels: Type.Record(Type.String(), Type.String()),
    });
    const raw = messages(root(JSON.parse(JSON.stringify(schema)) as JsonSchema));
    assert.ok(
      raw.some((m) => m.includes("'const' is not allowed") || m.includes("type is required")),
      raw.join("\n"),
    );
    assert.ok(
      raw.some((m) => m.includes("'patternProperties' is not allowed")),
      raw.join("\n"),
    );
    const converted = toOpenAPI(schema);
    assert.deepEqual(messages(root(converted)), []);
    const props = converted["properties"] as Record<string, JsonSchema>;
    assert.deepEqual(props["nullableGateway"], { nullable: true, type: "string" });
    assert.deepEqual(props["mode"], { enum: ["a", "b"], type: "string" });
    assert.deepEqual(props["labels"], { additionalProperties: { type: "string" }, type: "object" });
  });
});
