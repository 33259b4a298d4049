/**
 * Admission verdicts as kube-apiserver's field errors: a rule failure names the field, the
 * value and the reason, and becomes a Status (422 Invalid, 403 Forbidden, 409
 * AlreadyExists) in the AdmissionReview response. Validators return the first failure, in
 * the spec's order.
 */
import { stringifyJson } from "../../api/int64.ts";
import { SpiderpoolError } from "../../errors/base.ts";

/** A mutating webhook refuses the object (controller-runtime's Denied): 403 with the message. */
export class AdmissionDenied extends SpiderpoolError {
  readonly code = "ERR_ADMISSION_DENIED";
}

export type VerdictType = "Invalid" | "Forbidden" | "NotSupported" | "Required" | "AlreadyExists" | "InternalError";

export interface Verdict {
  type: VerdictType;
  field: string;
  value?: unknown;
  detail: string;
}

export const invalid = (field: string, value: unknown, detail: string): Verdict => ({
  type: "Invalid",
  field,
  value,
  detail,
});
export const forbidden = (field: string, detail: string): Verdict => ({ type: "Forbidden", field, detail });
export const notSupported = (field: string, value: unknown, supported: readonly unknown[]): Verdict => ({
  type: "NotSupported",
  field,
  value,
  detail: `supported values: ${supported.map((s) => `"${String(s)}"`).join(", ")}`,
});
export const required = (field: string, detail: string): Verdict => ({ type: "Required", field, detail });
export const alreadyExists = (detail: string): Verdict => ({ type: "AlreadyExists", field: "", detail });

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : (stringifyJson(v) ?? String(v));
}

/** The text of one cause, as kube's field.Error renders it. */
export function causeMessage(v: Verdict): string {
  switch (v.type) {
    case "Invalid":
      return `Invalid value: ${show(v.value)}: ${v.detail}`;
    case "NotSupported":
      return `Unsupported value: ${show(v.value)}: ${v.detail}`;
    case "Forbidden":
      return `Forbidden: ${v.detail}`;
    case "Required":
      return `Required value: ${v.detail}`;
    default:
      return v.detail;
  }
}

const REASONS: Record<VerdictType, string> = {
  Invalid: "FieldValueInvalid",
  NotSupported: "FieldValueNotSupported",
  Forbidden: "FieldValueForbidden",
  Required: "FieldValueRequired",
  AlreadyExists: "AlreadyExists",
  InternalError: "InternalError",
};

/** The Status an AdmissionReview response carries for a verdict. */
export function toStatus(v: Verdict, kind: string, group: string, name: string): Record<string, unknown> {
  if (v.type === "AlreadyExists") {
    return { code: 409, reason: "AlreadyExists", message: v.detail, details: { name, group, kind } };
  }
  if (v.type === "InternalError") return { code: 500, reason: "InternalError", message: v.detail };
  const text = `${v.field}: ${causeMessage(v)}`;
  const forbiddenOnly = v.type === "Forbidden";
  return {
    code: forbiddenOnly ? 403 : 422,
    reason: forbiddenOnly ? "Forbidden" : "Invalid",
    message: `${kind}.${group} "${name}" is ${forbiddenOnly ? "forbidden" : "invalid"}: ${text}`,
    details: { name, group, kind, causes: [{ reason: REASONS[v.type], message: causeMessage(v), field: v.field }] },
  };
}
