/**
 * The coordinator's network configuration (stdin, §1.2): the keys a NAD may carry, each
 * checked for its type and validity the way upstream's ParseConfig does. Absent keys stay
 * absent here; {@link mergeConfig} fills them from the agent's config.
 */
import { CniCode, CniError } from "../cni/errors.ts";
import { isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from "../cni/version.ts";
import { CoordinatorConfigError, q } from "./errors.ts";
import { parsePolicyRoutes, type PolicyRoute } from "./routes.ts";

export interface CoordinatorNetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  mode?: string;
  tunePodRoutes?: boolean;
  /** Spelled `podDefaultRouteNic` in NADs (not …NIC as in the CR). */
  podDefaultRouteNic?: string;
  podDefaultCniNic?: string;
  podMACPrefix?: string;
  overlayPodCIDR?: string[];
  serviceCIDR?: string[];
  hijackCIDR?: string[];
  policyRoutes?: PolicyRoute[];
  hostRuleTable?: number;
  podRPFilter?: number;
  txQueueLen?: number;
  vethLinkAddress?: string;
  vethMTU?: number;
  logLevel?: string;
  /** The previous plugin's result, as JSON (required on ADD, §1.4 step 1). */
  prevResult?: Record<string, unknown>;
}

const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every failure to read the netconf carries upstream's outer text. */
export function configError(detail: string): CoordinatorConfigError {
  return new CoordinatorConfigError(`failed to parse config: ${detail}`);
}

function opt<T>(raw: Record<string, unknown>, key: string, is: (v: unknown) => v is T, what: string): T | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (!is(v))
    throw configError(`json: cannot unmarshal ${typeof v} into Go struct field Config.${key} of type ${what}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** Upstream's regex, less its accidental `,` in the class (Q4); the unicast bit is checked after it. */
const MAC_PREFIX_RE = /^[a-fA-F0-9][a-fA-F02-9][:-][a-fA-F0-9]{2}$/;
export const MAC_PREFIX_ERROR =
  "mac_prefix format should be match regex: [a-fA-F0-9][a-fA-F,0,2-9][:][a-fA-F0-9]{2}, like '0a:1b'";

/** A `hh:hh` prefix, lowercased with `:`; refuses what upstream's regex refuses, and multicast (Q4). */
export function parseMacPrefix(prefix: string): string {
  if (!MAC_PREFIX_RE.test(prefix)) throw configError(MAC_PREFIX_ERROR);
  const norm = prefix.toLowerCase().replace("-", ":");
  if ((parseInt(norm.slice(0, 2), 16) & 1) !== 0)
    throw configError(
      `invalid podMACPrefix ${q(prefix)}: not a unicast MAC: the lowest bit of the first byte must be 0`,
    );
  return norm;
}

/** rp_filter: -1 leaves the sysctl alone; any other negative is refused (upstream let it through to the kernel). */
export function checkRPFilter(v: number): number {
  if (v < -1 || v > 2) throw configError(`invalid rp_filter value ${v}, available options: [-1,0,1,2]`);
  return v;
}

export function parseCoordinatorNetConf(text: string): CoordinatorNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, "failed to decode the network configuration", (err as Error).message);
  }
  if (!isObj(raw))
    throw new CniError(CniCode.DecodingFailure, "failed to decode the network configuration", "not a JSON object");
  const version = raw["cniVersion"];
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `incompatible CNI versions; config is ${q(String(version ?? ""))}, plugin supports [${SUPPORTED_VERSIONS.map(q).join(" ")}]`,
    );
  }
  const out: CoordinatorNetConf = {
    cniVersion: version,
    name: typeof raw["name"] === "string" ? raw["name"] : "",
    type: typeof raw["type"] === "string" && raw["type"] !== "" ? raw["type"] : "coordinator",
  };
  const set = <K extends keyof CoordinatorNetConf>(k: K, v: CoordinatorNetConf[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set("mode", opt(raw, "mode", isString, "string"));
  set("tunePodRoutes", opt(raw, "tunePodRoutes", isBool, "bool"));
  set("podDefaultRouteNic", opt(raw, "podDefaultRouteNic", isString, "string"));
  set("podDefaultCniNic", opt(raw, "podDefaultCniNic", isString, "string"));
  const prefix = opt(raw, "podMACPrefix", isString, "string");
  if (prefix !== undefined && prefix !== "") out.podMACPrefix = parseMacPrefix(prefix);
  for (const key of ["overlayPodCIDR", "serviceCIDR", "hijackCIDR"] as const) {
    set(key, opt(raw, key, isStrings, "[]string"));
  }
  const routes = raw["policyRoutes"];
  if (routes !== undefined && routes !== null) {
    if (!Array.isArray(routes) || !routes.every((r) => isObj(r) && isString(r["dst"]) && isString(r["gw"])))
      throw configError("policyRoutes must be a list of {dst, gw}");
    out.policyRoutes = routes as PolicyRoute[];
  }
  set("hostRuleTable", opt(raw, "hostRuleTable", isInt, "int"));
  const rp = opt(raw, "podRPFilter", isInt, "int");
  if (rp !== undefined) out.podRPFilter = checkRPFilter(rp);
  opt(raw, "hostRPFilter", isInt, "int");
  set("txQueueLen", opt(raw, "txQueueLen", isInt, "int"));
  set("vethLinkAddress", opt(raw, "vethLinkAddress", isString, "string"));
  const mtu = opt(raw, "vethMTU", isInt, "int");
  // Go's zero value is "absent"; only a negative value was written on purpose.
  if (mtu !== undefined && mtu < 0) throw configError("vethMTU must be greater than 0");
  if (mtu !== undefined && mtu > 0) out.vethMTU = mtu;
  opt(raw, "multusNicPrefix", isString, "string");
  const log = raw["logOptions"];
  if (isObj(log) && log["logLevel"] !== undefined && log["logLevel"] !== "") {
    const level = String(log["logLevel"]).toLowerCase();
    if (!LOG_LEVELS.includes(level)) throw configError(`unsupported log level ${String(log["logLevel"])}`);
    out.logLevel = level;
  }
  const prev = raw["prevResult"];
  if (prev !== undefined && prev !== null) {
    if (!isObj(prev)) throw new CoordinatorConfigError("failed to parse prevResult: prevResult is not a JSON object");
    out.prevResult = prev;
  }
  // Validated here so a bad NAD fails before anything is asked of the agent or the kernel.
  if (out.policyRoutes !== undefined) parsePolicyRoutes(out.policyRoutes);
  return out;
}
