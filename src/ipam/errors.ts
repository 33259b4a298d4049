/**
 * Allocation failures, one class per kind, with upstream's message texts (users and e2e
 * suites match them in pod events). The agent maps them to CNI errors once.
 */
import { SpiderpoolError } from "../errors/base.ts";

export type IpamErrorCode =
  | "ERR_NO_POOL_RULES"
  | "ERR_POOL_NOT_FOUND"
  | "ERR_DUPLICATE_POOL"
  | "ERR_ALL_POOLS_FILTERED"
  | "ERR_IP_USED_OUT"
  | "ERR_ALLOCATION_FAILED"
  | "ERR_DEAD_POD"
  | "ERR_WRONG_INPUT"
  | "ERR_SUBNET_FEATURE"
  | "ERR_POOL_SHRINK_BLOCKED"
  | "ERR_SUBNET_EXHAUSTED"
  | "ERR_RETRIES_EXHAUSTED"
  | "ERR_DATA_BROKEN"
  | "ERR_MASTER_NOT_FOUND";

export class IpamError extends SpiderpoolError {
  readonly code: IpamErrorCode;
  constructor(code: IpamErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export const noPoolRules = (): IpamError =>
  new IpamError("ERR_NO_POOL_RULES", "no IPPool available, no pool selection rules of any type are specified");

export const poolNotFound = (pool: string): IpamError =>
  new IpamError(
    "ERR_POOL_NOT_FOUND",
    `failed to get original IPPool ${pool}: spiderippools.spiderpool.spidernet.io "${pool}" not found`,
  );

export const duplicatePool = (pool: string, nic: string): IpamError =>
  new IpamError("ERR_DUPLICATE_POOL", `wrong input, duplicate IPPool ${pool} specified for NIC ${nic}`);

/** Go's `%v` of a string slice: `[a b c]`. */
export const goList = (xs: readonly string[]): string => `[${xs.join(" ")}]`;

export const allFiltered = (
  family: 4 | 6,
  pools: readonly string[],
  nic: string,
  reasons: readonly string[],
): IpamError =>
  new IpamError(
    "ERR_ALL_POOLS_FILTERED",
    `no IPPool available, all IPv${family} IPPools ${goList(pools)} of ${nic} filtered out: ${reasons.length === 1 ? reasons[0] : `[${reasons.join(", ")}]`}`,
  );

/** A pool whose spec or records cannot be read: no decision is made on it, nothing is written. */
export const poolUnreadable = (pool: string, cause: unknown): IpamError =>
  new IpamError("ERR_DATA_BROKEN", `IPPool ${pool} cannot be read: ${(cause as Error).message ?? String(cause)}`, {
    cause,
  });

export const usedOut = (): IpamError => new IpamError("ERR_IP_USED_OUT", "all IP addresses used out");

export const recordCapExceeded = (max: number, pool: string): IpamError =>
  new IpamError(
    "ERR_IP_USED_OUT",
    `all IP addresses used out, threshold of IP records(<=${max}) for IPPool ${pool} exceeded`,
  );

export const allocationFailed = (
  family: 4 | 6,
  nic: string,
  pools: readonly string[],
  errors: readonly Error[],
): IpamError =>
  new IpamError(
    "ERR_ALLOCATION_FAILED",
    `failed to allocate any IPv${family} IP address to NIC ${nic} from IPPools ${goList(pools)}: ${errors.length === 1 ? errors[0]?.message : `[${errors.map((e) => e.message).join(", ")}]`}`,
    { cause: errors[0] },
  );

export const deadPod = (ns: string, name: string): IpamError =>
  new IpamError("ERR_DEAD_POD", `dead Pod ${ns}/${name}, we cannot allocate IP addresees to it`);

export const retriesExhausted = (what: string, attempts: number): IpamError =>
  new IpamError("ERR_RETRIES_EXHAUSTED", `exhaust all retries (${attempts} times), ${what}`);

/**
 * Upstream wraps every failure of the allocation proper (candidates, filters, draws) in this
 * text; tools match it. The code stays the cause's, and the cause stays reachable, so a
 * transient cause is still told apart at the CNI boundary.
 */
export const inStandardMode = (err: unknown): IpamError =>
  new IpamError(
    err instanceof IpamError ? err.code : "ERR_ALLOCATION_FAILED",
    `failed to allocate IP addresses in standard mode: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
