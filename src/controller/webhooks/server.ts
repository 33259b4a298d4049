/**
 * The controller's admission webhook server (spec §2.0): HTTPS, one path per webhook in
 * controller-runtime naming, AdmissionReview v1 in and out. Handlers are pure functions of
 * the request and what they list from the API server; this module does the transport,
 * the JSON patch of a mutation, certificate rotation in place, logs and counters.
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseJson, stringifyJson } from "../../api/int64.ts";
import { readBody } from "../../kube/read-body.ts";
import type { KeyPairPem } from "../../pki/certs.ts";
import { AdmissionDenied, toStatus, type Verdict } from "./verdict.ts";

export interface AdmissionRequestV1 {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  name?: string;
  namespace?: string;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

export type MutateHandler = (req: AdmissionRequestV1) => Promise<Record<string, unknown> | undefined>;
export type ValidateHandler = (req: AdmissionRequestV1) => Promise<Verdict | undefined>;

export interface WebhookRoute {
  /** `<singular>`, e.g. `spiderippool`. */
  singular: string;
  kind: string;
  mutate?: MutateHandler;
  validate?: ValidateHandler;
  /** A path of its own, as `/mutate--v1-pod` for a core kind. */
  mutatePath?: string;
  /** The webhook's name in logs and counters; `<singular>.spiderpool.spidernet.io` by default. */
  hookName?: string;
  /**
   * Admission warnings for a request the validator allows (issue 22: changes that would
   * strand workloads). Advisory: a handler that fails adds none and is logged.
   */
  warn?: (r: AdmissionRequestV1) => Promise<string[]>;
}

export interface WebhookLog {
  (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>): void;
}

export const GROUP = "spiderpool.spidernet.io";
export const mutatePath = (singular: string): string => `/mutate-spiderpool-spidernet-io-v2beta1-${singular}`;
export const validatePath = (singular: string): string => `/validate-spiderpool-spidernet-io-v2beta1-${singular}`;
export const HEALTH_PATH = "/webhook-health-check";
const MAX_BODY = 8 * 1024 * 1024;

/** Counts of admission decisions by webhook and result, for the metrics endpoint. */
export class WebhookCounters {
  readonly #counts = new Map<string, number>();
  inc(webhook: string, result: "allowed" | "patched" | "denied" | "error"): void {
    const k = `${webhook}\u0000${result}`;
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
  }
  entries(): { webhook: string; result: string; count: number }[] {
    return [...this.#counts].map(([k, count]) => {
      const [webhook = "", result = ""] = k.split("\u0000");
      return { webhook, result, count };
    });
  }
}

/**
 * The replace operations that turn `before` into `after` for the parts a defaulter may
 * change; empty when nothing changed, so unchanged objects carry no patch at all.
 */
export function patchFor(before: Record<string, unknown>, after: Record<string, unknown>): unknown[] {
  const ops: unknown[] = [];
  for (const part of ["metadata", "spec"]) {
    if (stringifyJson(before[part]) === stringifyJson(after[part])) continue;
    ops.push({ op: before[part] === undefined ? "add" : "replace", path: `/${part}`, value: after[part] });
  }
  return ops;
}

export class WebhookServer {
  readonly counters = new WebhookCounters();
  readonly #routes = new Map<string, { route: WebhookRoute; mode: "mutate" | "validate" }>();
  readonly #log: WebhookLog;
  readonly #server: Server;

