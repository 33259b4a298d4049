/**
 * Failures of a request, carried to the HTTP layer as kube-apiserver's Status objects
 * (same codes, reasons and message shapes), mapped once in the server.
 */
import type { Status, StatusCause, StatusDetails, StatusReason } from "../kube/status.ts";
import type { FieldError } from "./schema.ts";

export class HttpError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message);
    this.status = status;
  }
}

export interface Target {
  group: string;
  /** The resource (plural) for most messages, e.g. `spiderippools`. */
  resource: string;
  kind: string;
  name: string;
}

function qualified(t: Pick<Target, "group" | "resource">): string {
  return t.group === "" ? t.resource : `${t.resource}.${t.group}`;
}

/**
 * StatusDetails as kube-apiserver serialises them: every field is `omitempty`, so a core-group
 * object's details carry no `group` (client-node and client-go compare the shape).
 */
export function details(
  name: string,
  group: string,
  kind: string,
  rest: { uid?: string | undefined; causes?: StatusCause[] } = {},
): StatusDetails {
  const d: StatusDetails = {};
  if (name !== "") d.name = name;
  if (group !== "") d.group = group;
  if (kind !== "") d.kind = kind;
  if (rest.uid !== undefined && rest.uid !== "") d.uid = rest.uid;
  if (rest.causes !== undefined) d.causes = rest.causes;
  return d;
}

function make(code: number, reason: StatusReason, message: string, details?: Status["details"]): HttpError {
  const st: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details !== undefined) st.details = details;
  return new HttpError(st);
}

export const notFound = (t: Target): HttpError =>
  make(404, "NotFound", `${qualified(t)} "${t.name}" not found`, details(t.name, t.group, t.resource));

export const alreadyExists = (t: Target): HttpError =>
  make(409, "AlreadyExists", `${qualified(t)} "${t.name}" already exists`, details(t.name, t.group, t.resource));

export const conflict = (t: Target, why: string): HttpError =>
  make(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${why}`,
    details(t.name, t.group, t.resource),
  );

export const STALE = "the object has been modified; please apply your changes to the latest version and try again";

export function invalid(t: Target, errors: FieldError[]): HttpError {
  const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
  const parts = errors.map((e) => `${e.field}: ${e.message}`);
  const kindRef = t.group === "" ? t.kind : `${t.kind}.${t.group}`;
  const message = `${kindRef} "${t.name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`}`;
  return make(422, "Invalid", message, details(t.name, t.group, t.kind, { causes }));
}

export const badRequest = (message: string): HttpError => make(400, "BadRequest", message);
export const forbidden = (t: Target, why: string): HttpError =>
  make(403, "Forbidden", `${qualified(t)} "${t.name}" is forbidden: ${why}`, details(t.name, t.group, t.resource));
export const forbiddenMessage = (message: string): HttpError => make(403, "Forbidden", message);
export const methodNotAllowed = (message: string): HttpError => make(405, "MethodNotAllowed", message);
export const unsupportedMediaType = (type: string): HttpError =>
  make(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json (got ${type})`,
  );
export const expired = (message: string): HttpError => make(410, "Expired", message);
export const gone = (message: string): HttpError => make(410, "Gone", message);
export const internal = (message: string): HttpError => make(500, "InternalError", message);
export const timeout = (message: string): HttpError => make(504, "Timeout", message);
export const pathNotFound = (path: string): HttpError =>
  make(404, "NotFound", `the server could not find the requested resource (${path})`);

/** A Status built from a code and message, for fault injection and webhook denials. */
export function statusError(code: number, reason: StatusReason, message: string, causes?: StatusCause[]): HttpError {
  return make(code, reason, message, causes === undefined ? undefined : { causes });
}
