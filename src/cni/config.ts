/**
 * The network configuration (stdin) of a CNI call as the IPAM plugin `spiderpool` reads
 * it: `cniVersion`, `name`, and the `ipam` object with Spiderpool's keys (spec §4.1).
 */
import { CniCode, CniError } from "./errors.ts";
import { isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from "./version.ts";

export const DEFAULT_SOCKET_PATH = "/var/run/spidernet/spiderpool.sock";
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal", "panic"] as const;

export interface Attachment {
  containerID: string;
  ifname: string;
}

export interface IpamConfig {
  type: string;
  logLevel: (typeof LOG_LEVELS)[number];
  defaultIPv4IPPool: string[];
  defaultIPv6IPPool: string[];
  cleanGateway: boolean;
  matchMasterSubnet: boolean;
  socketPath: string;
}

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  /** The main plugin's type (macvlan, ipvlan, …) or spiderpool itself. */
  type: string;
  ipam: IpamConfig;
  /** The VF's PCI address Multus adds to an SR-IOV attachment's netconf (from the device plugin). */
  deviceID?: string;
  /** CNI 1.1 GC: the attachments that are still valid on this network. */
  validAttachments?: Attachment[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const invalid = (details: string): CniError =>
  new CniError(CniCode.InvalidNetworkConfig, "invalid network configuration", details);

function stringList(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw invalid(`ipam.${key} must be a list of pool names`);
  return v as string[];
}

function bool(v: unknown, key: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalid(`ipam.${key} must be true or false`);
  return v;
}

function int(v: unknown, key: string): void {
  if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v))) {
    throw invalid(`ipam.${key} must be an integer`);
  }
}

export function parseNetConf(text: string): NetConf {
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
      `unsupported specified CNI version ${String(version ?? "")}, the CNI versions supported by Spiderpool: [${SUPPORTED_VERSIONS.join(" ")}]`,
    );
  }
  const ipam = raw["ipam"];
  if (!isObj(ipam)) throw invalid("the 'ipam' object is missing");
  const type = ipam["type"];
  if (type !== "spiderpool") throw invalid(`ipam.type must be 'spiderpool', got '${String(type ?? "")}'`);
  const level = ipam["log_level"] ?? "debug";
  const logLevel = LOG_LEVELS.find((l) => typeof level === "string" && l === level.toLowerCase());
  if (logLevel === undefined) throw invalid(`ipam.log_level '${String(level)}' is not one of ${LOG_LEVELS.join(", ")}`);
  for (const k of ["log_file_max_size", "log_file_max_age", "log_file_max_count"]) int(ipam[k], k);
  if (ipam["log_file_path"] !== undefined && typeof ipam["log_file_path"] !== "string")
    throw invalid("ipam.log_file_path must be a string");
  const socket = ipam["ipam_unix_socket_path"];
  if (socket !== undefined && typeof socket !== "string") throw invalid("ipam.ipam_unix_socket_path must be a string");
  const out: NetConf = {
    cniVersion: version,
    name: typeof raw["name"] === "string" ? raw["name"] : "",
    type: typeof raw["type"] === "string" ? raw["type"] : "",
    ipam: {
      type,
      logLevel,
      defaultIPv4IPPool: stringList(ipam["default_ipv4_ippool"], "default_ipv4_ippool"),
      defaultIPv6IPPool: stringList(ipam["default_ipv6_ippool"], "default_ipv6_ippool"),
      cleanGateway: bool(ipam["clean_gateway"], "clean_gateway"),
      matchMasterSubnet: bool(ipam["match_master_subnet"], "match_master_subnet"),
      socketPath: typeof socket === "string" && socket !== "" ? socket : DEFAULT_SOCKET_PATH,
    },
  };
  if (typeof raw["deviceID"] === "string" && raw["deviceID"] !== "") out.deviceID = raw["deviceID"];
  const valid = raw["cni.dev/valid-attachments"];
  if (valid !== undefined) {
    if (!Array.isArray(valid)) throw invalid("cni.dev/valid-attachments must be a list");
    out.validAttachments = valid.map((a, i) => {
      if (!isObj(a) || typeof a["containerID"] !== "string" || typeof a["ifname"] !== "string") {
        throw invalid(`cni.dev/valid-attachments[${i}] needs containerID and ifname`);
      }
      return { containerID: a["containerID"], ifname: a["ifname"] };
    });
  }
  return out;
}
