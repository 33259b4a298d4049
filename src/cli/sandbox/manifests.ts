/**
 * `--apply PATH`: the manifests of files and folders (YAML, several documents each, or
 * JSON), in the order a cluster needs them (namespaces and CRDs, then Spiderpool's pools, then
 * networks, then workloads), created, or replaced when they exist, as `kubectl apply` leaves them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ApiError, type KubeClient, type KubeObject } from "../../kube/index.ts";
import { ManifestError } from "./errors.ts";

export interface Manifest {
  source: string;
  object: KubeObject;
}

const ORDER = [
  "Namespace",
  "CustomResourceDefinition",
  "ConfigMap",
  "SpiderSubnet",
  "SpiderIPPool",
  "SpiderReservedIP",
  "SpiderCoordinator",
  "SpiderMultusConfig",
  "NetworkAttachmentDefinition",
];
const rank = (kind: string | undefined): number => {
  const i = ORDER.indexOf(kind ?? "");
  return i < 0 ? ORDER.length : i;
};

/** Every manifest under the paths (a folder's *.yaml, *.yml and *.json, by name), sorted by kind. */
export function readManifests(paths: readonly string[]): Manifest[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new ManifestError(`--apply ${p}: no such file or folder`);
    }
    if (st.isDirectory())
      files.push(
        ...readdirSync(p)
          .filter((f) => [".yaml", ".yml", ".json"].includes(extname(f)))
          .sort()
          .map((f) => join(p, f)),
      );
    else files.push(p);
  }
  const out: Manifest[] = [];
  for (const f of files) {
    const docs = parseAllDocuments(readFileSync(f, "utf8"));
    for (const [i, d] of (Array.isArray(docs) ? docs : [docs]).entries()) {
      if (d.errors.length > 0)
        throw new ManifestError(`${f}: document ${i + 1}: ${d.errors[0]?.message ?? "invalid YAML"}`);
      const obj = d.toJS() as KubeObject | null;
      if (obj === null || obj === undefined) continue;
      if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof obj.metadata?.name !== "string")
        throw new ManifestError(`${f}: document ${i + 1} has no apiVersion, kind and metadata.name`);
      out.push({ source: f, object: obj });
    }
  }
  // A stable sort: within a kind, the files' order.
  return out
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m.object.kind) - rank(b.m.object.kind) || a.i - b.i)
    .map((x) => x.m);
}

/** Creates each object, or replaces the one there (keeping its resourceVersion); returns what `kubectl apply` prints. */
export async function applyManifests(client: KubeClient, manifests: readonly Manifest[]): Promise<string[]> {
  const lines: string[] = [];
  for (const { source, object } of manifests) {
    const rt = await client.resourceFor(object.apiVersion ?? "", object.kind ?? "").catch(() => undefined);
    if (rt === undefined)
      throw new ManifestError(`${source}: the server does not serve ${object.kind} in ${object.apiVersion}`);
    const obj: KubeObject = rt.namespaced
      ? { ...object, metadata: { ...object.metadata, namespace: object.metadata?.namespace ?? "default" } }
      : object;
    const what = `${rt.plural}${rt.group === "" ? "" : `.${rt.group}`}/${obj.metadata?.name}`;
    try {
      await client.create(rt, obj);
      lines.push(`${what} created`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409))
        throw new ManifestError(`${source}: ${what}: ${(err as Error).message}`, { cause: err });
      const cur = await client.get<KubeObject>(rt, obj.metadata?.name ?? "", obj.metadata?.namespace);
      await client.update(rt, {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion },
      });
      lines.push(`${what} configured`);
    }
  }
  return lines;
}
