/**
 * Request bodies in `application/vnd.kubernetes.protobuf`: the `k8s\0` magic, then a
 * runtime.Unknown holding the TypeMeta and the object's message, decoded to the object's
 * JSON form so the registry sees what a JSON client would have sent. A field this server
 * has no definition for is skipped when it holds its zero value (the Go marshaller writes
 * every non-pointer field) and refused otherwise, so nothing a client set is lost silently.
 */
import { SpiderpoolError } from "../../errors/base.ts";
import { SelfSubjectAccessReview, TokenRequest } from "./authentication.ts";
import { ClusterRole, ClusterRoleBinding, PodDisruptionBudget, PriorityClass, Role, RoleBinding } from "./cluster.ts";
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from "./core.ts";
import type { Field, Message } from "./message.ts";
import { Unknown } from "./meta.ts";
import { BYTES, readFields, VARINT, WireError, type WireField } from "./wire.ts";
import { CronJob, Deployment, Job } from "./workloads.ts";

export const PROTOBUF_TYPE = "application/vnd.kubernetes.protobuf";
const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A protobuf body this server cannot turn into its object. */
export class ProtobufDecodeError extends SpiderpoolError {
  readonly code = "PROTOBUF_UNDECODABLE";
}

/** A protobuf body of a kind this server has no message definitions for. */
export class ProtobufKindError extends SpiderpoolError {
  readonly code = "PROTOBUF_UNKNOWN_KIND";
}

/** The kinds whose protobuf bodies are decoded, by `apiVersion/kind`. */
const KINDS: ReadonlyMap<string, Message> = new Map([
  ["v1/Namespace", Namespace],
  ["v1/ConfigMap", ConfigMap],
  ["v1/Secret", Secret],
  ["v1/Service", Service],
  ["v1/ServiceAccount", ServiceAccount],
  ["apps/v1/Deployment", Deployment],
  ["batch/v1/Job", Job],
  ["batch/v1/CronJob", CronJob],
  ["rbac.authorization.k8s.io/v1/Role", Role],
  ["rbac.authorization.k8s.io/v1/ClusterRole", ClusterRole],
  ["rbac.authorization.k8s.io/v1/RoleBinding", RoleBinding],
  ["rbac.authorization.k8s.io/v1/ClusterRoleBinding", ClusterRoleBinding],
  ["scheduling.k8s.io/v1/PriorityClass", PriorityClass],
  ["policy/v1/PodDisruptionBudget", PodDisruptionBudget],
  ["authentication.k8s.io/v1/TokenRequest", TokenRequest],
  ["authorization.k8s.io/v1/SelfSubjectAccessReview", SelfSubjectAccessReview],
]);

/** Decodes a `k8s\0` envelope to the object it carries, with its apiVersion and kind. */
export function decodeObject(body: Uint8Array): Record<string, unknown> {
  if (body.length < 4 || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufDecodeError("the protobuf body does not start with the k8s\\0 magic");
  }
  const unknown = decodeMessage(body.subarray(4), Unknown, "");
  const typeMeta = (unknown["typeMeta"] ?? {}) as { apiVersion?: string; kind?: string };
  if ((unknown["contentEncoding"] ?? "") !== "") {
    throw new ProtobufDecodeError(`content encoding ${String(unknown["contentEncoding"])} is not supported`);
  }
  const apiVersion = typeMeta.apiVersion ?? "";
  const kind = typeMeta.kind ?? "";
  const m = KINDS.get(`${apiVersion}/${kind}`);
  if (m === undefined) throw new ProtobufKindError(`no protobuf definition for ${apiVersion}, Kind=${kind}`);
  const raw = Buffer.from(String(unknown["raw"] ?? ""), "base64");
  try {
    return { apiVersion, kind, ...decodeMessage(raw, m, "") };
  } catch (err) {
    // Map entries and packed lists are read outside decodeMessage's own guard.
    if (err instanceof WireError) throw new ProtobufDecodeError(`${m.name}: ${err.message}`);
    throw err;
  }
}

function isZero(w: WireField): boolean {
  return w.value instanceof Uint8Array ? w.value.length === 0 : w.value === 0n;
}