  constructor(tls: KeyPairPem, routes: readonly WebhookRoute[], log: WebhookLog = () => {}) {
    this.#log = log;
    for (const r of routes) {
      if (r.mutate !== undefined)
        this.#routes.set(r.mutatePath ?? mutatePath(r.singular), { route: r, mode: "mutate" });
      if (r.validate !== undefined) this.#routes.set(validatePath(r.singular), { route: r, mode: "validate" });
    }
    this.#server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log("error", "webhook request failed", { path: req.url, error: String(err) });
        if (!res.headersSent) reply(res, 500, { message: "internal error" });
      });
    });
  }

  /** Swaps the serving certificate for new connections (rotation before expiry). */
  setCertificate(tls: KeyPairPem): void {
    this.#server.setSecureContext({ cert: tls.certPem, key: tls.keyPem });
  }

  listen(port = 0, host = "127.0.0.1"): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        const a = this.#server.address() as AddressInfo;
        resolve(`https://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (path === HEALTH_PATH) return reply(res, 200, { status: "ok" });
    const target = this.#routes.get(path);
    if (target === undefined) return reply(res, 404, { message: `no webhook at ${path}` });
    if (req.method !== "POST") return reply(res, 405, { message: "admission reviews are POSTed" });
    const body = (await readBody(req, MAX_BODY)).toString("utf8");
    let review: { apiVersion?: string; request?: AdmissionRequestV1 };
    try {
      review = parseJson(body) as typeof review;
    } catch {
      return reply(res, 400, { message: "the body is not JSON" });
    }
    const r = review.request;
    if (r === undefined || typeof r.uid !== "string") {
      return reply(res, 400, { message: "an AdmissionReview with a request is expected" });
    }
    const hook = target.route.hookName ?? `${target.route.singular}.${GROUP}`;
    const response = await this.#decide(target.route, target.mode, r, hook);
    reply(res, 200, { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  }

  async #warnings(route: WebhookRoute, r: AdmissionRequestV1, hook: string, name: string): Promise<string[]> {
    if (route.warn === undefined) return [];
    try {
      const w = await route.warn(r);
      if (w.length > 0) this.#log("info", "warned", { webhook: hook, operation: r.operation, name, warnings: w });
      return w;
    } catch (err) {
      this.#log("warn", "webhook warnings not computed", { webhook: hook, name, error: String(err) });
      return [];
    }
  }

  async #decide(
    route: WebhookRoute,
    mode: "mutate" | "validate",
    r: AdmissionRequestV1,
    hook: string,
  ): Promise<Record<string, unknown>> {
    const name = r.name ?? String((r.object?.["metadata"] as { name?: string } | undefined)?.name ?? "");
    try {
      if (mode === "mutate") {
        const before = r.object ?? undefined;
        const after = before === undefined ? undefined : await route.mutate?.(r);
        const ops = before !== undefined && after !== undefined ? patchFor(before, after) : [];
        this.counters.inc(hook, ops.length > 0 ? "patched" : "allowed");
        if (ops.length === 0) return { uid: r.uid, allowed: true };
        this.#log("info", "defaulted", { webhook: hook, operation: r.operation, name, fields: ops.length });
        return {
          uid: r.uid,
          allowed: true,
          patchType: "JSONPatch",
          patch: Buffer.from(stringifyJson(ops)).toString("base64"),
        };
      }
      const verdict = await route.validate?.(r);
      if (verdict === undefined) {
        this.counters.inc(hook, "allowed");
        const warnings = await this.#warnings(route, r, hook, name);
        return warnings.length > 0 ? { uid: r.uid, allowed: true, warnings } : { uid: r.uid, allowed: true };
      }
      this.counters.inc(hook, "denied");
      this.#log("info", "denied", {
        webhook: hook,
        operation: r.operation,
        name,
        field: verdict.field,
        reason: verdict.detail,
      });
      return { uid: r.uid, allowed: false, status: toStatus(verdict, route.kind, GROUP, name) };
    } catch (err) {
      if (err instanceof AdmissionDenied) {
        this.counters.inc(hook, "denied");
        this.#log("info", "denied", { webhook: hook, operation: r.operation, name, reason: err.message });
        return { uid: r.uid, allowed: false, status: { code: 403, reason: "Forbidden", message: err.message } };
      }
      // A handler that cannot decide (API server unreachable) must not let the request
      // through unchecked: the configuration's failurePolicy is Fail, and so is this.
      this.counters.inc(hook, "error");
      this.#log("error", "webhook handler failed", { webhook: hook, name, error: String(err) });
      return {
        uid: r.uid,
        allowed: false,
        status: { code: 500, reason: "InternalError", message: `${hook}: ${(err as Error).message}` },
      };
    }
  }
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  const text = stringifyJson(body);
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
