/**
 * One watch stream: replays history from a resourceVersion (or the current state as
 * ADDED), then streams live events, with bookmarks, a server-side timeout, label and field
 * filters (an object leaving the selection arrives as DELETED, entering as ADDED), and a
 * bound on buffered output so a slow watcher is dropped instead of slowing writers.
 */
import type { ServerResponse } from "node:http";
import type { Requirement } from "../api/selector.ts";
import { matchesRequirements } from "../api/selector.ts";
import { stringifyJson } from "../api/int64.ts";
import { matchesFields, type FieldRequirement } from "./fields.ts";
import { groupVersion, storageKey, type ServedResource } from "./resources.ts";
import type { Store, StoredEvent, StoreWatcher, Obj, EventType } from "./store.ts";
import { toTable } from "./table.ts";
import { asMetadata, METADATA_TYPE, TABLE_TYPE, type AnswerForm } from "./negotiation.ts";

export interface WatchParams {
  resource: ServedResource;
  namespace: string | undefined;
  labels: Requirement[];
  fields: FieldRequirement[];
  /** undefined or "0": start with the current state; otherwise replay after this revision. */
  resourceVersion: string | undefined;
  bookmarks: boolean;
  timeoutSeconds: number;
  bookmarkIntervalMs: number;
  /** What each event carries: the object, a Table of it, or its metadata (negotiation.ts). */
  form: AnswerForm;
  /** Output buffered beyond this many bytes closes the watch (kube drops slow watchers too). */
  maxBufferedBytes?: number;
}

const json = new WeakMap<Obj, Buffer>();

/**
 * The JSON of a stored object as UTF-8 bytes, computed once (stored objects are never
 * mutated): every watcher, read and list of that version sends the same bytes. Kept as
 * bytes rather than text because a string written to a socket is encoded anew for each
 * write, which made fan-out of a big pool to 20 agents cost 20 encodings of a megabyte.
 */
export function serialized(o: Obj): Buffer {
  let b = json.get(o);
  if (b === undefined) json.set(o, (b = Buffer.from(stringifyJson(o))));
  return b;
}

const EVENT_HEAD: Record<EventType, Buffer> = {
  ADDED: Buffer.from('{"type":"ADDED","object":'),
  MODIFIED: Buffer.from('{"type":"MODIFIED","object":'),
  DELETED: Buffer.from('{"type":"DELETED","object":'),
};
const EVENT_TAIL = Buffer.from("}\n");

export interface ActiveWatch {
  readonly resource: string;
  close(): void;
}

