/**
 * The embedded Kubernetes-compatible API server: HTTP (or HTTPS when given a certificate)
 * routing to discovery (discovery.ts), OpenAPI, and the REST verbs on resources
 * (resource-verbs.ts: registry.ts's verbs, watches, Table and metadata answers), with
 * authentication and RBAC in front (auth/) and knobs for tests and benchmarks
 * (test-controls.ts). For tests, benchmarks and the sandbox only: never a production store.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { stringify } from "yaml";
import { HttpError, internal, methodNotAllowed, pathNotFound } from "./http-errors.ts";
import { Registry } from "./registry.ts";
import { generateCA, issueServingCert } from "../pki/certs.ts";
import { WebhookAdmitter } from "./admission.ts";
import { buildOpenApiV3, type OpenApiIndex } from "./openapi.ts";
import { RequestMetrics, requestLabels } from "./request-metrics.ts";
import { readJson, readObject } from "./request-body.ts";
import { ResourceVerbs, type Route } from "./resource-verbs.ts";
import { send } from "./response.ts";
import { VERSION_INFO, type ServerOptions } from "./server-options.ts";
import { control, Faults, type Controlled, type Fault } from "./test-controls.ts";
import { apiGroups, apiVersions, resourceList } from "./discovery.ts";
import { AccessGate, verbOf } from "./auth/gate.ts";
import { ACCESS_REVIEW_PATH, accessReview } from "./auth/access-review.ts";
import type { ActiveWatch } from "./watch.ts";

export type { Fault, Verb } from "./test-controls.ts";
export type { ServerOptions } from "./server-options.ts";

/** Whether a path names a resource (or a collection) rather than discovery, OpenAPI or the like. */
function isResourcePath(path: string): boolean {
  const segs = path.split("/").filter((x) => x !== "");
  return (segs[0] === "api" && segs.length >= 3) || (segs[0] === "apis" && segs.length >= 4);
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
  readonly #verbs: ResourceVerbs;

  constructor(opts: ServerOptions = {}) {
    this.#opts = opts;
    this.registry = new Registry(opts);
    this.registry.admitter = new WebhookAdmitter(this.registry.store);
    this.#gate = new AccessGate(this.registry.store, opts.auth === true);
    this.#verbs = new ResourceVerbs(this.registry, this.#faults, opts, this.#watches, this.#gate);
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
        if (isWatch) return this.#verbs.watch(req, res, route, q);
        if (route.name === "") return this.#verbs.list(req, res, route, q);
        return this.#verbs.get(req, res, route);
      case "POST":
        if (route.subresource === "token" && route.resource.group === "" && route.resource.plural === "serviceaccounts")
          return this.#verbs.createToken(req, res, route);
        // A subresource this server lacks (a kind it does not serve, read as one) is 404, as in kube-apiserver.
        if (route.subresource !== "") throw pathNotFound(path);
        if (route.name !== "") throw methodNotAllowed(`POST is not allowed on ${path}`);
        return this.#verbs.create(req, res, route, q);
      case "PUT":
        if (route.name === "") throw methodNotAllowed(`PUT is not allowed on a collection`);
        return this.#verbs.update(req, res, route, q);
      case "PATCH":
        if (route.name === "") throw methodNotAllowed(`PATCH is not allowed on a collection`);
        return this.#verbs.patch(req, res, route, q);
      case "DELETE":
        return this.#verbs.delete(req, res, route, q);
      default:
        throw methodNotAllowed(`${method} is not supported`);
    }
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
