/**
 * spiderpool-agent configuration: the environment of spec §6.2 and the `conf.yml` of the
 * spiderpool-conf ConfigMap (§6.1), with upstream's defaults. Invalid values are refused at
 * start with the variable's name, not discovered later.
 */
import { defaultFlexibleIPNumber, readConfMapping } from "../daemon/conf-file.ts";
import { EnvReader } from "../daemon/env.ts";
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
  /** The RDMA metrics exporter (spec §5), on its own port. */
  enableRdmaMetric: boolean;
  rdmaMetricPort: number;
  /** Address for the health and metrics servers; loopback unless the manifests say otherwise. */
  bindAddress: string;
  maxAllocatedIPs: number;
  /** Pause between looks for an application's auto-created pool. */
  waitSubnetPoolMs: number;
  waitSubnetPoolMaxRetries: number;
  /** The "+N" of auto-created pools whose application sets no ippool-ip-number. */
  defaultFlexibleIPNumber: number;
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
  /** Bounded retries of a pool status write that keeps conflicting: each call in at most this many writes… */
  maxWriteRetries: number;
  /** …and for at most this long from its arrival. */
  writeDeadlineSeconds: number;
  /**
   * How the agent follows pools: "full" (every version's body on the watch) or "metadata"
   * (versions as metadata only, a pool's body read when a write needs it).
   */
  poolWatch: "full" | "metadata";
  /** Events on pods per allocation and release (issue 22): bucket size (0: none) and refill per minute. */
  ipEventsBurst: number;
  ipEventsPerMinute: number;
}

const DEFAULTS = {
  socketPath: "/var/run/spidernet/spiderpool.sock",
};

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

const BOOLEAN_KEYS = new Set([
  "enableIPv4",
  "enableIPv6",
  "enableStatefulSet",
  "enableKubevirtStaticIP",
  "enableSpiderSubnet",
  "enableAutoPoolForApplication",
  "enableIPConflictDetection",
  "enableGatewayDetection",
]);

export function readConfFile(path: string | undefined): ConfFile & { flexible: number } {
  const fail = (m: string): AgentConfigError => new AgentConfigError(m);
  const conf = readConfMapping(path, fail, (k) => BOOLEAN_KEYS.has(k));
  if (conf["ipamUnixSocketPath"] !== undefined && typeof conf["ipamUnixSocketPath"] !== "string") {
    throw new AgentConfigError(`config file '${path ?? ""}': ipamUnixSocketPath must be a string`);
  }
  return { ...(conf as ConfFile), flexible: defaultFlexibleIPNumber(conf, path ?? "", fail) };
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env, confPath?: string): AgentConfig {
  const conf = readConfFile(confPath);
  const e = new EnvReader(env, (m) => new AgentConfigError(m));
  const level = e.str("SPIDERPOOL_LOG_LEVEL", "info").toLowerCase();
  if (!["debug", "info", "warn", "error", "fatal", "panic"].includes(level)) {
    throw new AgentConfigError(`SPIDERPOOL_LOG_LEVEL='${level}' is not one of debug, info, warn, error, fatal, panic`);
  }
  return {
    logLevel: (level === "panic" ? "fatal" : level) as AgentConfig["logLevel"],
    podNamespace: e.str("SPIDERPOOL_POD_NAMESPACE"),
    podName: e.str("SPIDERPOOL_POD_NAME"),
    nodeName: e.str("SPIDERPOOL_NODE_NAME"),
    healthPort: e.int("SPIDERPOOL_HEALTH_PORT", 5710),
    metricPort: e.int("SPIDERPOOL_METRIC_HTTP_PORT", 5711),
    enableMetric: e.bool("SPIDERPOOL_ENABLED_METRIC", false),
    enableRdmaMetric: e.bool("SPIDERPOOL_ENABLED_RDMA_METRIC", false),
    rdmaMetricPort: e.int("SPIDERPOOL_RDMA_METRIC_HTTP_PORT", 5713),
    bindAddress: e.str("SPIDERPOOL_BIND_ADDRESS", "127.0.0.1"),
    maxAllocatedIPs: e.int("SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS", 5000, 1),
    // SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS: a sub-second pause for tests and the sandbox.
    waitSubnetPoolMs:
      env["SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS"] !== undefined && env["SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS"] !== ""
        ? e.int("SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS", 0, 1)
        : e.int("SPIDERPOOL_WAIT_SUBNET_POOL_TIME_IN_SECOND", 2) * 1000,
    waitSubnetPoolMaxRetries: e.int("SPIDERPOOL_WAIT_SUBNET_POOL_MAX_RETRIES", 25),
    defaultFlexibleIPNumber: conf.flexible,
    enableReleaseConflictIPs: e.bool("SPIDERPOOL_ENABLED_RELEASE_CONFLICT_IPS", true),
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
    maxWriteRetries: e.int("SPIDERPOOL_TS_MAX_WRITE_RETRIES", 2000, 1),
    writeDeadlineSeconds: e.int("SPIDERPOOL_TS_WRITE_DEADLINE_SECONDS", 30, 1),
    poolWatch: poolWatchOf(e.str("SPIDERPOOL_TS_POOL_WATCH", "metadata")),
    ipEventsBurst: e.int("SPIDERPOOL_TS_IP_EVENTS_BURST", 3, 0),
    ipEventsPerMinute: e.int("SPIDERPOOL_TS_IP_EVENTS_PER_MINUTE", 3, 0),
  };
}

function poolWatchOf(v: string): AgentConfig["poolWatch"] {
  if (v === "metadata" || v === "full") return v;
  throw new AgentConfigError(`SPIDERPOOL_TS_POOL_WATCH='${v}' is not one of full, metadata`);
}
