/**
 * CNI errors: the spec's well-known codes, and the error object a plugin prints. The
 * agent maps its own errors to these once, at the CNI boundary.
 */
import { SpiderpoolError } from "../errors/base.ts";

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** libcni's ErrInternal: what Go plugins return for their own failures (upstream Spiderpool included). */
  Internal: 999,
} as const;

export class CniError extends SpiderpoolError {
  readonly code = "ERR_CNI";
  readonly cniCode: number;
  readonly msg: string;
  readonly details: string;
  constructor(cniCode: number, msg: string, details = "", options?: ErrorOptions) {
    super(details === "" ? msg : `${msg}: ${details}`, options);
    this.cniCode = cniCode;
    this.msg = msg;
    this.details = details;
  }

  /** The error object of the CNI spec, in the netconf's version. */
  toJSON(cniVersion: string): Record<string, unknown> {
    const out: Record<string, unknown> = { cniVersion, code: this.cniCode, msg: this.msg };
    if (this.details !== "") out["details"] = this.details;
    return out;
  }
}