export function serveWatch(store: Store, res: ServerResponse, p: WatchParams, registry: Set<ActiveWatch>): void {
  const key = storageKey(p.resource);
  const maxBuffered = p.maxBufferedBytes ?? 16 * 1024 * 1024;
  let closed = false;
  const inScope = (o: Obj): boolean =>
    (p.namespace === undefined || p.namespace === "" || o.metadata.namespace === p.namespace) &&
    matchesRequirements(p.labels, o.metadata.labels) &&
    matchesFields(p.fields, o);

  const render = (type: EventType | "BOOKMARK" | "ERROR", object: unknown): Buffer[] => {
    let body = object;
    if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
      const o = object as Obj;
      if (p.form === "table")
        body = toTable(p.resource, [o], "Object", { resourceVersion: o.metadata.resourceVersion });
      else if (p.form === "metadata") body = asMetadata(o);
    } else if (type === "BOOKMARK" && p.form === "metadata") {
      // As kube-apiserver, which transforms every event's object: a metadata client decodes bookmarks too.
      body = asMetadata(object as Obj);
    }
    return [Buffer.from(`${stringifyJson({ type, object: body })}\n`)];
  };
  // One serialisation per stored object, shared by every watcher: fan-out costs a write of
  // the same bytes, not a stringify nor an encoding.
  const renderObject = (type: EventType, object: Obj): Buffer[] =>
    p.form !== "object" ? render(type, object) : [EVENT_HEAD[type], serialized(object), EVENT_TAIL];

  // Events of one burst go out in one socket write per watcher (corked): with many
  // watchers the cost of fan-out is the number of writes, not the size of the data.
  let pending: Buffer[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (closed || pending.length === 0) return;
    const chunks = pending;
    pending = [];
    writeAll(chunks);
    if (res.writableLength > maxBuffered) close();
  };
  const writeAll = (chunks: Buffer[]): void => {
    res.cork();
    for (const c of chunks) res.write(c);
    res.uncork();
  };
  const write = (chunks: Buffer[]): void => {
    if (closed) return;
    pending.push(...chunks);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const translate = (ev: StoredEvent): void => {
    const now = ev.type === "DELETED" ? false : inScope(ev.object);
    const before = ev.prev !== undefined && inScope(ev.prev);
    if (ev.type === "DELETED") {
      if (before) write(renderObject("DELETED", ev.object));
    } else if (now && before) write(renderObject("MODIFIED", ev.object));
    else if (now) write(renderObject("ADDED", ev.object));
    else if (before) write(renderObject("DELETED", ev.object));
  };

  const watcher: StoreWatcher = { resource: key, deliver: translate };
  const active: ActiveWatch = { resource: key, close: () => close() };
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;

  function close(): void {
    if (closed) return;
    closed = true;
    store.removeWatcher(watcher);
    registry.delete(active);
    if (bookmarkTimer !== undefined) clearInterval(bookmarkTimer);
    if (timeoutTimer !== undefined) clearTimeout(timeoutTimer);
    if (pending.length > 0 && res.writableLength <= maxBuffered) writeAll(pending);
    pending = [];
    res.end();
  }

  res.writeHead(200, {
    "content-type": p.form === "table" ? TABLE_TYPE : p.form === "metadata" ? METADATA_TYPE : "application/json",
    "transfer-encoding": "chunked",
    "cache-control": "no-cache, private",
  });
  res.flushHeaders();

  // Replay and registration happen in one synchronous step: no event can fall between them.
  const rv = p.resourceVersion;
  if (rv === undefined || rv === "" || rv === "0") {
    for (const o of store.list(key, p.namespace)) if (inScope(o)) write(renderObject("ADDED", o));
  } else {
    const n = Number(rv);
    if (n > store.resourceVersion) {
      // kube-apiserver waits briefly for a revision it has not reached, then says so.
      write(
        render("ERROR", {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `Too large resource version: ${rv}, current: ${store.resourceVersion}`,
          reason: "Timeout",
          details: {
            causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
            retryAfterSeconds: 1,
          },
          code: 504,
        }),
      );
      close();
      return;
    }
    const events = store.eventsSince(key, n);
    if (events === "expired") {
      write(
        render("ERROR", {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${rv} (${store.compactedResourceVersion + 1})`,
          reason: "Expired",
          code: 410,
        }),
      );
      close();
      return;
    }
    for (const ev of events) translate(ev);
  }
  store.addWatcher(watcher);
  registry.add(active);
  res.on("close", close);

  if (p.bookmarks) {
    bookmarkTimer = setInterval(() => {
      write(
        render("BOOKMARK", {
          kind: p.resource.kind,
          apiVersion: groupVersion(p.resource),
          metadata: { resourceVersion: String(store.resourceVersion) },
        }),
      );
    }, p.bookmarkIntervalMs);
    bookmarkTimer.unref();
  }
  timeoutTimer = setTimeout(() => {
    // kube-apiserver sends a last bookmark before closing a watch at its timeout.
    if (p.bookmarks) {
      write(
        render("BOOKMARK", {
          kind: p.resource.kind,
          apiVersion: groupVersion(p.resource),
          metadata: { resourceVersion: String(store.resourceVersion) },
        }),
      );
    }
    close();
  }, p.timeoutSeconds * 1000);
  timeoutTimer.unref();
}
