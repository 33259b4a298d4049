/**
 * The three patch formats the API server accepts: JSON merge patch (RFC 7386), JSON patch
 * (RFC 6902) and strategic merge patch. Strategic merge is implemented as a merge patch
 * that honours `$patch: delete|replace` and drops `$setElementOrder`/`$retainKeys`
 * directives; lists of known built-in kinds merge by their keys (containers by name, …).
 */
import { stringifyJson } from "../api/int64.ts";

export class PatchError extends Error {}

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new PatchError(`JSON pointer '${path}' must start with '/'`);
  return path.slice(1).split("/").map(unescapePointer);
}

function getAt(doc: Json, parts: string[]): Json {
  let cur = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function deepEqual(a: Json, b: Json): boolean {
  return stringifyJson(sortDeep(a)) === stringifyJson(sortDeep(b));
}

function sortDeep(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObj(v)) {
    const o: Record<string, Json> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortDeep(v[k]);
    return o;
  }
  return v;
}

export interface JsonPatchOperation {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

/** Applies RFC 6902 operations to a copy; a failed `test` or a bad path throws PatchError. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch is a list of operations");
  let root = structuredClone(doc);
  const parentOf = (parts: string[], path: string): [Record<string, Json> | Json[], string] => {
    if (parts.length === 0) throw new PatchError(`cannot address the document root with '${path}'`);
    const parent = getAt(root, parts.slice(0, -1));
    if (!isObj(parent) && !Array.isArray(parent)) throw new PatchError(`path '${path}' does not exist`);
    return [parent, parts[parts.length - 1] as string];
  };
  const add = (path: string, value: Json): void => {
    const parts = pointer(path);
    if (parts.length === 0) {
      root = value;
      return;
    }
    const [parent, key] = parentOf(parts, path);
    if (Array.isArray(parent)) {
      const idx = key === "-" ? parent.length : Number(key);
      if (!Number.isInteger(idx) || idx < 0 || idx > parent.length)
        throw new PatchError(`index '${key}' out of range in '${path}'`);
      parent.splice(idx, 0, value);
    } else parent[key] = value;
  };
  const remove = (path: string): Json => {
    const parts = pointer(path);
    const [parent, key] = parentOf(parts, path);
    if (Array.isArray(parent)) {
      const idx = Number(key);
      if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length)
        throw new PatchError(`index '${key}' out of range in '${path}'`);
      return parent.splice(idx, 1)[0];
    }
    if (!(key in parent)) throw new PatchError(`path '${path}' does not exist`);
    const v = parent[key];
    delete parent[key];
    return v;
  };
  for (const raw of ops) {
    const op = raw as JsonPatchOperation;
    if (typeof op?.path !== "string") throw new PatchError("each operation needs a 'path'");
    switch (op.op) {
      case "add":
        add(op.path, structuredClone(op.value));
        break;
      case "remove":
        remove(op.path);
        break;
      case "replace":
        remove(op.path);
        add(op.path, structuredClone(op.value));
        break;
      case "move": {
        if (typeof op.from !== "string") throw new PatchError("'move' needs 'from'");
        add(op.path, remove(op.from));
        break;
      }
      case "copy": {
        if (typeof op.from !== "string") throw new PatchError("'copy' needs 'from'");
        add(op.path, structuredClone(getAt(root, pointer(op.from))));
        break;
      }
      case "test": {
        const actual = testedValue(root, op.path);
        // As evanphx/json-patch, kube-apiserver's library: a missing member equals null
        // (client-go users such as whereabouts test for null before adding a member).
        const missing = actual === undefined || actual === null;
        const wantsNull = op.value === undefined || op.value === null;
        if (missing ? !wantsNull : !deepEqual(actual, op.value)) {
          throw new PatchError(
            `test failed at '${op.path}': found ${stringifyJson(actual)}, wanted ${stringifyJson(op.value)}`,
          );
        }
        break;
      }
      default:
        throw new PatchError(`unknown JSON patch operation '${String(op.op)}'`);
    }
  }
  return root;
}

/**
 * The value a `test` compares: undefined for a missing member of an existing object; a
 * missing parent or an index beyond an array fails the operation, as in kube-apiserver.
 */
function testedValue(root: Json, path: string): Json {
  const parts = pointer(path);
  if (parts.length === 0) return root;
  const parent = getAt(root, parts.slice(0, -1));
  const key = parts[parts.length - 1] as string;
  if (isObj(parent)) return parent[key];
  if (Array.isArray(parent)) {
    const idx = Number(key);
    if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length)
      throw new PatchError(`test operation does not apply: invalid index '${key}' in '${path}'`);
    return parent[idx];
  }
  throw new PatchError(`test operation does not apply: is missing path: ${path}`);
}

/** Merge keys of the lists of built-in kinds that strategic merge patches update by key. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
  imagePullSecrets: "name",
  tolerations: "key",
  conditions: "type",
  ownerReferences: "uid",
};

export function strategicMergePatch(target: Json, patch: Json, field = ""): Json {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch["$patch"] === "replace") {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch["$patch"] === "delete") return undefined;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/") || k === "$retainKeys" || k === "$patch") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const listKey = k.slice("$deleteFromPrimitiveList/".length);
      const cur = out[listKey];
      if (Array.isArray(cur) && Array.isArray(v)) out[listKey] = cur.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && mergeKey !== undefined && Array.isArray(out[k])) {
      const merged = [...(out[k] as Json[])];
      for (const item of v) {
        if (!isObj(item)) continue;
        const idx = merged.findIndex((m) => isObj(m) && m[mergeKey] === item[mergeKey]);
        if (item["$patch"] === "delete") {
          if (idx >= 0) merged.splice(idx, 1);
        } else if (idx >= 0) merged[idx] = strategicMergePatch(merged[idx], item, k);
        else merged.push(stripDirectives(item));
      }
      out[k] = merged;
      continue;
    }
    const next = strategicMergePatch(out[k], v, k);
    if (next === undefined) delete out[k];
    else out[k] = next;
  }
  void field;
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const o: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) o[k] = stripDirectives(x);
  return o;
}
