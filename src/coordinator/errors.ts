/**
 * The coordinator's failures, one class per kind, each carrying upstream's message text
 * (users' alerts and e2e suites match it). They become CNI error objects in one place,
 * {@link toCniError}, at the role handler's boundary.
 */
import { CniCode, CniError } from "../cni/errors.ts";
import { SpiderpoolError } from "../errors/base.ts";

/** The netconf or its merge with the agent's config is invalid (`failed to parse config: …`). */
export class CoordinatorConfigError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_CONFIG";
}

/** The agent could not answer the coordinator config (`failed to GetCoordinatorConfig: …`). */
export class CoordinatorConfigUnavailableError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_CONFIG_UNAVAILABLE";
  /** The agent's own words (the body of its HTTP 500), when it answered at all. */
  readonly reason: string;
  constructor(message: string, reason = "") {
    super(message);
    this.reason = reason;
  }
}

/** The mode cannot work with what the pod already has (§1.3), or is unknown. */
export class CoordinatorModeError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_MODE";
}

/** The pod's or the node's observed state lacks something the plan needs (§1.4, §1.9, §1.13). */
export class CoordinatorStateError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_STATE";
}

/** A step of the plan failed on the kernel; the message is the step's spec text. */
export class CoordinatorApplyError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_APPLY";
}

/** The netns path given by the runtime is not usable (`failed to GetNS %q: %w`). */
export class CoordinatorNetnsError extends SpiderpoolError {
  readonly code = "ERR_COORDINATOR_NETNS";
}

/** Go's `%q` of a string, which upstream's texts use. */
export function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * Upstream is a Go plugin: skel turns every error it returns into code 999 with the whole
 * text as `msg`, so that is what users match; only a version mismatch keeps the spec's code.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(CniCode.Internal, err instanceof Error ? err.message : String(err));
}
