/**
 * The embedded Kubernetes-compatible API server: HTTP (or HTTPS when given a certificate)
 * routing to discovery (discovery.ts), OpenAPI, the REST verbs of registry.ts, watches,
 * Table and metadata answers, with authentication and RBAC in front (auth/) and knobs for
 * tests and benchmarks (test-controls.ts). For tests, benchmarks and the sandbox only:
 * never a production store.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { stringify } from "yaml";
import { stringifyJson } from "../api/int64.ts";
import {
  badRequest,
  HttpError,
  internal,
  methodNotAllowed,
  pathNotFound,
  unsupportedMediaType,
} from "./http-errors.ts";
import { Registry, type DeleteOptions, type WriteOptions } from "./registry.ts";
import { groupVersion, type ServedResource } from "./resources.ts";
import { generateCA, issueServingCert } from "../pki/certs.ts";
import { WebhookAdmitter } from "./admission.ts";
import { buildOpenApiV3, type OpenApiIndex } from "./openapi.ts";
import { toTable, type IncludeObject } from "./table.ts";
import {
  answerForm,
  asMetadata,
  asMetadataList,
  METADATA_LIST_TYPE,
  METADATA_TYPE,
  TABLE_TYPE,
} from "./negotiation.ts";
import { RequestMetrics, requestLabels } from "./request-metrics.ts";
import { readJson, readObject } from "./request-body.ts";
import { VERSION_INFO, type ServerOptions } from "./server-options.ts";
import { control, Faults, type Controlled, type Fault, type Verb } from "./test-controls.ts";
import { apiGroups, apiVersions, resourceList } from "./discovery.ts";
import type { Obj } from "./store.ts";
import { hasScale, scaleOf } from "./scale.ts";
import { AccessGate, verbOf } from "./auth/gate.ts";
import { tokenRequest } from "./auth/token-request.ts";
import { ACCESS_REVIEW_PATH, accessReview } from "./auth/access-review.ts";
import { serialized, serveWatch, type ActiveWatch } from "./watch.ts";

export type { Fault, Verb } from "./test-controls.ts";
export type { ServerOptions } from "./server-options.ts";

function send(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : stringifyJson(body);
  res.writeHead(code, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Whether a path names a resource (or a collection) rather than discovery, OpenAPI or the like. */
function isResourcePath(path: string): boolean {
  const segs = path.split("/").filter((x) => x !== "");
  return (segs[0] === "api" && segs.length >= 3) || (segs[0] === "apis" && segs.length >= 4);
}

interface Route {
  resource: ServedResource;
  namespace: string;
  name: string;
  subresource: string;
}

export class EmbeddedApiServer {
  readonly registry: Registry;
  readonly requestMetrics = new RequestMetrics();
  readonly #opts: ServerOptions;
  readonly #server: Server;
  readonly #watches = new Set<ActiveWatch>();
  readonly #faults = new Faults();
  #url = "";
  #openapi: OpenApiIndex | undefined;
  /** The CA of a generated serving certificate. */
  readonly caPem: string | undefined;
  readonly #gate: AccessGate;

