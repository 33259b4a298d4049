/**
 * The REST semantics of kube-apiserver's generic registry over the store: create, update
 * (main and status), patch and delete with preconditions, admission, and the no-op and
 * conflict rules every kind shares. What differs by kind is in its strategy
 * (strategies/); deletion, owner-reference GC, namespace lifecycle, CRD serving and list
 * snapshots each have their own module.
 */
import { matchesRequirements, parseSelector, type Requirement } from "../api/selector.ts";
import { checkPreconditions, deleteNow, afterDelete } from "./deletion.ts";
import { matchesFields, parseFieldSelector, type FieldRequirement } from "./fields.ts";
import { GarbageCollector } from "./garbage-collector.ts";
import { alreadyExists, badRequest, conflict, invalid, notFound, STALE, type Target } from "./http-errors.ts";
import { isObj, same } from "./json-values.ts";
import { memberJson } from "../kube/json-scan.ts";
import { ListSnapshots } from "./list-snapshots.ts";
import { applyPatch, carryOver, specChanged } from "./write-rules.ts";
import { checkNamespace } from "./namespace-lifecycle.ts";
import { freshObject, generatedName, metadataShapeErrors, validateObjectMeta } from "./object-meta.ts";
import type {
  AdmissionRequest,
  Admitter,
  DeleteOptions,
  DeleteOutcome,
  ListPage,
  RegistryOptions,
  WriteOptions,
  WriteResult,
} from "./registry-types.ts";
import { BUILTIN_RESOURCES, groupVersion, storageKey, type ServedResource } from "./resources.ts";
import { hasScale, scaleOf, withScale } from "./scale.ts";
import { prepareCustomResource, type FieldError } from "./schema.ts";
import { strategyFor } from "./strategies/index.ts";
import { NamespaceStrategy, SYSTEM_NAMESPACES } from "./strategies/namespaces.ts";
import type { RegistryCore, Strategy } from "./strategy.ts";
import { objectKey, Store, type EventType, type Obj } from "./store.ts";

