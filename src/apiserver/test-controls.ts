/**
 * Knobs for tests and benchmarks: failing the next requests of a verb and resource
 * (faults), and the same knobs over HTTP under `/_embedded/` for a server run as a
 * separate process (admin-only when authorization is on).
 */
import type { StatusReason } from "../kube/status.ts";
import { pathNotFound, statusError } from "./http-errors.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface Fault {
  /** A verb, or "*" for any. */
  verb: Verb | "*";
  /** A resource (plural), or "*" for any. */
  resource: string;
  status: number;
  reason?: StatusReason;
  message?: string;
  /** How many matching requests fail; then the fault is spent. */
  count: number;
}

export class Faults {
  #faults: Fault[] = [];

  inject(f: Fault): void {
    this.#faults.push({ ...f });
  }

  clear(): void {
    this.#faults = [];
  }

  /** Throws the first matching fault's Status, spending one of its count. */
  check(verb: Verb, resource: string): void {
    const i = this.#faults.findIndex(
      (f) => (f.verb === "*" || f.verb === verb) && (f.resource === "*" || f.resource === resource),
    );
    if (i < 0) return;
    const f = this.#faults[i] as Fault;
    f.count--;
    if (f.count <= 0) this.#faults.splice(i, 1);
    throw statusError(f.status, f.reason ?? "InternalError", f.message ?? `injected fault on ${verb} ${resource}`);
  }
}

/** What the HTTP controls act on. */
export interface Controlled {
  injectFault(f: Fault): void;
  clearFaults(): void;
  setWriteLatency(ms: number): void;
  dropWatches(resource?: string): number;
  compact(): void;
  setPodDeletion(mode: "immediate" | "graceful"): void;
  finishPodDeletion(namespace: string, name: string): boolean;
}

/** One `POST /_embedded/<knob>`; the answer's JSON. */
export function control(target: Controlled, path: string, body: Record<string, unknown>): Record<string, unknown> {
  switch (path) {
    case "/_embedded/faults":
      target.injectFault(body as unknown as Fault);
      return { ok: true };
    case "/_embedded/faults/clear":
      target.clearFaults();
      return { ok: true };
    case "/_embedded/write-latency":
      target.setWriteLatency(Number(body["ms"] ?? 0));
      return { ok: true };
    case "/_embedded/drop-watches":
      return { dropped: target.dropWatches(typeof body["resource"] === "string" ? body["resource"] : undefined) };
    case "/_embedded/compact":
      target.compact();
      return { ok: true };
    case "/_embedded/pod-deletion":
      target.setPodDeletion(body["mode"] === "graceful" ? "graceful" : "immediate");
      return { ok: true };
    case "/_embedded/finish-pod-deletion":
      return { finished: target.finishPodDeletion(String(body["namespace"]), String(body["name"])) };
    default:
      throw pathNotFound(path);
  }
}
