/**
 * The REST verbs on a resolved resource path, after the server (server.ts) has routed and
 * authorized the request: get, list, watch, create, update, patch, delete (and
 * deletecollection) through registry.ts, and a ServiceAccount's TokenRequest; each answers in
 * the form the request accepts (object, Table, metadata, the scale subresource).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, HttpError, pathNotFound, unsupportedMediaType } from "./http-errors.ts";
import type { Registry, DeleteOptions, WriteOptions } from "./registry.ts";
import { groupVersion, type ServedResource } from "./resources.ts";
import { toTable, type IncludeObject } from "./table.ts";
import {
  answerForm,
  asMetadata,
  asMetadataList,
  METADATA_LIST_TYPE,
  METADATA_TYPE,
  TABLE_TYPE,
} from "./negotiation.ts";
import { readJson, readObject } from "./request-body.ts";
import { send } from "./response.ts";
import type { ServerOptions } from "./server-options.ts";
import type { Faults, Verb } from "./test-controls.ts";
import type { Obj } from "./store.ts";
import { hasScale, scaleOf } from "./scale.ts";
import type { AccessGate } from "./auth/gate.ts";
import { tokenRequest } from "./auth/token-request.ts";
import { serialized, serveWatch, type ActiveWatch } from "./watch.ts";

const COMMA = Buffer.from(",");
const LIST_END = Buffer.from("]}");

export interface Route {
  resource: ServedResource;
  namespace: string;
  name: string;
  subresource: string;
}

export class ResourceVerbs {
  readonly #registry: Registry;
  readonly #faults: Faults;
  readonly #opts: ServerOptions;
  readonly #watches: Set<ActiveWatch>;
  readonly #gate: AccessGate;

  constructor(registry: Registry, faults: Faults, opts: ServerOptions, watches: Set<ActiveWatch>, gate: AccessGate) {
    this.#registry = registry;
    this.#faults = faults;
    this.#opts = opts;
    this.#watches = watches;
    this.#gate = gate;
  }

  async createToken(req: IncomingMessage, res: ServerResponse, r: Route): Promise<void> {
    const sa = this.#registry.get(r.resource, r.namespace, r.name);
    send(res, 201, tokenRequest(this.#gate.issuer, sa, await readObject(req)));
  }

  #fault(verb: Verb, r: ServedResource): void {
    this.#faults.check(verb, r.plural);
  }

  #sendWarnings(res: ServerResponse, warnings: string[]): void {
    if (warnings.length > 0)
      res.setHeader(
        "warning",
        warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
  }

  /** Sends a stored object in the form the request accepts; a Status is sent as it is. */
  #sendObject(req: IncomingMessage, res: ServerResponse, code: number, obj: unknown, r: Route): void {
    const o = obj as { kind?: string; metadata?: { resourceVersion?: string } };
    if (r.subresource === "scale" && o.kind !== "Status") return send(res, code, scaleOf(obj as Obj));
    const form = o.kind === "Status" ? "object" : answerForm(req.headers.accept, false);
    if (form === "metadata") return send(res, code, asMetadata(o as { metadata: unknown }), METADATA_TYPE);
    if (form === "table") {
      return send(
        res,
        code,
        toTable(r.resource, [obj as never], "Object", { resourceVersion: o.metadata?.resourceVersion }),
        TABLE_TYPE,
      );
    }
    send(res, code, typeof obj === "object" && obj !== null && "metadata" in obj ? serialized(obj as never) : obj);
  }

  get(req: IncomingMessage, res: ServerResponse, r: Route): void {
    this.#fault("get", r.resource);
    if (r.subresource === "scale" && hasScale(r.resource)) {
      return send(res, 200, scaleOf(this.#registry.get(r.resource, r.namespace, r.name)));
    }
    if (r.subresource !== "" && !(r.subresource === "status" && r.resource.statusSubresource)) {
      throw pathNotFound(`${r.resource.plural}/${r.name}/${r.subresource}`);
    }
    this.#sendObject(req, res, 200, this.#registry.get(r.resource, r.namespace, r.name), r);
  }

  #checkResourceVersion(q: URLSearchParams): void {
    const rv = q.get("resourceVersion");
    if (rv !== null && rv !== "" && !/^[0-9]+$/.test(rv)) {
      throw badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
    }
  }

  list(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    this.#fault("list", r.resource);
    this.#checkResourceVersion(q);
    const limit = Number(q.get("limit") ?? "0");
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit must be a non-negative integer`);
    const page = this.#registry.list(r.resource, r.namespace, {
      labelSelector: q.get("labelSelector"),
      fieldSelector: q.get("fieldSelector"),
      limit,
      continue: q.get("continue"),
    });
    const meta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continue !== undefined) meta["continue"] = page.continue;
    if (page.remainingItemCount !== undefined) meta["remainingItemCount"] = page.remainingItemCount;
    const form = answerForm(req.headers.accept, true);
    if (form === "table") {
      const include = (q.get("includeObject") ?? "Metadata") as IncludeObject;
      return send(res, 200, toTable(r.resource, page.items, include, meta), TABLE_TYPE);
    }
    if (form === "metadata") return send(res, 200, asMetadataList(meta, page.items), METADATA_LIST_TYPE);
    // Items are stored objects whose JSON is cached; splice it in rather than re-serialising.
    const head = JSON.stringify({ kind: r.resource.listKind, apiVersion: groupVersion(r.resource), metadata: meta });
    const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"items":[`)];
    page.items.forEach((o, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(serialized(o));
    });
    parts.push(LIST_END);
    send(res, 200, Buffer.concat(parts));
  }

  watch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    this.#fault("watch", r.resource);
    this.#checkResourceVersion(q);
    const [labels, fields] = this.#registry.selectors(q.get("labelSelector"), q.get("fieldSelector"), r.resource);
    if (r.name !== "") fields.push(...this.#registry.selectors(null, `metadata.name=${r.name}`, r.resource)[1]);
    const timeout = Number(q.get("timeoutSeconds") ?? this.#opts.defaultWatchTimeoutSeconds ?? 1800);
    serveWatch(
      this.#registry.store,
      res,
      {
        resource: r.resource,
        namespace: r.resource.namespaced ? r.namespace : undefined,
        labels,
        fields,
        resourceVersion: q.get("resourceVersion") ?? undefined,
        bookmarks: q.get("allowWatchBookmarks") === "true",
        timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : 1800,
        bookmarkIntervalMs: this.#opts.bookmarkIntervalMs ?? 1000,
        form: answerForm(req.headers.accept, false),
        ...(this.#opts.watchBufferBytes !== undefined ? { maxBufferedBytes: this.#opts.watchBufferBytes } : {}),
      },
      this.#watches,
    );
    req.socket.setTimeout(0);
  }

  #writeOptions(q: URLSearchParams): WriteOptions {
    const o: WriteOptions = {};
    if (q.get("dryRun") === "All") o.dryRun = true;
    const fv = q.get("fieldValidation");
    if (fv === "Ignore" || fv === "Warn" || fv === "Strict") o.fieldValidation = fv;
    return o;
  }

  async create(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    this.#fault("create", r.resource);
    const body = await readObject(req);
    const out = await this.#registry.create(r.resource, r.namespace, body, this.#writeOptions(q));
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.object, r);
  }

  async update(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    this.#fault("update", r.resource);
    const body = await readObject(req, (raw) =>
      this.#registry.precheckUpdate(r.resource, r.namespace, r.name, r.subresource, raw),
    );
    const out = await this.#registry.update(
      r.resource,
      r.namespace,
      r.name,
      body,
      r.subresource,
      this.#writeOptions(q),
    );
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.object, r);
  }

  async patch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    this.#fault("patch", r.resource);
    const ct = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    if (
      ![
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
      ].includes(ct)
    ) {
      throw unsupportedMediaType(ct);
    }
    const body = await readJson(req);
    const out = await this.#registry.patch(
      r.resource,
      r.namespace,
      r.name,
      ct,
      body,
      r.subresource,
      this.#writeOptions(q),
    );
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.object, r);
  }

  async delete(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    const body = (await readJson(req)) as (Omit<DeleteOptions, "dryRun"> & { dryRun?: string[] }) | undefined;
    const opts: DeleteOptions = {};
    const pol = body?.propagationPolicy ?? q.get("propagationPolicy") ?? undefined;
    if (pol !== undefined) {
      if (pol !== "Orphan" && pol !== "Background" && pol !== "Foreground")
        throw badRequest(`unknown propagationPolicy ${pol}`);
      opts.propagationPolicy = pol;
    }
    const grace =
      body?.gracePeriodSeconds ??
      (q.get("gracePeriodSeconds") !== null ? Number(q.get("gracePeriodSeconds")) : undefined);
    if (grace !== undefined) opts.gracePeriodSeconds = grace;
    if (body?.preconditions !== undefined) opts.preconditions = body.preconditions;
    if ((body?.dryRun ?? []).includes("All") || q.get("dryRun") === "All") opts.dryRun = true;
    if (r.name === "") {
      this.#fault("deletecollection", r.resource);
      const page = this.#registry.list(r.resource, r.namespace, {
        labelSelector: q.get("labelSelector"),
        fieldSelector: q.get("fieldSelector"),
        limit: 0,
        continue: null,
      });
      const items = [];
      for (const o of page.items) {
        try {
          const out = await this.#registry.delete(r.resource, o.metadata.namespace ?? "", o.metadata.name ?? "", opts);
          items.push(out.object);
        } catch (err) {
          if (!(err instanceof HttpError && err.status.code === 404)) throw err;
        }
      }
      return send(res, 200, { kind: r.resource.listKind, apiVersion: groupVersion(r.resource), metadata: {}, items });
    }
    this.#fault("delete", r.resource);
    const out = await this.#registry.delete(r.resource, r.namespace, r.name, opts);
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.status ?? out.object, r);
  }
}
