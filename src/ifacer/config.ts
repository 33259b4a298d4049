/**
 * ifacer's netconf (`{"type":"ifacer","interfaces":[…],"vlanID":N,"bond":{…}}`), checked as
 * upstream's plugin checks it, with upstream's messages.
 */
import { isSupportedVersion, type CniVersion } from "../cni/version.ts";
import { IfacerConfigError } from "./errors.ts";

/** Upstream's name for a bond whose `name` is empty. */
export const DEFAULT_BOND_NAME = "sp_bond0";

export interface IfacerBond {
  name: string;
  mode: number;
  /** `k=v;k=v`, parsed when the plan is made (bond-options.ts). */
  options: string;
}

export interface IfacerConf {
  cniVersion: CniVersion;
  interfaces: readonly string[];
  /** 0 means no VLAN. */
  vlanID: number;
  bond?: IfacerBond;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function integer(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new IfacerConfigError(`failed to parse config: ${what} must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseIfacerConf(stdin: string): IfacerConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new IfacerConfigError(`failed to parse config: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new IfacerConfigError("failed to parse config: not a JSON object");
  const version = raw["cniVersion"] ?? "";
  if (!isSupportedVersion(version)) {
    throw new IfacerConfigError(`failed to parse config: unsupported cniVersion ${JSON.stringify(version)}`);
  }
  const ifs = raw["interfaces"] ?? [];
  if (!Array.isArray(ifs) || ifs.some((i) => typeof i !== "string")) {
    throw new IfacerConfigError("failed to parse config: interfaces must be a list of interface names");
  }
  if (ifs.length === 0) throw new IfacerConfigError("invalid config: interfaces have at least one interface");
  const vlanID = integer(raw["vlanID"], "vlanID");
  if (vlanID < 0 || vlanID > 4094) {
    throw new IfacerConfigError(`invalid vlan tag ${vlanID}: vlan tag must be in range [0,4094]`);
  }
  const conf: IfacerConf = { cniVersion: version, interfaces: ifs as string[], vlanID };
  const bond = raw["bond"];
  if (bond !== undefined && bond !== null) {
    if (!isObject(bond)) throw new IfacerConfigError("failed to parse config: bond must be an object");
    const name = bond["name"] ?? "";
    const options = bond["options"] ?? "";
    if (typeof name !== "string") throw new IfacerConfigError("failed to parse config: bond.name must be a string");
    if (typeof options !== "string") {
      throw new IfacerConfigError("failed to parse config: bond.options must be a string");
    }
    conf.bond = { name: name === "" ? DEFAULT_BOND_NAME : name, mode: integer(bond["mode"], "bond.mode"), options };
  }
  return conf;
}
