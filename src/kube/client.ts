/**
 * A thin Kubernetes API client on Node's http: one keep-alive pool for requests and one for
 * long-lived watches, JSON in and out, every failure an {@link ApiError} or a
 * {@link TransportError}. Why not @kubernetes/client-node: it opens a connection per request
 * and its informer stops on errors (ecosystem.md §1).
 */
import { parseJson, stringifyJson } from "../api/int64.ts";
import { TokenSource, type ClusterConfig } from "./config.ts";
import { ApiError, KubeConfigError, TransportError } from "./errors.ts";
import { collectionPath, objectPath, type ResourceType } from "./resources.ts";
import type { Status } from "./status.ts";
import { memberJsonIn } from "./json-scan.ts";
import type { StringDeltas } from "./string-deltas.ts";
import { joined, lines, Transport, type Answer, type StreamAnswer } from "./transport.ts";

/** An answer of only the object's metadata, else the object (Kubernetes' content negotiation). */
const METADATA_ANSWER = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What the client needs of any object: its identity in metadata. Typed kinds fit it without an index signature. */
export interface AnyObject {
  metadata?: {
    name?: string | undefined;
    namespace?: string | undefined;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
  };
}

export interface ListOptions {
  signal?: AbortSignal;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: "Ignore" | "Warn" | "Strict";
}

export interface DeleteOptions {
  namespace?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
  /**
   * An object this process already holds at the version a MODIFIED event names (its own
   * write coming back): that event is not decoded past its metadata, and the held object
   * stands for it. A promise holds the stream until it settles: the event of a write may
   * arrive before the write's own answer.
   */
  known?: (meta: ObjectMetaLike) => AnyObject | Promise<AnyObject | undefined> | undefined;
  /** Decodes events whose one big string member changes little per version (a pool's records). */
  deltas?: StringDeltas;
  /** The Accept header; `METADATA_WATCH` asks for each event's object as a PartialObjectMetadata. */
  accept?: string;
}

/** Accept for a metadata-only watch (kube-apiserver ≥ 1.15), JSON objects as the fallback. */
export const METADATA_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";

/** The metadata of an object as the client reads it. */
export type ObjectMetaLike = NonNullable<KubeObject["metadata"]>;

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T | Status;
}

export interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** One completed request, for metrics and logs. */
export interface RequestRecord {
  method: string;
  path: string;
  /** The answer's HTTP status; 0 when none came (refused, reset, timed out). */
  status: number;
  durationMs: number;
}

export interface ClientOptions {
  /** Connections in the request pool (default 16). */
  connections?: number;
  /** Per-request timeout for non-watch calls (default 30 s). */
  timeoutMs?: number;
  userAgent?: string;
  onRequest?: (r: RequestRecord) => void;
  onWarning?: (warning: string, r: { method: string; path: string }) => void;
}

type Query = Record<string, string | number | boolean | undefined>;

function queryString(q: Query | undefined): string {
  if (q === undefined) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === "") continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return parseJson(text);
  } catch {
    return text;
  }
}

function nsOf(obj: AnyObject, explicit?: string): string | undefined {
  return explicit ?? obj.metadata?.namespace;
}

function nameOf(obj: AnyObject): string {
  const name = obj.metadata?.name;
  if (name === undefined || name === "") throw new TypeError("object has no metadata.name");
  return name;
}

export class KubeClient {
  readonly config: ClusterConfig;
  readonly #transport: Transport;
  readonly #tokens: TokenSource;
  readonly #options: ClientOptions;
  readonly #basePath: string;
  readonly #discovered = new Map<string, Promise<ResourceType | undefined>>();

