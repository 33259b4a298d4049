/**
 * Just enough OpenAPI v3 for kubectl: an index of group-versions and, per group-version,
 * the paths of each resource with the `x-kubernetes-group-version-kind` extension and the
 * `fieldValidation` query parameter on PATCH. kubectl looks for that parameter to decide it
 * may rely on server-side field validation (`--validate=strict`, its default) instead of
 * downloading the protobuf OpenAPI v2 document, which this server does not serve.
 */
import { createHash } from "node:crypto";
import { groupVersion, type ServedResource } from "./resources.ts";

function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

const QUERY = (name: string): Record<string, unknown> => ({
  name,
  in: "query",
  schema: { type: "string" },
  uniqueItems: true,
});

export function openApiV3Document(resources: readonly ServedResource[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of resources) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = `/${gvPath(r.group, r.version)}`;
    const item = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}/{name}` : `${base}/${r.plural}/{name}`;
    const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
    const ref = `#/components/schemas/${r.group === "" ? "io.k8s.api.core" : r.group}.${r.version}.${r.kind}`;
    const ok = { "200": { description: "OK", content: { "application/json": { schema: { $ref: ref } } } } };
    const op = (id: string, params: string[]): Record<string, unknown> => ({
      operationId: `${id}${r.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: params.map(QUERY),
      responses: ok,
    });
    paths[item] = {
      get: op("read", []),
      put: op("replace", ["dryRun", "fieldManager", "fieldValidation"]),
      patch: op("patch", ["dryRun", "fieldManager", "fieldValidation", "force"]),
      delete: op("delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
    };
    paths[collection] = {
      get: op("list", ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]),
      post: op("create", ["dryRun", "fieldManager", "fieldValidation"]),
    };
    schemas[ref.slice("#/components/schemas/".length)] = {
      ...(r.schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true }),
      "x-kubernetes-group-version-kind": [gvk],
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0-spiderpool-embedded" },
    paths,
    components: { schemas },
  };
}

export interface OpenApiIndex {
  index: Record<string, unknown>;
  documents: Map<string, string>;
}

/** The `/openapi/v3` index and each group-version's document (as JSON text), keyed by path. */
export function buildOpenApiV3(resources: readonly ServedResource[]): OpenApiIndex {
  const byGv = new Map<string, ServedResource[]>();
  for (const r of resources) {
    const key = gvPath(r.group, r.version);
    let list = byGv.get(key);
    if (list === undefined) byGv.set(key, (list = []));
    list.push(r);
  }
  const paths: Record<string, unknown> = {};
  const documents = new Map<string, string>();
  for (const [key, rs] of byGv) {
    const text = JSON.stringify(openApiV3Document(rs));
    const hash = createHash("sha256").update(text).digest("hex").slice(0, 32).toUpperCase();
    documents.set(key, text);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { index: { paths }, documents };
}

export { groupVersion };
