/**
 * The forms an answer can take, chosen from the request's Accept header as a Kubernetes API
 * server chooses them: the object itself, a Table (kubectl get), or only its metadata
 * (PartialObjectMetadata, what metadata-only informers and writers that need only the new
 * resourceVersion ask for). A write of a big object answered with its metadata costs the
 * server no serialisation of the object and the client no read of it.
 */
export type AnswerForm = "object" | "table" | "metadata";

export const TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io";
export const METADATA_TYPE = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";
export const METADATA_LIST_TYPE = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseRanges(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of accept.split(",")) {
    const [type, ...rest] = part.split(";").map((s) => s.trim());
    if (type === undefined || type === "") continue;
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
    }
    const q = params.has("q") ? Number(params.get("q")) : 1;
    out.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 });
  }
  // Highest preference first; ties keep the order they were written in (sort is stable).
  return out.filter((r) => r.q > 0).sort((a, b) => b.q - a.q);
}

/**
 * The form to answer in, for one object or (`list`) a list of them. A range asking for a
 * transformation this answer cannot take (a PartialObjectMetadataList of one object, another
 * group's kinds) is passed over for the next; when none fits, or without an Accept header,
 * the object is sent, as the server always has (clients list plain JSON as their fallback).
 */
export function answerForm(accept: string | undefined, list: boolean): AnswerForm {
  if (accept === undefined || accept === "") return "object";
  for (const r of parseRanges(accept)) {
    const as = r.params.get("as");
    if (as === undefined) {
      if (r.type === "application/json" || r.type === "application/*" || r.type === "*/*") return "object";
      continue;
    }
    if (r.type !== "application/json") continue;
    const g = r.params.get("g");
    const v = r.params.get("v");
    if (as === "Table") {
      // Older kubectl sends v1beta1 or omits the group; a Table is a Table.
      if ((g === undefined || g === "meta.k8s.io") && (v === undefined || v === "v1" || v === "v1beta1"))
        return "table";
      continue;
    }
    if (g !== "meta.k8s.io" || (v !== "v1" && v !== "v1beta1")) continue;
    if (as === (list ? "PartialObjectMetadataList" : "PartialObjectMetadata")) return "metadata";
  }
  return "object";
}

/** An object as a PartialObjectMetadata: its kind's metadata, nothing of its spec or status. */
export function asMetadata(o: { metadata: unknown }): { kind: string; apiVersion: string; metadata: unknown } {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/** A list as a PartialObjectMetadataList. */
export function asMetadataList(
  meta: Record<string, unknown>,
  items: ReadonlyArray<{ metadata: unknown }>,
): Record<string, unknown> {
  return {
    kind: "PartialObjectMetadataList",
    apiVersion: "meta.k8s.io/v1",
    metadata: meta,
    items: items.map(asMetadata),
  };
}