  constructor(config: ClusterConfig, options: ClientOptions = {}) {
    this.config = config;
    this.#options = options;
    this.#tokens = new TokenSource(config);
    const url = new URL(config.server);
    this.#basePath = url.pathname.replace(/\/+$/, "");
    if (config.insecureSkipTLSVerify === true && !isLoopbackHost(url.hostname)) {
      throw new KubeConfigError(`insecure-skip-tls-verify is honoured only for loopback servers, not ${url.hostname}`);
    }
    this.#transport = new Transport(url, options.connections ?? 16, {
      ...(config.ca !== undefined ? { ca: config.ca } : {}),
      ...(config.cert !== undefined ? { cert: config.cert } : {}),
      ...(config.key !== undefined ? { key: config.key } : {}),
      ...(config.tlsServerName !== undefined ? { servername: config.tlsServerName } : {}),
      rejectUnauthorized: config.insecureSkipTLSVerify !== true,
    });
  }

  /** Closes every connection; in-flight requests and watches end. */
  close(): Promise<void> {
    this.#transport.close();
    return Promise.resolve();
  }

  #headers(contentType?: string, accept = "application/json"): Record<string, string> {
    const h: Record<string, string> = {
      accept,
      "user-agent": this.#options.userAgent ?? "spiderpool-ts/0.1",
    };
    if (contentType !== undefined) h["content-type"] = contentType;
    const token = this.#tokens.token();
    if (token !== undefined) h["authorization"] = `Bearer ${token}`;
    return h;
  }

  /** Any request; returns the parsed JSON body of a 2xx answer, or throws. */
  async request<T = unknown>(
    method: string,
    path: string,
    opts: {
      query?: Query;
      body?: unknown;
      /** The body already encoded (JSON), in pieces sent one after another, instead of `body`. */
      rawBody?: Buffer | readonly Buffer[];
      /** Reads a 2xx answer; the whole of it is decoded by default. Errors are always decoded whole. */
      decode?: (chunks: readonly Buffer[]) => unknown;
      contentType?: string;
      accept?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<T> {
    const started = performance.now();
    let res: Answer;
    try {
      res = await this.#transport.send({
        method,
        path: `${this.#basePath}${path}${queryString(opts.query)}`,
        headers: this.#headers(
          opts.body === undefined && opts.rawBody === undefined ? undefined : (opts.contentType ?? "application/json"),
          opts.accept,
        ),
        ...(opts.rawBody !== undefined
          ? { body: opts.rawBody }
          : opts.body !== undefined
            ? { body: Buffer.from(stringifyJson(opts.body)) }
            : {}),
        timeoutMs: this.#options.timeoutMs ?? 30_000,
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      this.#options.onRequest?.({ method, path, status: 0, durationMs: performance.now() - started });
      throw new TransportError(method, path, err);
    }
    this.#options.onRequest?.({ method, path, status: res.status, durationMs: performance.now() - started });
    if (this.#options.onWarning !== undefined) this.#reportWarnings(res.values("warning"), method, path);
    if (res.status < 200 || res.status > 299) {
      const body = parseBody(joined(res.chunks).toString("utf8"));
      throw ApiError.from(method, path, res.status, body, res.values("retry-after")[0]);
    }
    if (opts.decode !== undefined) {
      try {
        return opts.decode(res.chunks) as T;
      } catch (err) {
        throw new TransportError(method, path, err);
      }
    }
    return parseBody(joined(res.chunks).toString("utf8")) as T;
  }

  #reportWarnings(h: string[] | undefined, method: string, path: string): void {
    if (h === undefined || this.#options.onWarning === undefined) return;
    for (const w of h) {
      // RFC 7234 warn-text: `299 - "text"`, with Go-style escapes inside the quotes.
      const m = /^\d{3} \S+ ("(?:[^"\\]|\\.)*")/.exec(w);
      let text = w;
      if (m?.[1] !== undefined) {
        try {
          text = JSON.parse(m[1]) as string;
        } catch {
          text = m[1].slice(1, -1);
        }
      }
      this.#options.onWarning(text, { method, path });
    }
  }

  get<T extends AnyObject = KubeObject>(rt: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.request<T>("GET", objectPath(rt, name, namespace));
  }

  list<T extends AnyObject = KubeObject>(rt: ResourceType, opts: ListOptions = {}): Promise<ListResult<T>> {
    return this.request<ListResult<T>>("GET", collectionPath(rt, opts.namespace), {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
    });
  }

  /**
   * The resource serving `kind` in `apiVersion`, by discovery (cached per group version for
   * the client's life; a failed lookup is forgotten so it is asked again). Undefined when
   * the group version exists but has no such kind; a missing group version is a 404.
   */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const key = `${apiVersion}\u0000${kind}`;
    let found = this.#discovered.get(key);
    if (found === undefined) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      found = this.request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>(
        "GET",
        path,
      ).then((list) => {
        const r = (list.resources ?? []).find((x) => x.kind === kind && !x.name.includes("/"));
        if (r === undefined) return undefined;
        const i = apiVersion.indexOf("/");
        return {
          group: i < 0 ? "" : apiVersion.slice(0, i),
          version: i < 0 ? apiVersion : apiVersion.slice(i + 1),
          plural: r.name,
          kind,
          namespaced: r.namespaced,
        };
      });
      found.catch(() => this.#discovered.delete(key));
      this.#discovered.set(key, found);
    }
    return found;
  }

  /** Lists every page (`limit` per request) and returns all items with the first page's resourceVersion. */
  async listAll<T extends AnyObject = KubeObject>(rt: ResourceType, opts: ListOptions = {}): Promise<ListResult<T>> {
    const first = await this.list<T>(rt, { ...opts, limit: opts.limit ?? 500 });
    const items = [...first.items];
    let cont = first.metadata.continue;
    while (cont !== undefined && cont !== "") {
      const page = await this.list<T>(rt, { ...opts, limit: opts.limit ?? 500, continue: cont });
      items.push(...page.items);
      cont = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  create<T extends AnyObject = KubeObject>(
    rt: ResourceType,
    obj: T,
    opts: WriteOptions & { namespace?: string } = {},
  ): Promise<T> {
    return this.request<T>("POST", collectionPath(rt, nsOf(obj, opts.namespace)), {
      body: obj,
      query: writeQuery(opts),
    });
  }

  /** PUT; the object's metadata.resourceVersion is the precondition (409 Conflict when stale). */
  update<T extends AnyObject = KubeObject>(rt: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>("PUT", objectPath(rt, nameOf(obj), nsOf(obj)), { body: obj, query: writeQuery(opts) });
  }

  /** PUT to the status subresource; only `status` changes. */
  updateStatus<T extends AnyObject = KubeObject>(rt: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>("PUT", objectPath(rt, nameOf(obj), nsOf(obj), "status"), {
      body: obj,
      query: writeQuery(opts),
    });
  }

  /**
   * PUT to the status subresource of a body the caller encoded, reading only the metadata
   * of the answer. For a writer that already holds what it sent: the answer would repeat the
   * whole object, and a pool's status can be half a megabyte. So the answer is asked for as
   * a PartialObjectMetadata, which an API server sends for any write since Kubernetes 1.15;
   * one that sends the object instead (the fallback listed) is read for its metadata all the same.
   */
  updateStatusEncoded(
    rt: ResourceType,
    name: string,
    namespace: string | undefined,
    body: readonly Buffer[],
  ): Promise<ObjectMetaLike> {
    return this.request<ObjectMetaLike>("PUT", objectPath(rt, name, namespace, "status"), {
      rawBody: body,
      accept: METADATA_ANSWER,
      decode: (chunks) => {
        const meta = memberJsonIn(chunks, ["metadata"]);
        if (typeof meta !== "object" || meta === null) throw new SyntaxError("the answer has no metadata");
        return meta;
      },
    });
  }

  /** RFC 7386 merge patch. Include metadata.resourceVersion in the patch to make it conditional. */
  patchMerge<T extends AnyObject = KubeObject>(
    rt: ResourceType,
    name: string,
    patch: unknown,
    opts: WriteOptions & { namespace?: string; subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>("PATCH", objectPath(rt, name, opts.namespace, opts.subresource), {
      body: patch,
      contentType: "application/merge-patch+json",
      query: writeQuery(opts),
    });
  }

  /** RFC 6902 JSON patch; a `test` op on /metadata/resourceVersion makes it conditional. */
  patchJson<T extends AnyObject = KubeObject>(
    rt: ResourceType,
    name: string,
    ops: JsonPatchOp[],
    opts: WriteOptions & { namespace?: string; subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>("PATCH", objectPath(rt, name, opts.namespace, opts.subresource), {
      body: ops,
      contentType: "application/json-patch+json",
      query: writeQuery(opts),
    });
  }

  /** DELETE; returns the object (deletion pending) or a Success Status (deleted). */
  delete(rt: ResourceType, name: string, opts: DeleteOptions = {}): Promise<KubeObject | Status> {
    const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
    if (opts.preconditions !== undefined) body["preconditions"] = opts.preconditions;
    if (opts.propagationPolicy !== undefined) body["propagationPolicy"] = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body["gracePeriodSeconds"] = opts.gracePeriodSeconds;
    if (opts.dryRun === true) body["dryRun"] = ["All"];
    return this.request("DELETE", objectPath(rt, name, opts.namespace), { body });
  }

  /**
   * Streams watch events until the server ends the watch (timeoutSeconds), the signal
   * aborts, or the connection fails (thrown as TransportError). A non-200 answer throws
   * ApiError; a 410 inside the stream arrives as an ERROR event with a Status.
   */
  async *watch<T extends AnyObject = KubeObject>(
    rt: ResourceType,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const path = collectionPath(rt, opts.namespace);
    const query = queryString({
      watch: "true",
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks === true ? "true" : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    });
    let res: StreamAnswer;
    try {
      res = await this.#transport.stream({
        path: `${this.#basePath}${path}${query}`,
        headers: this.#headers(undefined, opts.accept),
        headersTimeoutMs: this.#options.timeoutMs ?? 30_000,
        // The server ends the watch at timeoutSeconds; past that plus a margin the connection
        // is presumed half-open and dropped, so a caller never waits forever.
        idleMs: opts.timeoutSeconds !== undefined ? opts.timeoutSeconds * 1000 + 30_000 : 0,
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw new TransportError("WATCH", path, err);
    }
    try {
      if (res.status !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(c);
        throw ApiError.from(
          "WATCH",
          path,
          res.status,
          parseBody(Buffer.concat(chunks).toString("utf8")),
          res.values("retry-after")[0],
        );
      }
      // Records are split on bytes and decoded whole, so a character split across chunks is never cut.
      for await (const line of lines(res.body)) {
        if (opts.known !== undefined) {
          const held = await heldFor(line, opts.known);
          if (held !== undefined) {
            yield { type: "MODIFIED", object: held as T };
            continue;
          }
        }
        // Read in the pieces it came in (pieces.ts); joined only to be parsed whole.
        const ev = opts.deltas?.decode(line);
        if (ev !== undefined) {
          yield ev as WatchEvent<T>;
          continue;
        }
        const text = joined(line).toString("utf8");
        if (text.trim() !== "") yield parseJson(text) as WatchEvent<T>;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (err instanceof ApiError) throw err;
      throw new TransportError("WATCH", path, err);
    } finally {
      res.destroy();
    }
  }
}

/** The held object a MODIFIED event stands for, if the caller holds its version. */
function heldFor(
  line: readonly Buffer[],
  known: NonNullable<WatchOptions["known"]>,
): AnyObject | Promise<AnyObject | undefined> | undefined {
  let meta: unknown;
  try {
    if (memberJsonIn(line, ["type"]) !== "MODIFIED") return undefined;
    meta = memberJsonIn(line, ["object", "metadata"]);
  } catch {
    // Not JSON as far as the scan read: the full parse reports it.
    return undefined;
  }
  if (typeof meta !== "object" || meta === null) return undefined;
  return known(meta as ObjectMetaLike);
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function writeQuery(opts: WriteOptions): Query {
  return {
    dryRun: opts.dryRun === true ? "All" : undefined,
    fieldManager: opts.fieldManager,
    fieldValidation: opts.fieldValidation,
  };
}
