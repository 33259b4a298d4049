import { SpiderpoolError } from "../errors/base.ts";

/** A string that is not an IP address in the strict form we accept. */
export class InvalidIPError extends SpiderpoolError {
  readonly code = "ERR_INVALID_IP";
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super(`invalid IP address '${input}': ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** A string that is not `address/prefixLength`. */
export class InvalidCIDRError extends SpiderpoolError {
  readonly code = "ERR_INVALID_CIDR";
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super(`invalid CIDR '${input}': ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** A CIDR with host bits set where a network address is required (`10.0.0.1/24`). */
export class NonCanonicalCIDRError extends SpiderpoolError {
  readonly code = "ERR_NON_CANONICAL_CIDR";
  readonly input: string;
  readonly canonical: string;
  constructor(input: string, canonical: string) {
    super(`CIDR '${input}' is not in canonical network form; did you mean '${canonical}'?`);
    this.input = input;
    this.canonical = canonical;
  }
}

/** A string that is not an IPRange (`a` or `a-b`, same family, start <= end). */
export class InvalidIPRangeError extends SpiderpoolError {
  readonly code = "ERR_INVALID_IP_RANGE";
  readonly input: string;
  readonly reason: string;
  constructor(input: string, reason: string) {
    super(`invalid IP range '${input}': ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}

/** An address, range or CIDR of the wrong family where one family is required. */
export class IPFamilyMismatchError extends SpiderpoolError {
  readonly code = "ERR_IP_FAMILY_MISMATCH";
  readonly input: string;
  readonly expected: 4 | 6;
  constructor(input: string, expected: 4 | 6, where?: string) {
    super(`${where === undefined ? "" : `${where}: `}'${input}' is not an IPv${expected} value`);
    this.input = input;
    this.expected = expected;
  }
}