export type * from "./registry-types.ts";
export { now } from "./object-meta.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Registry implements RegistryCore {
  readonly store: Store;
  readonly #resources = new Map<string, ServedResource>();
  readonly #strategies = new Map<string, Strategy>();
  readonly #opts: RegistryOptions;
  readonly #gc = new GarbageCollector(this);
  readonly #snapshots = new ListSnapshots();
  admitter: Admitter | undefined;
  /** Called when a CRD starts or stops serving resources (discovery changes). */
  onResourcesChanged: (() => void) | undefined;

  constructor(opts: RegistryOptions = {}) {
    this.#opts = opts;
    this.store = new Store(opts.historyCapacity);
    for (const r of BUILTIN_RESOURCES) this.#resources.set(`${r.group}/${r.version}/${r.plural}`, r);
    const namespaces = this.strategy(this.builtin("namespaces")) as NamespaceStrategy;
    for (const ns of SYSTEM_NAMESPACES) this.store.commit("namespaces", "ADDED", namespaces.systemNamespace(ns));
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

  serve(r: ServedResource): void {
    this.#resources.set(`${r.group}/${r.version}/${r.plural}`, r);
    this.onResourcesChanged?.();
  }

  unserve(r: ServedResource): void {
    this.#resources.delete(`${r.group}/${r.version}/${r.plural}`);
    this.#strategies.delete(`${r.group}/${r.version}/${r.plural}`);
    this.onResourcesChanged?.();
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

  resourceOf(storage: string): ServedResource | undefined {
    return this.all().find((r) => storageKey(r) === storage);
  }

  strategy(r: ServedResource): Strategy {
    // Per served version: a CRD's versions may differ (status subresource, schema).
    const key = `${r.group}/${r.version}/${r.plural}`;
    let s = this.#strategies.get(key);
    if (s === undefined) this.#strategies.set(key, (s = strategyFor(r, this)));
    return s;
  }

  scheduleGc(uid: string | undefined): void {
    this.#gc.schedule(uid);
  }

  deleteNow(r: ServedResource, obj: Obj, opts: DeleteOptions): DeleteOutcome {
    return deleteNow(this, r, obj, opts);
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

  /** A list, paginated with `limit`/`continue` over a snapshot (list-snapshots.ts). */
  list(
    r: ServedResource,
    namespace: string,
    q: { labelSelector: string | null; fieldSelector: string | null; limit: number; continue: string | null },
  ): ListPage {
    const [labels, fields] = this.selectors(q.labelSelector, q.fieldSelector, r);
    const current = (): { items: Obj[]; rv: string } => ({
      items: this.store
        .list(storageKey(r), r.namespaced ? namespace : undefined)
        .filter((o) => this.matches(o, labels, fields)),
      rv: String(this.store.resourceVersion),
    });
    return this.#snapshots.page(current, q.limit, q.continue);
  }

  /** Forgets every pagination snapshot, so continue tokens answer 410 (for tests). */
  expireContinueTokens(): void {
    this.#snapshots.clear();
  }

  // ---- writes ---------------------------------------------------------------------------

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

  /**
   * kube-apiserver decodes a built-in kind into its Go type before anything else reads it,
   * so a value of the wrong type is the decoder's 400 BadRequest there, not a field error.
   */
  #decoded(r: ServedResource, errors: FieldError[]): void {
    if (r.crd !== undefined) return;
    const e = errors.find((x) => x.type === "FieldValueTypeInvalid");
    if (e !== undefined) {
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${e.field}: ${e.message}`,
      );
    }
  }

  /** ObjectMeta of the wrong shape cannot be decoded, for any kind: 400, as kube-apiserver's decoder answers. */
  #decodedMeta(r: ServedResource, meta: Record<string, unknown>): void {
    const e = metadataShapeErrors(meta)[0];
    if (e !== undefined) {
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${e.field}: ${e.message}`,
      );
    }
  }

  /** Metadata rules plus the kind's own validation (the shape again: mutating webhooks ran since). */
  #validate(r: ServedResource, obj: Obj): FieldError[] {
    const s = this.strategy(r);
    const shape = metadataShapeErrors(obj.metadata);
    if (shape.length > 0) return shape;
    return [...validateObjectMeta(obj, s.nameRule), ...s.validate(obj)];
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
    this.#decodedMeta(r, meta);
    if (r.namespaced && meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    // As in kube-apiserver, mutating webhooks see an object without a name; the name is
    // generated after them.
    const generate = (meta.name ?? "") === "" && typeof meta.generateName === "string" && meta.generateName !== "";
    checkNamespace(this.store, r, namespace, "CREATE");
    const warnings: string[] = [];
    const strategy = this.strategy(r);
    let obj = freshObject(r, body, r.namespaced ? namespace : undefined);
    if (strategy.tracksGeneration) obj.metadata.generation = 1;
    strategy.prepareForCreate(obj);
    const name = obj.metadata.name ?? "";
    this.#decoded(r, this.#schema(r, obj, opts, warnings));
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
      obj.metadata = { ...obj.metadata, name: generatedName(obj.metadata.generateName ?? "") };
    }
    const finalName = obj.metadata.name ?? "";
    // Mutating webhooks may add fields; prune, default and validate what will be stored.
    const errors = this.#schema(r, obj, { ...opts, fieldValidation: "Ignore" }, warnings);
    errors.push(...this.#validate(r, obj));
    if (errors.length > 0) throw invalid(this.#target(r, finalName), errors);
    await this.#validateAdmission(req(obj, finalName), warnings);
    await this.#latency();
    const key = storageKey(r);
    if (this.store.get(key, objectKey(obj.metadata.namespace, finalName)) !== undefined) {
      throw alreadyExists(this.#target(r, finalName));
    }
    checkNamespace(this.store, r, namespace, "CREATE");
    obj = strategy.canonicalize(obj);
    if (opts.dryRun === true) return { object: obj, warnings, code: 201 };
    const stored = this.store.commit(key, "ADDED", obj);
    strategy.afterCommit(stored, undefined);
    this.#gc.checkOwners(stored);
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
   * Refuses an update whose body carries a stale resourceVersion before the body is parsed:
   * the 409 the update would answer anyway, for the cost of scanning the body's head. Many
   * agents writing one big pool lose most writes, and each lost write's megabyte was parsed
   * only to be refused (docs/performance.md, scale-out). Anything the update would answer
   * otherwise first (what #checkHead refuses, an object that is not there, a head that is
   * not JSON as far as the scan reads) is left to it.
   */
  precheckUpdate(r: ServedResource, namespace: string, name: string, subresource: string, raw: Buffer): void {
    if (!(subresource === "" || (subresource === "status" && r.statusSubresource))) return;
    let rv: unknown;
    try {
      const head = {
        apiVersion: memberJson(raw, ["apiVersion"]),
        kind: memberJson(raw, ["kind"]),
        metadata: memberJson(raw, ["metadata"]),
      };
      rv = this.#checkHead(r, namespace, name, head, subresource).resourceVersion;
    } catch {
      return;
    }
    if (typeof rv !== "string" || rv === "") return;
    const current = this.store.get(storageKey(r), objectKey(r.namespaced ? namespace : undefined, name));
    if (current === undefined || current.metadata.resourceVersion === rv) return;
    throw conflict(this.#target(r, name), STALE);
  }

  /**
   * What an update checks of the body before anything else (kind, name, namespace), as
   * kube-apiserver's 400s; the body's metadata.
   */
  #checkHead(
    r: ServedResource,
    namespace: string,
    name: string,
    body: Record<string, unknown>,
    subresource: string,
  ): Obj["metadata"] {
    if (subresource !== "scale") this.#checkKind(r, body);
    const meta = (body["metadata"] ?? {}) as Obj["metadata"];
    if (!isObj(meta)) throw badRequest("metadata must be an object");
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (r.namespaced && meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    return meta;
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
    const scale = subresource === "scale";
    const meta = this.#checkHead(r, namespace, name, body, subresource);
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
    const build = scale ? (current: Obj) => withScale(r, current, body) : () => body as Obj;
    return this.#write(r, namespace, name, build, rv, subresource, opts);
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
    const build =
      subresource === "scale"
        ? (current: Obj) => withScale(r, current, applyPatch(type, scaleOf(current) as Obj, patchBody))
        : (current: Obj) => applyPatch(type, current, patchBody);
    return this.#write(r, namespace, name, build, rv, subresource, opts);
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
    if (
      subresource !== "" &&
      !(subresource === "status" && r.statusSubresource) &&
      !(subresource === "scale" && hasScale(r))
    ) {
      throw notFound(this.#target(r, `${name}/${subresource}`));
    }
    const old = this.get(r, namespace, name);
    if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion)
      throw conflict(this.#target(r, name), STALE);
    const warnings: string[] = [];
    let next = structuredClone(build(structuredClone(old)));
    if (!isObj(next) || !isObj(next.metadata)) throw badRequest("the result must be an object with metadata");
    this.#decodedMeta(r, next.metadata);
    // A resourceVersion written by the body or a patch is a precondition, whatever the verb.
    const wanted = next.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== "" && wanted !== old.metadata.resourceVersion) {
      throw conflict(this.#target(r, name), STALE);
    }
    next = carryOver(r, old, next, subresource);
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
    this.#decoded(r, this.#schema(r, next, opts, warnings));
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
    next = carryOver(r, old, next, subresource);
    const errors = this.#schema(r, next, { ...opts, fieldValidation: "Ignore" }, warnings);
    errors.push(...this.#validate(r, next));
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
    const strategy = this.strategy(r);
    if (strategy.tracksGeneration && specChanged(r, old, next))
      next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next = strategy.canonicalize(next);
    const unchanged = same(next, {
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
      afterDelete(this, r, gone);
      return { object: gone, warnings, code: 200 };
    }
    const stored = this.store.commit(storageKey(r), "MODIFIED", next);
    strategy.afterCommit(stored, old);
    this.#gc.checkOwners(stored);
    if (stored.metadata.deletionTimestamp !== undefined) this.#gc.schedule(stored.metadata.uid);
    return { object: stored, warnings, code: 200 };
  }

  async delete(r: ServedResource, namespace: string, name: string, opts: DeleteOptions = {}): Promise<WriteResult> {
    const old = this.get(r, namespace, name);
    const t = this.#target(r, name);
    checkPreconditions(t, old, opts);
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
    checkPreconditions(t, current, opts);
    return { ...this.deleteNow(r, current, opts), warnings };
  }

  /** Finishes graceful pod deletions, as the kubelet would once containers stop (tests call this). */
  finishPodDeletion(namespace: string, name: string): boolean {
    const pod = this.store.get("pods", objectKey(namespace, name));
    if (pod === undefined || pod.metadata.deletionTimestamp === undefined) return false;
    this.deleteNow(this.builtin("pods"), pod, { gracePeriodSeconds: 0 });
    return true;
  }
}

export type { EventType };
