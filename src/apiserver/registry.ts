/**
 * The REST semantics of kube-apiserver over the store: create, update (main and status),
 * patch, delete with preconditions, finalizers, graceful pod deletion and propagation,
 * owner-reference garbage collection, namespace lifecycle, and CRDs that start serving
 * their resources when created.
 */
import { randomUUID } from "node:crypto";
import { lintStructural } from "../api/structural.ts";
import { matchesRequirements, parseSelector, type Requirement } from "../api/selector.ts";
import type { JsonSchema } from "../api/openapi.ts";
import { matchesFields, parseFieldSelector, type FieldRequirement } from "./fields.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  HttpError,
  invalid,
  notFound,
  STALE,
  type Target,
} from "./http-errors.ts";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";
import {
  BUILTIN_RESOURCES,
  groupVersion,
  resourcesOfCrd,
  storageKey,
  type CrdObject,
  type ServedResource,
} from "./resources.ts";
import { prepareCustomResource, type FieldError } from "./schema.ts";
import { objectKey, Store, type EventType, type Obj } from "./store.ts";

export type Operation = "CREATE" | "UPDATE" | "DELETE";

/** What admission sees and may change; implemented by admission.ts. */
export interface AdmissionRequest {
  operation: Operation;
  resource: ServedResource;
  subresource: string;
  namespace: string;
  name: string;
  object: Obj | undefined;
  oldObject: Obj | undefined;
  dryRun: boolean;
}

export interface Admitter {
  mutate(req: AdmissionRequest): Promise<{ object: Obj | undefined; warnings: string[] }>;
  validate(req: AdmissionRequest): Promise<{ warnings: string[] }>;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: "Ignore" | "Warn" | "Strict";
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WriteResult {
  object: Obj;
  warnings: string[];
  /** 201 for a create, 200 otherwise; DELETE: 202 when the object only got a deletionTimestamp. */
  code: number;
  /** For DELETE that removed the object at once: the Status kube-apiserver answers with. */
  status?: Record<string, unknown>;
}

export interface ListPage {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface RegistryOptions {
  /** "immediate": pods vanish on delete (no kubelet); "graceful": they stay Terminating until deleted with grace 0. */
  podDeletion?: "immediate" | "graceful";
  /** Added before every commit, to model etcd latency. */
  writeLatencyMs?: number;
  historyCapacity?: number;
}

const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";
const NS_FINALIZER = "kubernetes";
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep equality of JSON values, key order ignored. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => same(a[k], b[k]));
  }
  return false;
}

