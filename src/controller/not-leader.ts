/**
 * A write dropped because this replica lost the Lease before making it: the new leader
 * reconciles the object, so the work queues do not retry it. One class for every
 * leader-only controller, so the bundle does not rename a duplicate (scripts/bundle-names.ts).
 */
import { SpiderpoolError } from "../errors/base.ts";

export class NotLeaderError extends SpiderpoolError {
  readonly code = "ERR_NOT_LEADER";
}
