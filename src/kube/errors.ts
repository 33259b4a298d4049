import { stringifyJson } from "../api/int64.ts";
import { SpiderpoolError } from "../errors/base.ts";
import { isStatus, type StatusCause, type StatusDetails, type StatusReason } from "./status.ts";

/**
 * A non-2xx answer from the API server, parsed from its Status body. Callers branch on
 * `status` and `reason` (`isNotFound(err)`, `isConflict(err)`), never on the message.
 */
export class ApiError extends SpiderpoolError {
  readonly code = "ERR_KUBE_API";
  readonly status: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  /** Seconds to wait before retrying, from Retry-After or the Status details. */
  readonly retryAfterSeconds: number | undefined;
  readonly method: string;
  readonly path: string;

  constructor(init: {
    status: number;
    reason: StatusReason;
    message: string;
    details?: StatusDetails | undefined;
    retryAfterSeconds?: number | undefined;
    method: string;
    path: string;
  }) {
    super(`${init.method} ${init.path}: ${init.status} ${init.reason || "Error"}: ${init.message}`);
    this.status = init.status;
    this.reason = init.reason;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.method = init.method;
    this.path = init.path;
  }

  get causes(): StatusCause[] {
    return this.details?.causes ?? [];
  }

  /** The Status message alone, without the request line. */
  get statusMessage(): string {
    const prefix = `${this.method} ${this.path}: ${this.status} ${this.reason || "Error"}: `;
    return this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
  }

  static from(method: string, path: string, status: number, body: unknown, retryAfterHeader?: string): ApiError {
    return apiErrorFrom(method, path, status, body, retryAfterHeader);
  }
}

// Outside the class: a reference to the class from its own body makes the bundler name the
// class expression _ApiError, and without kept names that would be the error's name.
function apiErrorFrom(
  method: string,
  path: string,
  status: number,
  body: unknown,
  retryAfterHeader?: string,
): ApiError {
  const header = retryAfterHeader !== undefined ? Number(retryAfterHeader) : Number.NaN;
  if (isStatus(body)) {
    return new ApiError({
      status,
      reason: body.reason ?? "",
      message: body.message ?? "",
      details: body.details,
      retryAfterSeconds: Number.isFinite(header) ? header : body.details?.retryAfterSeconds,
      method,
      path,
    });
  }
  const text = typeof body === "string" ? body : (stringifyJson(body) ?? "");
  return new ApiError({
    status,
    reason: reasonForStatus(status),
    message: text.slice(0, 500),
    retryAfterSeconds: Number.isFinite(header) ? header : undefined,
    method,
    path,
  });
}

export function reasonForStatus(status: number): StatusReason {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

export const isApiError = (err: unknown): err is ApiError => err instanceof ApiError;
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof ApiError && err.status === 409 && err.reason === "AlreadyExists";
export const isConflict = (err: unknown): boolean =>
  err instanceof ApiError && err.status === 409 && err.reason === "Conflict";
export const isGone = (err: unknown): boolean =>
  err instanceof ApiError && (err.status === 410 || err.reason === "Expired" || err.reason === "Gone");
export const isInvalid = (err: unknown): boolean => err instanceof ApiError && err.status === 422;
/** Errors a caller may retry after a pause: throttling, timeouts, unavailability. */
export const isRetryable = (err: unknown): boolean =>
  err instanceof ApiError && [429, 500, 503, 504].includes(err.status);

/** A kubeconfig or in-cluster configuration that cannot be used. */
export class KubeConfigError extends SpiderpoolError {
  readonly code = "ERR_KUBE_CONFIG";
}

/** The connection to the API server failed (refused, reset, TLS, timeout). */
export class TransportError extends SpiderpoolError {
  readonly code = "ERR_KUBE_TRANSPORT";
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, cause: unknown) {
    super(`${method} ${path}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.method = method;
    this.path = path;
  }
}

/** A read-modify-write lost every race it was allowed to retry. */
export class ConflictRetriesExhaustedError extends SpiderpoolError {
  readonly code = "ERR_CONFLICT_RETRIES_EXHAUSTED";
  readonly attempts: number;
  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what}: still conflicting after ${attempts} attempts`, { cause });
    this.attempts = attempts;
  }
}
