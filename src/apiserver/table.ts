/**
 * Server-side printing: `kubectl get` asks for a meta.k8s.io/v1 Table and prints its
 * columns. Custom resources get NAME plus their additionalPrinterColumns (or AGE), as
 * kube-apiserver's CRD table convertor does.
 */
import { evalJsonPath, parseJsonPath } from "./jsonpath.ts";
import { stringifyJson } from "../api/int64.ts";
import type { ServedResource } from "./resources.ts";
import type { Obj } from "./store.ts";

export type IncludeObject = "None" | "Metadata" | "Object";

/** kube's HumanDuration: 45s, 5m10s, 3h, 2d5h, 400d, 3y. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function cell(type: string, v: unknown, nowMs: number): unknown {
  if (v === undefined || v === null) return null;
  if (type === "date") {
    const t = Date.parse(String(v));
    return Number.isNaN(t) ? String(v) : humanDuration(nowMs - t);
  }
  if (type === "integer" || type === "number") return typeof v === "number" || typeof v === "bigint" ? v : null;
  if (type === "boolean") return typeof v === "boolean" ? v : null;
  return typeof v === "object" ? stringifyJson(v) : String(v);
}

export function toTable(
  r: ServedResource,
  objs: Obj[],
  include: IncludeObject,
  listMeta: Record<string, unknown>,
): Record<string, unknown> {
  const cols = r.printerColumns.map((c) => ({ ...c, steps: parseJsonPath(c.jsonPath) }));
  const nowMs = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: [
      {
        name: "Name",
        type: "string",
        format: "name",
        description: "Name must be unique within a namespace.",
        priority: 0,
      },
      ...cols.map((c) => ({
        name: c.name,
        type: c.type,
        format: "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      })),
    ],
    rows: objs.map((o) => {
      const row: Record<string, unknown> = {
        cells: [o.metadata.name ?? "", ...cols.map((c) => cell(c.type, evalJsonPath(o, c.steps), nowMs))],
      };
      if (include === "Object") row["object"] = o;
      else if (include === "Metadata") {
        row["object"] = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
      }
      return row;
    }),
  };
}