  constructor(opts: ServerOptions = {}) {
    this.#opts = opts;
    this.registry = new Registry(opts);
    this.registry.admitter = new WebhookAdmitter(this.registry.store);
    this.#gate = new AccessGate(this.registry.store, opts.auth === true);
    this.registry.onResourcesChanged = () => {
      this.#openapi = undefined;
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    let tls = opts.tls === "generate" ? undefined : opts.tls;
    if (opts.tls === "generate") {
      const ca = generateCA("spiderpool-embedded-apiserver-ca");
      const serving = issueServingCert(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] });
      tls = { cert: serving.certPem, key: serving.keyPem };
      this.caPem = ca.certPem;
    }
    this.#server =
      tls !== undefined ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Listens (loopback by default) and returns the base URL. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const addr = this.#server.address() as AddressInfo;
    const h = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    this.#url = `${this.#opts.tls !== undefined ? "https" : "http"}://${h}:${addr.port}`;
    return this.#url;
  }

  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    for (const w of [...this.#watches]) w.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The admin kubeconfig's bearer token (full rights, also with authentication on). */
  get adminToken(): string {
    return this.#gate.adminToken;
  }

  /** A kubeconfig for this server (HTTPS: with the given CA), with the admin's token or another. */
  kubeconfig(caPem = this.caPem, token = this.#gate.adminToken): string {
    const cluster: Record<string, unknown> = { server: this.#url };
    if (caPem !== undefined) cluster["certificate-authority-data"] = Buffer.from(caPem).toString("base64");
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "embedded", cluster }],
      users: [{ name: "embedded", user: { token } }],
      contexts: [{ name: "embedded", context: { cluster: "embedded", user: "embedded", namespace: "default" } }],
      "current-context": "embedded",
    });
  }

  // ---- knobs ------------------------------------------------------------------------------

  injectFault(f: Fault): void {
    this.#faults.inject(f);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  setWriteLatency(ms: number): void {
    this.registry.writeLatencyMs = ms;
  }

  /** Ends open watch connections (of one resource, or all), as a network cut would. */
  dropWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.#watches]) {
      if (resource === undefined || w.resource === resource || w.resource.startsWith(`${resource}.`)) {
        w.close();
        n++;
      }
    }
    return n;
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  // ---- HTTP -------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://embedded");
    try {
      await this.#route(req, res, url);
    } catch (err) {
      const e = err instanceof HttpError ? err : internal(`internal error: ${(err as Error)?.message ?? String(err)}`);
      if (!res.headersSent) send(res, e.status.code, e.status);
      else res.end();
    }
    const labels = requestLabels(req.method ?? "", url.pathname, url.searchParams, res.statusCode);
    if (labels !== undefined) this.requestMetrics.observe(labels);
    this.#opts.onRequest?.({
      method: req.method ?? "",
      path: url.pathname,
      status: res.statusCode,
      ms: performance.now() - started,
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    if (path === "/healthz" || path === "/readyz" || path === "/livez") return send(res, 200, "ok", "text/plain");
    if (path === "/version") return send(res, 200, VERSION_INFO);
    const user = this.#gate.user(req.headers.authorization);
    if (path.startsWith("/_embedded/")) {
      this.#gate.checkAdmin(user, path);
      return this.#control(req, res, path);
    }
    // Resource requests are authorized once their route is resolved, below.
    if (!isResourcePath(path)) this.#gate.checkPath(user, method, path);
    if (path === "/metrics") return send(res, 200, this.requestMetrics.render(), "text/plain; version=0.0.4");
    if (path === ACCESS_REVIEW_PATH && method === "POST") {
      return send(
        res,
        201,
        accessReview(user, await readObject(req), (a) => this.#gate.allows(a)),
      );
    }
    if (path === "/openapi/v2") {
      // Only the protobuf form of v2 is useful to kubectl, and v3 answers what it needs.
      throw pathNotFound(path);
    }
    if (path === "/openapi/v3" || path.startsWith("/openapi/v3/")) {
      this.#openapi ??= buildOpenApiV3(this.registry.all());
      if (path === "/openapi/v3") return send(res, 200, this.#openapi.index);
      const doc = this.#openapi.documents.get(path.slice("/openapi/v3/".length));
      if (doc === undefined) throw pathNotFound(path);
      return send(res, 200, doc);
    }
    if (path === "/api") return send(res, 200, apiVersions(req.headers.host ?? ""));
    if (path === "/apis") {
      return send(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: apiGroups(this.registry.all()) });
    }
    const segs = path
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === "api" && segs.length >= 2) {
      group = "";
      version = segs[1] as string;
      rest = segs.slice(2);
    } else if (segs[0] === "apis" && segs.length >= 2) {
      group = segs[1] as string;
      if (segs.length === 2) {
        const g = apiGroups(this.registry.all()).find((x) => x.name === group);
        if (g === undefined) throw pathNotFound(path);
        return send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...g });
      }
      version = segs[2] as string;
      rest = segs.slice(3);
    } else {
      throw pathNotFound(path);
    }
    if (rest.length === 0) {
      const list = resourceList(this.registry.all(), group, version);
      if (list === undefined) throw pathNotFound(path);
      return send(res, 200, list);
    }
    let watchPath = false;
    if (rest[0] === "watch") {
      watchPath = true;
      rest = rest.slice(1);
    }
    const route = this.#resolve(group, version, rest, path);
    const q = url.searchParams;
    const isWatch = watchPath || q.get("watch") === "true" || q.get("watch") === "1";
    this.#gate.checkResource(user, verbOf(method, route.name !== "", isWatch), route, path);
    switch (method) {
      case "GET":
        if (isWatch) return this.#watch(req, res, route, q);
        if (route.name === "") return this.#list(req, res, route, q);
        return this.#get(req, res, route);
      case "POST":
        if (route.subresource === "token" && route.resource.group === "" && route.resource.plural === "serviceaccounts")
          return this.#createToken(req, res, route);
        // A subresource this server lacks (a kind it does not serve, read as one) is 404, as in kube-apiserver.
        if (route.subresource !== "") throw pathNotFound(path);
        if (route.name !== "") throw methodNotAllowed(`POST is not allowed on ${path}`);
        return this.#create(req, res, route, q);
      case "PUT":
        if (route.name === "") throw methodNotAllowed(`PUT is not allowed on a collection`);
        return this.#update(req, res, route, q);
      case "PATCH":
        if (route.name === "") throw methodNotAllowed(`PATCH is not allowed on a collection`);
        return this.#patch(req, res, route, q);
      case "DELETE":
        return this.#delete(req, res, route, q);
      default:
        throw methodNotAllowed(`${method} is not supported`);
    }
  }

  async #createToken(req: IncomingMessage, res: ServerResponse, r: Route): Promise<void> {
    const sa = this.registry.get(r.resource, r.namespace, r.name);
    send(res, 201, tokenRequest(this.#gate.issuer, sa, await readObject(req)));
  }

  #resolve(group: string, version: string, rest: string[], path: string): Route {
    let namespace = "";
    let parts = rest;
    if (parts[0] === "namespaces" && parts.length >= 3) {
      const r = this.registry.find(group, version, parts[2] as string);
      if (r !== undefined && r.namespaced) {
        namespace = parts[1] as string;
        parts = parts.slice(2);
      }
    }
    const resource = this.registry.find(group, version, parts[0] as string);
    if (resource === undefined) throw pathNotFound(path);
    if (parts.length > 3) throw pathNotFound(path);
    return { resource, namespace, name: parts[1] ?? "", subresource: parts[2] ?? "" };
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

  #get(req: IncomingMessage, res: ServerResponse, r: Route): void {
    this.#fault("get", r.resource);
    if (r.subresource === "scale" && hasScale(r.resource)) {
      return send(res, 200, scaleOf(this.registry.get(r.resource, r.namespace, r.name)));
    }
    if (r.subresource !== "" && !(r.subresource === "status" && r.resource.statusSubresource)) {
      throw pathNotFound(`${r.resource.plural}/${r.name}/${r.subresource}`);
    }
    this.#sendObject(req, res, 200, this.registry.get(r.resource, r.namespace, r.name), r);
  }

  #checkResourceVersion(q: URLSearchParams): void {
    const rv = q.get("resourceVersion");
    if (rv !== null && rv !== "" && !/^[0-9]+$/.test(rv)) {
      throw badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
    }
  }

  #list(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    this.#fault("list", r.resource);
    this.#checkResourceVersion(q);
    const limit = Number(q.get("limit") ?? "0");
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit must be a non-negative integer`);
    const page = this.registry.list(r.resource, r.namespace, {
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
    send(res, 200, `${head.slice(0, -1)},"items":[${page.items.map(serialized).join(",")}]}`);
  }

  #watch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    this.#fault("watch", r.resource);
    this.#checkResourceVersion(q);
    const [labels, fields] = this.registry.selectors(q.get("labelSelector"), q.get("fieldSelector"), r.resource);
    if (r.name !== "") fields.push(...this.registry.selectors(null, `metadata.name=${r.name}`, r.resource)[1]);
    const timeout = Number(q.get("timeoutSeconds") ?? this.#opts.defaultWatchTimeoutSeconds ?? 1800);
    serveWatch(
      this.registry.store,
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

  async #create(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    this.#fault("create", r.resource);
    const body = await readObject(req);
    const out = await this.registry.create(r.resource, r.namespace, body, this.#writeOptions(q));
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.object, r);
  }

  async #update(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
    this.#fault("update", r.resource);
    const body = await readObject(req);
    const out = await this.registry.update(r.resource, r.namespace, r.name, body, r.subresource, this.#writeOptions(q));
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.object, r);
  }

  async #patch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
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
    const out = await this.registry.patch(
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

  async #delete(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): Promise<void> {
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
      const page = this.registry.list(r.resource, r.namespace, {
        labelSelector: q.get("labelSelector"),
        fieldSelector: q.get("fieldSelector"),
        limit: 0,
        continue: null,
      });
      const items = [];
      for (const o of page.items) {
        try {
          const out = await this.registry.delete(r.resource, o.metadata.namespace ?? "", o.metadata.name ?? "", opts);
          items.push(out.object);
        } catch (err) {
          if (!(err instanceof HttpError && err.status.code === 404)) throw err;
        }
      }
      return send(res, 200, { kind: r.resource.listKind, apiVersion: groupVersion(r.resource), metadata: {}, items });
    }
    this.#fault("delete", r.resource);
    const out = await this.registry.delete(r.resource, r.namespace, r.name, opts);
    this.#sendWarnings(res, out.warnings);
    this.#sendObject(req, res, out.code, out.status ?? out.object, r);
  }

  /** Test controls over HTTP, for servers run as a separate process (spiderpoolctl apiserver). */
  async #control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== "POST") throw methodNotAllowed("control endpoints take POST");
    const body = ((await readJson(req)) ?? {}) as Record<string, unknown>;
    const registry = this.registry;
    const target: Controlled = {
      injectFault: (f) => this.injectFault(f),
      clearFaults: () => this.clearFaults(),
      setWriteLatency: (ms) => this.setWriteLatency(ms),
      dropWatches: (resource) => this.dropWatches(resource),
      compact: () => registry.store.compact(),
      setPodDeletion: (mode) => (registry.podDeletion = mode),
      finishPodDeletion: (ns, name) => registry.finishPodDeletion(ns, name),
    };
    send(res, 200, control(target, path, body));
  }
}
