/**
 * spiderpool-agent configuration: the environment of spec §6.2 and the `conf.yml` of the
 * spiderpool-conf ConfigMap (§6.1), with upstream's defaults. Invalid values are refused at
 * start with the variable's name, not discovered later.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { SpiderpoolError } from "../errors/base.ts";

export class AgentConfigError extends SpiderpoolError {
  readonly code = "ERR_AGENT_CONFIG";
}

export interface AgentConfig {
  logLevel: "debug" | "info" | "warn" | "error" | "fatal";
  podNamespace: string;
  podName: string;
  nodeName: string;
  healthPort: number;
  metricPort: number;
  enableMetric: boolean;
  /** Address for the health and metrics servers; loopback unless the manifests say otherwise. */
  bindAddress: string;
  maxAllocatedIPs: number;
  waitSubnetPoolSeconds: number;
  waitSubnetPoolMaxRetries: number;
  enableReleaseConflictIPs: boolean;
  multusClusterNetwork: string;
  socketPath: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
  enableSpiderSubnet: boolean;
  enableAutoPoolForApplication: boolean;
  enableIPConflictDetection: boolean;
  enableGatewayDetection: boolean;
  /** Bounded retries of a pool status write that keeps conflicting: at most this many… */
  maxWriteRetries: number;
  /** …and for at most this long. */
  writeDeadlineSeconds: number;
}

const DEFAULTS = {
  socketPath: "/var/run/spidernet/spiderpool.sock",
};

function bool(env: NodeJS.ProcessEnv, key: string, dflt: boolean): boolean {
  const v = env[key];
  if (v === undefined || v === "") return dflt;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw new AgentConfigError(`${key}='${v}' is not a boolean`);
}

function int(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const v = env[key];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new AgentConfigError(`${key}='${v}' must be an integer >= ${min}`);
  return n;
}

function str(env: NodeJS.ProcessEnv, key: string, dflt?: string): string {
  const v = env[key];
  if (v !== undefined && v !== "") return v;
  if (dflt !== undefined) return dflt;
  throw new AgentConfigError(`${key} is required`);
}

interface ConfFile {
  ipamUnixSocketPath?: string;
  enableIPv4?: boolean;
  enableIPv6?: boolean;
  enableStatefulSet?: boolean;
  enableKubevirtStaticIP?: boolean;
  enableSpiderSubnet?: boolean;
  enableAutoPoolForApplication?: boolean;
  enableIPConflictDetection?: boolean;
  enableGatewayDetection?: boolean;
}

export function readConfFile(path: string | undefined): ConfFile {
  if (path === undefined) return {};
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new AgentConfigError(`cannot read config file '${path}': ${(err as Error).message}`, { cause: err });
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new AgentConfigError(`config file '${path}' is not a YAML mapping`);
  const conf = raw as Record<string, unknown>;
  for (const k of [
    "enableIPv4",
    "enableIPv6",
    "enableStatefulSet",
    "enableKubevirtStaticIP",
    "enableSpiderSubnet",
    "enableAutoPoolForApplication",
    "enableIPConflictDetection",
    "enableGatewayDetection",
  ]) {
    if (conf[k] !== undefined && typeof conf[k] !== "boolean")
      throw new AgentConfigError(`config file '${path}': ${k} must be true or false`);
  }
  if (conf["ipamUnixSocketPath"] !== undefined && typeof conf["ipamUnixSocketPath"] !== "string") {
    throw new AgentConfigError(`config file '${path}': ipamUnixSocketPath must be a string`);
  }
  return conf as ConfFile;
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env, confPath?: string): AgentConfig {
  const conf = readConfFile(confPath);
  const level = str(env, "SPIDERPOOL_LOG_LEVEL", "info").toLowerCase();
  if (!["debug", "info", "warn", "error", "fatal", "panic"].includes(level)) {
    throw new AgentConfigError(`SPIDERPOOL_LOG_LEVEL='${level}' is not one of debug, info, warn, error, fatal, panic`);
  }
  return {
    logLevel: (level === "panic" ? "fatal" : level) as AgentConfig["logLevel"],
    podNamespace: str(env, "SPIDERPOOL_POD_NAMESPACE"),
    podName: str(env, "SPIDERPOOL_POD_NAME"),
    nodeName: str(env, "SPIDERPOOL_NODE_NAME"),
    healthPort: int(env, "SPIDERPOOL_HEALTH_PORT", 5710),
    metricPort: int(env, "SPIDERPOOL_METRIC_HTTP_PORT", 5711),
    enableMetric: bool(env, "SPIDERPOOL_ENABLED_METRIC", false),
    bindAddress: str(env, "SPIDERPOOL_BIND_ADDRESS", "127.0.0.1"),
    maxAllocatedIPs: int(env, "SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS", 5000, 1),
    waitSubnetPoolSeconds: int(env, "SPIDERPOOL_WAIT_SUBNET_POOL_TIME_IN_SECOND", 2),
    waitSubnetPoolMaxRetries: int(env, "SPIDERPOOL_WAIT_SUBNET_POOL_MAX_RETRIES", 25),
    enableReleaseConflictIPs: bool(env, "SPIDERPOOL_ENABLED_RELEASE_CONFLICT_IPS", true),
    multusClusterNetwork: env["MULTUS_CLUSTER_NETWORK"] ?? "",
    socketPath: conf.ipamUnixSocketPath ?? DEFAULTS.socketPath,
    enableIPv4: conf.enableIPv4 ?? true,
    enableIPv6: conf.enableIPv6 ?? true,
    enableStatefulSet: conf.enableStatefulSet ?? true,
    enableKubevirtStaticIP: conf.enableKubevirtStaticIP ?? true,
    enableSpiderSubnet: conf.enableSpiderSubnet ?? true,
    enableAutoPoolForApplication: conf.enableAutoPoolForApplication ?? true,
    enableIPConflictDetection: conf.enableIPConflictDetection ?? false,
    enableGatewayDetection: conf.enableGatewayDetection ?? false,
    maxWriteRetries: int(env, "SPIDERPOOL_TS_MAX_WRITE_RETRIES", 2000, 1),
    writeDeadlineSeconds: int(env, "SPIDERPOOL_TS_WRITE_DEADLINE_SECONDS", 30, 1),
  };
}
