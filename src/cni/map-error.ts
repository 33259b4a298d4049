/**
 * Every failure of a CNI call becomes a CNI error object here, once (spec §4.3):
 * what the runtime should retry (the API server unreachable or timing out, 429/500/503/504,
 * conflict or write retries spent) is 11, "try again later"; everything else an agent
 * raises is upstream's 999. Errors are told apart by their stable `code` and HTTP `status`
 * (src/errors/base.ts), looked for along the `cause` chain: an allocation that failed because
 * its pool write gave up carries that as its cause.
 */
import { CniCode, CniError } from "./errors.ts";

/** Upstream's plugin wraps agent failures this way; users' alerts and e2e suites match it. */
export const ALLOCATION_ERROR_PREFIX = "spiderpool IP allocation error: [POST /ipam/ip][500] postIpamIpFailure  ";

/** Codes of failures that a later attempt may not meet. */
const TRANSIENT_CODES = new Set([
  "ERR_KUBE_TRANSPORT",
  "ERR_CONFLICT_RETRIES_EXHAUSTED",
  "ERR_RETRIES_EXHAUSTED",
  "ERR_API_RETRIES_EXHAUSTED",
]);
/** API answers that say "not now": throttled, failing, unavailable, timed out. */
const TRANSIENT_STATUS = new Set([429, 500, 503, 504]);

interface Coded {
  code?: unknown;
  status?: unknown;
  name?: unknown;
  cause?: unknown;
}

/** True when `err`, or an error it was caused by, is one a retry may not meet. */
export function isTransient(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === "object" && e !== null; depth++) {
    const c = e as Coded;
    if (typeof c.code === "string" && TRANSIENT_CODES.has(c.code)) return true;
    if (c.code === "ERR_KUBE_API" && typeof c.status === "number" && TRANSIENT_STATUS.has(c.status)) return true;
    if (c.name === "TimeoutError") return true;
    e = c.cause;
  }
  return false;
}

/**
 * Failures of the IPAM ADD's own probes (spec §1.12), which upstream's plugin raises itself and
 * so returns without the allocation prefix. An unreachable gateway may answer later (the
 * allocation went back, a retry holds nothing); a conflict lasts until someone acts.
 */
const DETECTION_CODES: Readonly<Record<string, number>> = {
  ERR_IP_CONFLICT: CniCode.Internal,
  ERR_GATEWAY_UNREACHABLE: CniCode.TryAgainLater,
  ERR_DETECTION_FAILED: CniCode.Internal,
};

/** The CNI error of a failed ADD: upstream's wrapping, 11 for what may pass on retry. */
export function addFailure(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const code = (err as Coded | undefined)?.code;
  const detection = typeof code === "string" ? DETECTION_CODES[code] : undefined;
  if (detection !== undefined) return new CniError(detection, (err as Error).message, "", { cause: err });
  const msg = `${ALLOCATION_ERROR_PREFIX}${err instanceof Error ? err.message : String(err)}`;
  return new CniError(isTransient(err) ? CniCode.TryAgainLater : CniCode.Internal, msg, "", { cause: err });
}

/** The CNI error of any other failure (a role handler's, GC's). */
export function cniErrorOf(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(isTransient(err) ? CniCode.TryAgainLater : CniCode.Internal, msg, "", { cause: err });
}