export function decodeMessage(buf: Uint8Array, m: Message, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let fields: WireField[];
  try {
    fields = readFields(buf);
  } catch (err) {
    throw new ProtobufDecodeError(`${m.name} at ${path || "."}: ${(err as Error).message}`);
  }
  for (const w of fields) {
    const def = m.fields.get(w.number);
    if (def === undefined) {
      if (isZero(w)) continue;
      throw new ProtobufDecodeError(
        `${m.name} field ${w.number} (at ${path || "."}) is set, and this server does not decode it; send the object as JSON`,
      );
    }
    const at = path === "" ? def.name : `${path}.${def.name}`;
    if (def.map === true) {
      const entry = decodeEntry(w, def, at);
      out[def.name] = { ...(out[def.name] as object | undefined), [entry[0]]: entry[1] };
    } else if (def.repeated === true) {
      const items = (out[def.name] as unknown[] | undefined) ?? [];
      items.push(...decodeRepeated(w, def, at));
      out[def.name] = items;
    } else {
      const v = decodeValue(w, def.type, at);
      if (def.ptr === true ? v !== undefined : !isEmpty(v)) out[def.name] = v;
      else delete out[def.name];
    }
  }
  return out;
}

/** JSON's omitempty: zero scalars and empty objects of non-pointer fields are not written. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === "" || v === 0 || v === false || v === 0n) return true;
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function decodeEntry(w: WireField, def: Field, at: string): [string, unknown] {
  if (!(w.value instanceof Uint8Array)) throw new ProtobufDecodeError(`${at}: a map entry must be length-delimited`);
  let key = "";
  let value: unknown = zeroOf(def.type);
  for (const e of readFields(w.value)) {
    if (e.number === 1) key = String(decodeValue(e, "string", at));
    else if (e.number === 2) value = decodeValue(e, def.type, `${at}.${key}`);
  }
  return [key, value];
}

function zeroOf(type: Field["type"]): unknown {
  if (type === "string" || type === "bytes") return "";
  if (type === "quantity") return "0";
  if (type === "int32" || type === "int64") return 0;
  if (type === "bool") return false;
  return {};
}

function decodeRepeated(w: WireField, def: Field, at: string): unknown[] {
  const numeric = def.type === "int32" || def.type === "int64" || def.type === "bool";
  if (numeric && w.wireType === BYTES && w.value instanceof Uint8Array) {
    // A packed list: varints back to back, read as fields of a synthetic tag.
    const out: unknown[] = [];
    let pos = 0;
    const bytes = w.value;
    while (pos < bytes.length) {
      let end = pos;
      while (end < bytes.length && ((bytes[end] as number) & 0x80) !== 0) end++;
      const tagged = Uint8Array.from([0x08, ...bytes.subarray(pos, end + 1)]);
      out.push(decodeValue(readFields(tagged)[0] as WireField, def.type, at));
      pos = end + 1;
    }
    return out;
  }
  return [decodeValue(w, def.type, at)];
}

function decodeValue(w: WireField, type: Field["type"], at: string): unknown {
  const wantsVarint = type === "int32" || type === "int64" || type === "bool";
  if (wantsVarint !== (w.wireType === VARINT) || (!wantsVarint && w.wireType !== BYTES)) {
    throw new ProtobufDecodeError(
      `${at}: wire type ${w.wireType} does not fit a ${typeof type === "string" ? type : type.name}`,
    );
  }
  const v = w.value;
  if (typeof v === "bigint") {
    if (type === "bool") return v !== 0n;
    const n = BigInt.asIntN(type === "int32" ? 32 : 64, v);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  switch (type) {
    case "string":
      try {
        return UTF8.decode(v);
      } catch {
        throw new ProtobufDecodeError(`${at}: a string that is not UTF-8`);
      }
    case "bytes":
      return Buffer.from(v).toString("base64");
    case "time": {
      const t = decodeMessage(v, TIME, at) as { seconds?: number; nanos?: number };
      if ((t.seconds ?? 0) === 0 && (t.nanos ?? 0) === 0) return undefined;
      return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    }
    case "intOrString": {
      const x = decodeMessage(v, INT_OR_STRING, at) as { type?: number; intVal?: number; strVal?: string };
      return x.type === 1 ? (x.strVal ?? "") : (x.intVal ?? 0);
    }
    case "quantity":
      return (decodeMessage(v, QUANTITY, at) as { string?: string }).string ?? "0";
    default:
      if (typeof type === "string") throw new ProtobufDecodeError(`${at}: unexpected type ${type}`);
      return decodeMessage(v, type, at);
  }
}

const TIME: Message = {
  name: "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
  fields: new Map<number, Field>([
    [1, { name: "seconds", type: "int64" }],
    [2, { name: "nanos", type: "int32" }],
  ]),
};

const INT_OR_STRING: Message = {
  name: "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
  fields: new Map<number, Field>([
    [1, { name: "type", type: "int64" }],
    [2, { name: "intVal", type: "int32" }],
    [3, { name: "strVal", type: "string" }],
  ]),
};

const QUANTITY: Message = {
  name: "k8s.io.apimachinery.pkg.api.resource.Quantity",
  fields: new Map<number, Field>([[1, { name: "string", type: "string" }]]),
};
