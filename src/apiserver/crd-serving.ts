/**
 * CustomResourceDefinitions as kube-apiserver's apiextensions server handles them: what a
 * CRD must hold to be accepted, the status it is stored with (names accepted, Established
 * at once), and serving its resources from the moment it is created until it is deleted,
 * when its objects go with it.
 */
import { lintStructural } from "../api/structural.ts";
import type { JsonSchema } from "../api/openapi.ts";
import { now } from "./object-meta.ts";
import { resourcesOfCrd, storageKey, type CrdObject } from "./resources.ts";
import type { FieldError } from "./schema.ts";
import type { RegistryCore } from "./strategy.ts";
import type { Obj } from "./store.ts";

export function validateCrd(obj: Obj): FieldError[] {
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

/** The status a CRD is stored with: its names accepted and Established, with no controller in between. */
export function withCrdStatus(obj: Obj): Obj {
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
export function syncCrd(core: RegistryCore, current: Obj | undefined, old: Obj | undefined): void {
  if (old !== undefined) for (const r of resourcesOfCrd(old as unknown as CrdObject)) core.unserve(r);
  if (current !== undefined) {
    for (const r of resourcesOfCrd(current as unknown as CrdObject)) core.serve(r);
  } else if (old !== undefined) {
    for (const r of resourcesOfCrd(old as unknown as CrdObject)) {
      for (const obj of core.store.list(storageKey(r))) core.store.commit(storageKey(r), "DELETED", obj);
    }
  }
}