function withoutKeys(o: Obj, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

export class Registry {
  readonly store: Store;
  readonly #resources = new Map<string, ServedResource>();
  readonly #opts: RegistryOptions;
  admitter: Admitter | undefined;
  #gcScheduled = false;
  #pendingGc = new Set<string>();
  #dangling = new Set<string>();
  #snapshots = new Map<string, { items: Obj[]; rv: string; created: number }>();
  /** Called when a CRD starts or stops serving resources (discovery changes). */
  onResourcesChanged: (() => void) | undefined;

  constructor(opts: RegistryOptions = {}) {
    this.#opts = opts;
    this.store = new Store(opts.historyCapacity);
    for (const r of BUILTIN_RESOURCES) this.#serve(r);
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      const r = this.builtin("namespaces");
      this.store.commit(storageKey(r), "ADDED", this.#fresh(r, { metadata: { name: ns } }, undefined, true));
    }
  }

  get options(): RegistryOptions {
    return this.#opts;
  }

  set writeLatencyMs(ms: number) {
    this.#opts.writeLatencyMs = ms;
  }

  set podDeletion(mode: "immediate" | "graceful") {
    this.#opts.podDeletion = mode;
  }

  #serve(r: ServedResource): void {
    this.#resources.set(`${r.group}/${r.version}/${r.plural}`, r);
  }

  builtin(plural: string): ServedResource {
    const r = BUILTIN_RESOURCES.find((x) => x.plural === plural);
    if (r === undefined) throw new Error(`no built-in resource ${plural}`);
    return r;
  }

  find(group: string, version: string, plural: string): ServedResource | undefined {
    return this.#resources.get(`${group}/${version}/${plural}`);
  }

  all(): ServedResource[] {
    return [...this.#resources.values()];
  }

  #target(r: ServedResource, name: string): Target {
    return { group: r.group, resource: r.plural, kind: r.kind, name };
  }

  // ---- reads ----------------------------------------------------------------------------

  get(r: ServedResource, namespace: string, name: string): Obj {
    const obj = this.store.get(storageKey(r), objectKey(r.namespaced ? namespace : undefined, name));
    if (obj === undefined) throw notFound(this.#target(r, name));
    return obj;
  }

  selectors(
    labelSelector: string | null,
    fieldSelector: string | null,
    r: ServedResource,
  ): [Requirement[], FieldRequirement[]] {
    let labels: Requirement[] = [];
    try {
      labels = parseSelector(labelSelector ?? "");
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    return [labels, parseFieldSelector(fieldSelector ?? "", r.plural)];
  }

  matches(obj: Obj, labels: Requirement[], fields: FieldRequirement[]): boolean {
    return matchesRequirements(labels, obj.metadata.labels) && matchesFields(fields, obj);
  }

  /**
   * A list, paginated with `limit`/`continue`. Pages after the first come from a snapshot
   * taken with the first, so a paginated list is consistent as kube-apiserver's is; an
   * expired snapshot answers 410 Expired.
   */
  list(
    r: ServedResource,
    namespace: string,
    q: { labelSelector: string | null; fieldSelector: string | null; limit: number; continue: string | null },
  ): ListPage {
    const [labels, fields] = this.selectors(q.labelSelector, q.fieldSelector, r);
    this.#pruneSnapshots();
    let items: Obj[];
    let rv: string;
    let offset = 0;
    if (q.continue !== null && q.continue !== "") {
      let token: { id: string; offset: number };
      try {
        token = JSON.parse(Buffer.from(q.continue, "base64url").toString("utf8")) as { id: string; offset: number };
      } catch {
        throw badRequest(`invalid continue token`);
      }
      const snap = this.#snapshots.get(token.id);
      if (snap === undefined) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      items = snap.items;
      rv = snap.rv;
      offset = token.offset;
    } else {
      items = this.store
        .list(storageKey(r), r.namespaced ? namespace : undefined)
        .filter((o) => this.matches(o, labels, fields));
      rv = String(this.store.resourceVersion);
    }
    if (q.limit <= 0 || offset + q.limit >= items.length) {
      return { items: items.slice(offset), resourceVersion: rv };
    }
    let id =
      q.continue === null || q.continue === ""
        ? randomUUID()
        : (JSON.parse(Buffer.from(q.continue, "base64url").toString("utf8")) as { id: string }).id;
    if (!this.#snapshots.has(id)) {
      this.#pruneSnapshots();
      this.#snapshots.set(id, { items, rv, created: Date.now() });
    }
    const next = offset + q.limit;
    const token = Buffer.from(JSON.stringify({ id, offset: next }), "utf8").toString("base64url");
    id = "";
    return {
      items: items.slice(offset, next),
      resourceVersion: rv,
      continue: token,
      remainingItemCount: items.length - next,
    };
  }

  #pruneSnapshots(): void {
    const cutoff = Date.now() - 5 * 60_000;
    for (const [id, s] of this.#snapshots) if (s.created < cutoff) this.#snapshots.delete(id);
    while (this.#snapshots.size >= 200) {
      const first = this.#snapshots.keys().next().value;
      if (first === undefined) break;
      this.#snapshots.delete(first);
    }
  }

  /** Forgets every pagination snapshot, so continue tokens answer 410 (for tests). */
  expireContinueTokens(): void {
    this.#snapshots.clear();
  }

  // ---- writes ---------------------------------------------------------------------------

  #fresh(r: ServedResource, body: Record<string, unknown>, namespace: string | undefined, skipNs = false): Obj {
    const meta = { ...((body["metadata"] as Obj["metadata"] | undefined) ?? {}) };
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    if (r.namespaced && namespace !== undefined) meta.namespace = namespace;
    else delete meta.namespace;
    const obj = { ...body, apiVersion: groupVersion(r), kind: r.kind, metadata: meta } as Obj;
    if (r.plural === "namespaces" && !skipNs) {
      obj["spec"] = { finalizers: [NS_FINALIZER], ...(obj["spec"] as object | undefined) };
      obj["status"] = { phase: "Active" };
    }
    if (r.plural === "namespaces" && skipNs) {
      obj["spec"] = { finalizers: [NS_FINALIZER] };
      obj["status"] = { phase: "Active" };
      meta.labels = { ...meta.labels, "kubernetes.io/metadata.name": meta.name ?? "" };
    }
    return obj;
  }

  #checkMeta(r: ServedResource, obj: Obj, errors: FieldError[]): void {
    const name = obj.metadata.name ?? "";
    const re = r.plural === "namespaces" ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
    if (name === "")
      errors.push({
        type: "FieldValueRequired",
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      });
    else if (!re.test(name) || name.length > (r.plural === "namespaces" ? 63 : 253)) {
      errors.push({
        type: "FieldValueInvalid",
        field: "metadata.name",
        message: `Invalid value: "${name}": a lowercase RFC 1123 ${r.plural === "namespaces" ? "label" : "subdomain"} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      });
    }
    const labels = obj.metadata.labels;
    if (labels !== undefined && (!isObj(labels) || Object.values(labels).some((v) => typeof v !== "string"))) {
      errors.push({
        type: "FieldValueInvalid",
        field: "metadata.labels",
        message: "Invalid value: label values must be strings",
      });
    }
  }

  /** Prune, default and validate a custom resource against its schema. */
  #schema(r: ServedResource, obj: Obj, opts: WriteOptions, warnings: string[]): FieldError[] {
    if (r.schema === undefined) return [];
    const { errors, unknownFields } = prepareCustomResource(obj, r.schema);
    if (unknownFields.length > 0) {
      const mode = opts.fieldValidation ?? "Warn";
      if (mode === "Strict") {
        throw badRequest(`strict decoding error: ${unknownFields.map((f) => `unknown field "${f}"`).join(", ")}`);
      }
      if (mode === "Warn") for (const f of unknownFields) warnings.push(`unknown field "${f}"`);
    }
    return errors;
  }

  #checkNamespace(r: ServedResource, namespace: string, op: Operation): void {
    if (!r.namespaced) return;
    const ns = this.store.get("namespaces", namespace);
    if (ns === undefined) throw notFound({ group: "", resource: "namespaces", kind: "Namespace", name: namespace });
    if (op === "CREATE" && ns.metadata.deletionTimestamp !== undefined) {
      throw forbidden(
        this.#target(r, ""),
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  async #admit(req: AdmissionRequest, warnings: string[]): Promise<Obj | undefined> {
    if (this.admitter === undefined) return req.object;
    const m = await this.admitter.mutate(req);
    warnings.push(...m.warnings);
    return m.object;
  }

  async #validateAdmission(req: AdmissionRequest, warnings: string[]): Promise<void> {
    if (this.admitter === undefined) return;
    const v = await this.admitter.validate(req);
    warnings.push(...v.warnings);
  }

  async #latency(): Promise<void> {
    const ms = this.#opts.writeLatencyMs ?? 0;
    if (ms > 0) await sleep(ms);
  }

  async create(r: ServedResource, namespace: string, body: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!isObj(body)) throw badRequest("the request body must be a JSON object");
    this.#checkKind(r, body);
    const meta = (body["metadata"] ?? {}) as Obj["metadata"];
    if (!isObj(meta)) throw badRequest("metadata must be an object");
    if (r.namespaced && meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    // As in kube-apiserver, mutating webhooks see an object without a name; the name is
    // generated after them.
    const generate = (meta.name ?? "") === "" && typeof meta.generateName === "string" && meta.generateName !== "";
    this.#checkNamespace(r, namespace, "CREATE");
    const warnings: string[] = [];
    let obj = this.#fresh(r, body, r.namespaced ? namespace : undefined);
    // Create cannot set status where status is a subresource, as in kube-apiserver; pods
    // start Pending. (Tests write status through /status, as the kubelet would.)
    if (r.statusSubresource && r.plural !== "namespaces") {
      delete obj["status"];
      if (r.plural === "pods") obj["status"] = { phase: "Pending" };
    }
    const name = obj.metadata.name ?? "";
    const errors: FieldError[] = [];
    errors.push(...this.#schema(r, obj, opts, warnings));
    const req = (o: Obj | undefined, n = name): AdmissionRequest => ({
      operation: "CREATE",
      resource: r,
      subresource: "",
      namespace: r.namespaced ? namespace : "",
      name: n,
      object: o,
      oldObject: undefined,
      dryRun: opts.dryRun === true,
    });
    obj = (await this.#admit(req(obj), warnings)) ?? obj;
    if (generate && (obj.metadata.name ?? "") === "") {
      let suffix = "";
      for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
      obj.metadata = { ...obj.metadata, name: `${obj.metadata.generateName ?? ""}${suffix}` };
    }
    const finalName = obj.metadata.name ?? "";
    // Mutating webhooks may add fields; prune, default and validate what will be stored.
    const after = this.#schema(r, obj, { ...opts, fieldValidation: "Ignore" }, warnings);
    this.#checkMeta(r, obj, after);
    if (r.plural === "customresourcedefinitions") after.push(...this.#checkCrd(obj));
    if (after.length > 0) throw invalid(this.#target(r, finalName), after);
    await this.#validateAdmission(req(obj, finalName), warnings);
    await this.#latency();
    const key = storageKey(r);
    if (this.store.get(key, objectKey(obj.metadata.namespace, finalName)) !== undefined) {
      throw alreadyExists(this.#target(r, finalName));
    }
    this.#checkNamespace(r, namespace, "CREATE");
    if (r.plural === "customresourcedefinitions") obj = this.#crdStatus(obj);
    if (opts.dryRun === true) return { object: obj, warnings, code: 201 };
    const stored = this.store.commit(key, "ADDED", obj);
    if (r.plural === "customresourcedefinitions") this.#syncCrd(stored, undefined);
    this.#checkOwners(stored);
    return { object: stored, warnings, code: 201 };
  }

  #checkKind(r: ServedResource, body: Record<string, unknown>): void {
    const kind = body["kind"];
    const apiVersion = body["apiVersion"];
    if (kind !== undefined && kind !== r.kind) {
      throw badRequest(`the object's kind (${String(kind)}) does not match the kind of the request (${r.kind})`);
    }
    if (apiVersion !== undefined && apiVersion !== groupVersion(r)) {
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${groupVersion(r)})`,
      );
    }
  }

  /**
   * PUT of the main resource or of `status`. The body's resourceVersion is the
   * precondition; custom resources require one.
   */
  async update(
    r: ServedResource,
    namespace: string,
    name: string,
    body: unknown,
    subresource: string,
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    if (!isObj(body)) throw badRequest("the request body must be a JSON object");
    this.#checkKind(r, body);
    const meta = (body["metadata"] ?? {}) as Obj["metadata"];
    if (!isObj(meta)) throw badRequest("metadata must be an object");
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (r.namespaced && meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    const rv = meta.resourceVersion;
    if ((rv === undefined || rv === "") && !r.unconditionalUpdate) {
      throw invalid(this.#target(r, name), [
        {
          type: "FieldValueInvalid",
          field: "metadata.resourceVersion",
          message: "Invalid value: 0x0: must be specified for an update",
        },
      ]);
    }
    return this.#write(r, namespace, name, () => body as Obj, rv, subresource, opts);
  }

  async patch(
    r: ServedResource,
    namespace: string,
    name: string,
    contentType: string,
    patchBody: unknown,
    subresource: string,
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    const type = contentType.split(";")[0]?.trim() ?? "";
    let rv: string | undefined;
    if (type === "application/merge-patch+json" || type === "application/strategic-merge-patch+json") {
      if (!isObj(patchBody)) throw badRequest("a merge patch must be a JSON object");
      const pm = patchBody["metadata"];
      if (isObj(pm) && typeof pm["resourceVersion"] === "string") rv = pm["resourceVersion"];
    }
    const apply = (current: Obj): Obj => {
      try {
        if (type === "application/merge-patch+json") return mergePatch(current, patchBody) as Obj;
        if (type === "application/strategic-merge-patch+json") return strategicMergePatch(current, patchBody) as Obj;
        if (type === "application/json-patch+json") return jsonPatch(current, patchBody) as Obj;
      } catch (err) {
        if (err instanceof PatchError) {
          throw new HttpError({
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: err.message,
            reason: "Invalid",
            code: 422,
          });
        }
        throw err;
      }
      throw new HttpError({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `the server does not support the patch type ${type}`,
        reason: "UnsupportedMediaType",
        code: 415,
      });
    };
    return this.#write(r, namespace, name, apply, rv, subresource, opts);
  }

  /** The shared update path: build the new object from the current one, admit, commit with the precondition. */
  async #write(
    r: ServedResource,
    namespace: string,
    name: string,
    build: (current: Obj) => Obj,
    rv: string | undefined,
    subresource: string,
    opts: WriteOptions,
  ): Promise<WriteResult> {
    if (subresource !== "" && !(subresource === "status" && r.statusSubresource)) {
      throw notFound(this.#target(r, `${name}/${subresource}`));
    }
    const old = this.get(r, namespace, name);
    if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion)
      throw conflict(this.#target(r, name), STALE);
    const warnings: string[] = [];
    let next = structuredClone(build(structuredClone(old)));
    if (!isObj(next) || !isObj(next.metadata)) throw badRequest("the result must be an object with metadata");
    // A resourceVersion written by the body or a patch is a precondition, whatever the verb.
    const wanted = next.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== "" && wanted !== old.metadata.resourceVersion) {
      throw conflict(this.#target(r, name), STALE);
    }
    next = this.#carryOver(r, old, next, subresource);
    if (old.metadata.deletionTimestamp !== undefined) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(this.#target(r, name), [
          {
            type: "FieldValueForbidden",
            field: "metadata.finalizers",
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          },
        ]);
      }
    }
    const errors = this.#schema(r, next, opts, warnings);
    const req = (o: Obj | undefined): AdmissionRequest => ({
      operation: "UPDATE",
      resource: r,
      subresource,
      namespace: r.namespaced ? namespace : "",
      name,
      object: o,
      oldObject: old,
      dryRun: opts.dryRun === true,
    });
    next = (await this.#admit(req(next), warnings)) ?? next;
    next = this.#carryOver(r, old, next, subresource);
    errors.splice(0, errors.length, ...this.#schema(r, next, { ...opts, fieldValidation: "Ignore" }, warnings));
    this.#checkMeta(r, next, errors);
    if (r.plural === "customresourcedefinitions") errors.push(...this.#checkCrd(next));
    if (errors.length > 0) throw invalid(this.#target(r, name), errors);
    await this.#validateAdmission(req(next), warnings);
    await this.#latency();
    // Re-check after the awaits: another writer may have won meanwhile.
    const current = this.store.get(storageKey(r), objectKey(old.metadata.namespace, name));
    if (current === undefined) throw notFound(this.#target(r, name));
    if (current.metadata.resourceVersion !== old.metadata.resourceVersion) {
      if (rv !== undefined && rv !== "") throw conflict(this.#target(r, name), STALE);
      // Unconditional writes (patches without a resourceVersion) are rebuilt on the latest object.
      return this.#write(r, namespace, name, build, rv, subresource, opts);
    }
    if (this.#specChanged(r, old, next)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    if (r.plural === "customresourcedefinitions") next = this.#crdStatus(next);
    const unchanged = same(withoutKeys(next, []), {
      ...old,
      metadata: { ...old.metadata, resourceVersion: next.metadata.resourceVersion },
    });
    if (opts.dryRun === true || unchanged) return { object: unchanged ? old : next, warnings, code: 200 };
    // The last finalizer gone ends a deletion, unless a pod's grace period still runs (its
    // kubelet, or a test standing in for it, finishes that with a delete of grace 0).
    if (
      next.metadata.deletionTimestamp !== undefined &&
      (next.metadata.finalizers ?? []).length === 0 &&
      (next.metadata.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      const gone = this.store.commit(storageKey(r), "DELETED", next);
      this.#afterDelete(r, gone);
      return { object: gone, warnings, code: 200 };
    }
    const stored = this.store.commit(storageKey(r), "MODIFIED", next);
    if (r.plural === "customresourcedefinitions") this.#syncCrd(stored, old);
    this.#checkOwners(stored);
    if (stored.metadata.deletionTimestamp !== undefined) this.#scheduleGc(stored.metadata.uid);
    return { object: stored, warnings, code: 200 };
  }

  /** Fields a client cannot change through this endpoint come from the stored object. */
  #carryOver(r: ServedResource, old: Obj, next: Obj, subresource: string): Obj {
    let out: Obj;
    if (subresource === "status") {
      out = { ...structuredClone(old), status: next["status"] } as Obj;
      if (next["status"] === undefined) delete out["status"];
    } else {
      out = { ...next, apiVersion: old["apiVersion"], kind: old["kind"] } as Obj;
      if (r.statusSubresource) {
        if (old["status"] === undefined) delete out["status"];
        else out["status"] = structuredClone(old["status"]);
      }
    }
    const m: Obj["metadata"] = { ...out.metadata };
    // Identity and bookkeeping fields always come from the stored object.
    for (const k of ["name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"] as const) {
      if (old.metadata[k] !== undefined) (m as Record<string, unknown>)[k] = old.metadata[k];
      else delete m[k];
    }
    if (old.metadata.deletionTimestamp !== undefined) m.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (old.metadata.deletionGracePeriodSeconds !== undefined)
      m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    else delete m.deletionGracePeriodSeconds;
    delete m.managedFields;
    delete m.selfLink;
    out.metadata = m;
    return out;
  }

  #specChanged(r: ServedResource, old: Obj, next: Obj): boolean {
    const skip = r.statusSubresource ? ["metadata", "status"] : ["metadata"];
    return !same(withoutKeys(old, skip), withoutKeys(next, skip));
  }

  async delete(r: ServedResource, namespace: string, name: string, opts: DeleteOptions = {}): Promise<WriteResult> {
    const old = this.get(r, namespace, name);
    const t = this.#target(r, name);
    this.#checkPreconditions(t, old, opts);
    const warnings: string[] = [];
    await this.#validateAdmission(
      {
        operation: "DELETE",
        resource: r,
        subresource: "",
        namespace: r.namespaced ? namespace : "",
        name,
        object: undefined,
        oldObject: old,
        dryRun: opts.dryRun === true,
      },
      warnings,
    );
    if (opts.dryRun === true) return { object: old, warnings, code: 200 };
    await this.#latency();
    const current = this.store.get(storageKey(r), objectKey(old.metadata.namespace, name));
    if (current === undefined) throw notFound(t);
    // Admission and latency awaited: the object may have changed, so check the preconditions again.
    this.#checkPreconditions(t, current, opts);
    return { ...this.#deleteNow(r, current, opts), warnings };
  }

  #checkPreconditions(t: Target, obj: Obj, opts: DeleteOptions): void {
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== obj.metadata.uid) {
      throw conflict(
        t,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        t,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
      );
    }
  }

  /** The synchronous part of a delete: finalizers, grace, propagation, or removal. */
  #deleteNow(r: ServedResource, obj: Obj, opts: DeleteOptions): Omit<WriteResult, "warnings"> {
    const key = storageKey(r);
    if (r.plural === "namespaces") return this.#deleteNamespace(obj);
    const policy = opts.propagationPolicy ?? "Background";
    const finalizers = [...(obj.metadata.finalizers ?? [])];
    if (policy === "Foreground" && !finalizers.includes(FOREGROUND)) finalizers.push(FOREGROUND);
    if (policy === "Orphan" && !finalizers.includes(ORPHAN)) finalizers.push(ORPHAN);
    let grace = 0;
    if (r.plural === "pods") {
      const spec = (obj["spec"] ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const phase = ((obj["status"] ?? {}) as { phase?: string }).phase;
      grace = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
      const unscheduled = spec.nodeName === undefined || spec.nodeName === "";
      if (this.#opts.podDeletion !== "graceful" || unscheduled || phase === "Succeeded" || phase === "Failed")
        grace = 0;
    }
    if (finalizers.length > 0 || grace > 0) {
      const m = { ...obj.metadata, finalizers };
      if (finalizers.length === 0) delete (m as { finalizers?: string[] }).finalizers;
      if (m.deletionTimestamp === undefined) {
        m.deletionTimestamp =
          grace > 0 ? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") : now();
        m.deletionGracePeriodSeconds = grace;
        m.generation = (m.generation ?? 1) + 1;
      } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
        m.deletionGracePeriodSeconds = grace;
      }
      if (grace === 0 && finalizers.length === 0) {
        const gone = this.store.commit(key, "DELETED", { ...obj, metadata: m });
        this.#afterDelete(r, gone);
        return { object: gone, code: 200, status: this.#success(r, gone) };
      }
      if (same(m, obj.metadata)) return { object: obj, code: 200 };
      const stored = this.store.commit(key, "MODIFIED", { ...obj, metadata: m });
      this.#scheduleGc(stored.metadata.uid);
      return { object: stored, code: 200 };
    }
    const gone = this.store.commit(key, "DELETED", obj);
    this.#afterDelete(r, gone);
    return { object: gone, code: 200, status: this.#success(r, gone) };
  }

  #success(r: ServedResource, obj: Obj): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: obj.metadata.name, group: r.group, kind: r.plural, uid: obj.metadata.uid },
    };
  }

  #afterDelete(r: ServedResource, obj: Obj): void {
    if (r.plural === "customresourcedefinitions") this.#syncCrd(undefined, obj);
    // Dependents of this object, owners waiting for it (foreground), and the namespace it may be holding open.
    this.#scheduleGc(obj.metadata.uid);
    for (const ref of obj.metadata.ownerReferences ?? []) this.#scheduleGc(ref.uid);
    const ns = obj.metadata.namespace;
    if (ns !== undefined) {
      const nsObj = this.store.get("namespaces", ns);
      if (nsObj?.metadata.deletionTimestamp !== undefined) this.#scheduleGc(nsObj.metadata.uid);
    }
  }

  // ---- namespaces -------------------------------------------------------------------------

  #deleteNamespace(ns: Obj): Omit<WriteResult, "warnings"> {
    if (ns.metadata.deletionTimestamp !== undefined) return { object: ns, code: 200 };
    const next = {
      ...ns,
      metadata: { ...ns.metadata, deletionTimestamp: now(), deletionGracePeriodSeconds: 0 },
      status: { phase: "Terminating" },
    } as Obj;
    const stored = this.store.commit("namespaces", "MODIFIED", next);
    this.#scheduleGc(stored.metadata.uid);
    return { object: stored, code: 200 };
  }

  /** Deletes what a terminating namespace holds; finishes the namespace once it is empty. */
  #sweepNamespace(ns: Obj): void {
    const name = ns.metadata.name ?? "";
    let remaining = 0;
    for (const r of this.all()) {
      if (!r.namespaced) continue;
      for (const obj of this.store.list(storageKey(r), name)) {
        remaining++;
        if (obj.metadata.deletionTimestamp === undefined) this.#deleteNow(r, obj, { propagationPolicy: "Background" });
      }
    }
    if (remaining > 0) return;
    const spec = (ns["spec"] ?? {}) as { finalizers?: string[] };
    let current = ns;
    if ((spec.finalizers ?? []).includes(NS_FINALIZER)) {
      current = this.store.commit("namespaces", "MODIFIED", {
        ...ns,
        spec: { ...spec, finalizers: (spec.finalizers ?? []).filter((f) => f !== NS_FINALIZER) },
      } as Obj);
    }
    if ((current.metadata.finalizers ?? []).length === 0) this.store.commit("namespaces", "DELETED", current);
  }

  // ---- garbage collection ----------------------------------------------------------------

  #scheduleGc(uid: string | undefined): void {
    if (uid !== undefined) this.#pendingGc.add(uid);
    if (this.#gcScheduled) return;
    this.#gcScheduled = true;
    // Asynchronous, as kube's garbage collector is: the DELETE answers first.
    setImmediate(() => {
      this.#gcScheduled = false;
      const uids = [...this.#pendingGc];
      this.#pendingGc.clear();
      for (const u of uids) this.#collect(u);
      const dangling = [...this.#dangling];
      this.#dangling.clear();
      for (const u of dangling) this.#collectDangling(u);
    });
  }

  #resourceOf(storage: string): ServedResource | undefined {
    return this.all().find((r) => storageKey(r) === storage);
  }

  /** One GC step for the object with `uid` (existing or gone) and its dependents. */
  #collect(uid: string): void {
    const found = this.store.locate(uid);
    if (found !== undefined) {
      const { object } = found;
      const r = this.#resourceOf(found.location.resource);
      if (r === undefined || object.metadata.deletionTimestamp === undefined) return;
      if (r.plural === "namespaces") return this.#sweepNamespace(object);
      if (r.plural === "pods" && (object.metadata.finalizers ?? []).length === 0) {
        // A graceful pod deletion waits for a test (standing in for the kubelet) to finish it.
        return;
      }
      const fins = object.metadata.finalizers ?? [];
      if (fins.includes(ORPHAN)) {
        for (const dep of this.store.dependentsOf(uid)) this.#dropOwnerRef(dep, uid);
        this.#removeFinalizer(r, object, ORPHAN);
        return;
      }
      if (fins.includes(FOREGROUND)) {
        let blocking = 0;
        for (const depUid of this.store.dependentsOf(uid)) {
          const dep = this.store.locate(depUid);
          if (dep === undefined) continue;
          const ref = dep.object.metadata.ownerReferences?.find((o) => o.uid === uid);
          if (ref?.blockOwnerDeletion === true) blocking++;
          const dr = this.#resourceOf(dep.location.resource);
          if (dr !== undefined && dep.object.metadata.deletionTimestamp === undefined) {
            this.#deleteNow(dr, dep.object, { propagationPolicy: "Foreground" });
          }
        }
        if (blocking === 0) this.#removeFinalizer(r, object, FOREGROUND);
      }
      return;
    }
    // The owner is gone: delete dependents whose owners are all gone, drop dangling refs otherwise.
    for (const depUid of this.store.dependentsOf(uid)) {
      const dep = this.store.locate(depUid);
      if (dep === undefined) continue;
      const dr = this.#resourceOf(dep.location.resource);
      if (dr === undefined) continue;
      const refs = dep.object.metadata.ownerReferences ?? [];
      const alive = refs.filter((o) => o.uid !== undefined && this.store.locate(o.uid) !== undefined);
      if (alive.length === 0) {
        if (dep.object.metadata.deletionTimestamp === undefined) {
          this.#deleteNow(dr, dep.object, { propagationPolicy: "Background" });
        }
      } else {
        this.#dropOwnerRef(depUid, uid);
      }
    }
  }

  /** A dependent whose owners are already gone is collected too, as kube's GC does. */
  #checkOwners(obj: Obj): void {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0 || obj.metadata.deletionTimestamp !== undefined) return;
    if (refs.some((o) => o.uid !== undefined && this.store.locate(o.uid) === undefined))
      this.#dangling.add(obj.metadata.uid ?? "");
    if (this.#dangling.size > 0) this.#scheduleGc(undefined);
  }

  #collectDangling(uid: string): void {
    const dep = this.store.locate(uid);
    if (dep === undefined || dep.object.metadata.deletionTimestamp !== undefined) return;
    const dr = this.#resourceOf(dep.location.resource);
    if (dr === undefined) return;
    const refs = dep.object.metadata.ownerReferences ?? [];
    const gone = refs.filter((o) => o.uid === undefined || this.store.locate(o.uid) === undefined);
    if (gone.length === 0) return;
    if (gone.length === refs.length) this.#deleteNow(dr, dep.object, { propagationPolicy: "Background" });
    else for (const o of gone) if (o.uid !== undefined) this.#dropOwnerRef(uid, o.uid);
  }

  #dropOwnerRef(depUid: string, ownerUid: string): void {
    const dep = this.store.locate(depUid);
    if (dep === undefined) return;
    const refs = (dep.object.metadata.ownerReferences ?? []).filter((o) => o.uid !== ownerUid);
    const m = { ...dep.object.metadata, ownerReferences: refs };
    if (refs.length === 0) delete (m as { ownerReferences?: unknown }).ownerReferences;
    this.store.commit(dep.location.resource, "MODIFIED", { ...dep.object, metadata: m });
  }

  #removeFinalizer(r: ServedResource, obj: Obj, finalizer: string): void {
    const fins = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const m = { ...obj.metadata, finalizers: fins };
    if (fins.length === 0) {
      delete (m as { finalizers?: string[] }).finalizers;
      const gone = this.store.commit(storageKey(r), "DELETED", { ...obj, metadata: m });
      this.#afterDelete(r, gone);
    } else {
      this.store.commit(storageKey(r), "MODIFIED", { ...obj, metadata: m });
    }
  }

  /** Finishes graceful pod deletions, as the kubelet would once containers stop (tests call this). */
  finishPodDeletion(namespace: string, name: string): boolean {
    const pods = this.builtin("pods");
    const pod = this.store.get("pods", objectKey(namespace, name));
    if (pod === undefined || pod.metadata.deletionTimestamp === undefined) return false;
    this.#deleteNow(pods, pod, { gracePeriodSeconds: 0 });
    return true;
  }

  // ---- CRDs ------------------------------------------------------------------------------

  #checkCrd(obj: Obj): FieldError[] {
    const crd = obj as unknown as CrdObject;
    const errors: FieldError[] = [];
    const spec = crd.spec;
    const names = spec?.names;
    if (spec?.group === undefined || spec.group === "")
      errors.push({ type: "FieldValueRequired", field: "spec.group", message: "Required value" });
    if (names?.plural === undefined || names.plural === "")
      errors.push({ type: "FieldValueRequired", field: "spec.names.plural", message: "Required value" });
    if (names?.kind === undefined || names.kind === "")
      errors.push({ type: "FieldValueRequired", field: "spec.names.kind", message: "Required value" });
    if (spec?.scope !== "Cluster" && spec?.scope !== "Namespaced") {
      errors.push({
        type: "FieldValueNotSupported",
        field: "spec.scope",
        message: `Unsupported value: "${String(spec?.scope)}": supported values: "Cluster", "Namespaced"`,
      });
    }
    const expected = `${names?.plural ?? ""}.${spec?.group ?? ""}`;
    if (obj.metadata.name !== expected) {
      errors.push({
        type: "FieldValueInvalid",
        field: "metadata.name",
        message: `Invalid value: "${obj.metadata.name ?? ""}": must be spec.names.plural+"."+spec.group`,
      });
    }
    const versions = spec?.versions ?? [];
    if (versions.length === 0)
      errors.push({
        type: "FieldValueRequired",
        field: "spec.versions",
        message: "Required value: must have exactly one version marked as storage version",
      });
    if (versions.filter((v) => (v as { storage?: boolean }).storage === true).length !== 1) {
      errors.push({
        type: "FieldValueInvalid",
        field: "spec.versions",
        message: "Invalid value: must have exactly one version marked as storage version",
      });
    }
    versions.forEach((v, i) => {
      const schema = v.schema?.openAPIV3Schema;
      if (schema === undefined) {
        errors.push({
          type: "FieldValueRequired",
          field: `spec.versions[${i}].schema.openAPIV3Schema`,
          message: "Required value: schemas are required",
        });
        return;
      }
      for (const p of lintStructural(schema as JsonSchema)) {
        errors.push({
          type: "FieldValueForbidden",
          field: `spec.versions[${i}].schema.openAPIV3Schema${p.path}`,
          message: `Forbidden: ${p.message}`,
        });
      }
    });
    return errors;
  }

  #crdStatus(obj: Obj): Obj {
    const spec = (obj["spec"] ?? {}) as {
      names?: Record<string, unknown>;
      versions?: Array<{ name?: string; storage?: boolean }>;
    };
    const names = { ...spec.names };
    if (names["listKind"] === undefined) names["listKind"] = `${String(names["kind"])}List`;
    if (names["singular"] === undefined) names["singular"] = String(names["kind"]).toLowerCase();
    const ts = now();
    const storage = spec.versions?.find((v) => v.storage === true)?.name;
    return {
      ...obj,
      status: {
        acceptedNames: names,
        conditions: [
          {
            type: "NamesAccepted",
            status: "True",
            reason: "NoConflicts",
            message: "no conflicts found",
            lastTransitionTime: ts,
          },
          {
            type: "Established",
            status: "True",
            reason: "InitialNamesAccepted",
            message: "the initial names have been accepted",
            lastTransitionTime: ts,
          },
        ],
        storedVersions: storage === undefined ? [] : [storage],
      },
    } as Obj;
  }

  /** Starts serving a CRD's resources, replaces them on update, removes them (and their objects) on delete. */
  #syncCrd(now_: Obj | undefined, old: Obj | undefined): void {
    if (old !== undefined) {
      for (const r of resourcesOfCrd(old as unknown as CrdObject))
        this.#resources.delete(`${r.group}/${r.version}/${r.plural}`);
    }
    if (now_ !== undefined) {
      for (const r of resourcesOfCrd(now_ as unknown as CrdObject)) this.#serve(r);
    } else if (old !== undefined) {
      for (const r of resourcesOfCrd(old as unknown as CrdObject)) {
        for (const obj of this.store.list(storageKey(r))) this.store.commit(storageKey(r), "DELETED", obj);
      }
    }
    this.onResourcesChanged?.();
  }
}

export type { EventType };
