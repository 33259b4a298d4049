/**
 * ifacer's failures, one class per kind, each carrying upstream's message text (users'
 * alerts match it). The agent maps them to CNI errors once, in its ifacer role.
 */
import { SpiderpoolError } from "../errors/base.ts";

/** The netconf cannot be used: not JSON, no interfaces, a VLAN ID outside 0–4094, a bad type. */
export class IfacerConfigError extends SpiderpoolError {
  readonly code = "ERR_IFACER_CONFIG";
}

/** A bond mode outside 0–6. */
export class BondModeError extends SpiderpoolError {
  readonly code = "ERR_IFACER_BOND_MODE";
}

/** The bond's `options` text names a value of the wrong type or an unusable one. */
export class BondOptionsError extends SpiderpoolError {
  readonly code = "ERR_IFACER_BOND_OPTIONS";
}

/** Another VLAN link on the node already uses the VLAN ID. */
export class VlanConflictError extends SpiderpoolError {
  readonly code = "ERR_IFACER_VLAN_CONFLICT";
}

/** A link that is not a bond already has the bond's name. */
export class NotABondError extends SpiderpoolError {
  readonly code = "ERR_IFACER_NOT_A_BOND";
}

/** A link the plan needs (a VLAN parent, a bond slave, a bond's primary) is not on the node. */
export class IfacerLinkNotFoundError extends SpiderpoolError {
  readonly code = "ERR_IFACER_LINK_NOT_FOUND";
}

/** The node refused one of the plan's operations. */
export class IfacerApplyError extends SpiderpoolError {
  readonly code = "ERR_IFACER_APPLY";
}
