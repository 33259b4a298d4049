/**
 * spiderpool-controller configuration: the environment of spec §6.3 and the feature
 * switches of the spiderpool-conf ConfigMap (§6.1), with upstream's defaults. Variables
 * named `SPIDERPOOL_TS_*` are ours (documented in docs/compatibility.md).
 */
import { defaultFlexibleIPNumber, readConfMapping } from "../daemon/conf-file.ts";
import { EnvReader } from "../daemon/env.ts";
import { SpiderpoolError } from "../errors/base.ts";
import type { GcConfig } from "./gc/decide.ts";
import { podResourceSteps, type PodResourceSteps } from "./webhooks/pod-resources.ts";

export class ControllerConfigError extends SpiderpoolError {
  readonly code = "ERR_CONTROLLER_CONFIG";
}

export interface ControllerConfig {
  logLevel: string;
  podNamespace: string;
  podName: string;
  healthPort: number;
  metricPort: number;
  enableMetric: boolean;
  webhookPort: number;
  bindAddress: string;
  /** Webhook endpoint the API server calls: a URL (sandbox, tests) or the Service. */
  webhookUrl: string | undefined;
  webhookServiceName: string;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsCaFile: string | undefined;
  /** The Secret every replica shares the generated certificate through, when no files are mounted. */
  tlsSecretName: string;
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableSpiderSubnet: boolean;
  enableAutoPoolForApplication: boolean;
  /** The "+N" of auto-created pools whose application sets no ippool-ip-number. */
  defaultFlexibleIPNumber: number;
  /** First delay before an auto-pool reconcile that failed is retried (doubles up to 30 s). */
  autoPoolRetryMs: number;
  autoPoolMaxRetries: number;
  /** Every application with a subnet annotation is reconciled again at this period. */
  autoPoolResyncMs: number;
  enableValidatingResourcesDeletedWebhook: boolean;
  enableCoordinator: boolean;
  enableMultusConfig: boolean;
  /** conf.yml `podResourceInject`: the pod webhook and the namespaces it sees. */
  podResourceInject: { enabled: boolean; namespacesExclude: string[]; namespacesInclude: string[] };
  /** The pod webhook's master-NIC and sub-ENI steps, from conf.yml's device-plugin and IaaS keys. */
  podResourceSteps: PodResourceSteps;
  /** Every SpiderMultusConfig is reconciled again at this period (a deleted NAD comes back). */
  multusConfigResyncMs: number;
  /**
   * The SpiderCoordinator whose status the controller keeps (`SPIDERPOOL_COORDINATOR_DEAFULT_NAME`, sic). Its resync
   * period is not read: upstream's resync re-enqueues nothing unchanged, so there is no periodic reconcile to time.
   */
  coordinatorName: string;
  /** The host's CNI configuration directory, where podCIDRType `auto` looks. */
  cniConfigDir: string;
  /** `namespace/name` of Cilium's ConfigMap. */
  ciliumConfigMap: string;
  gc: GcConfig;
  gcTraceGapMs: number;
  gcWorkers: number;
  gcScanIntervalMs: number;
  /** The exhaustion forecast's window (docs/operations.md: two cycles for a daily rhythm). */
  forecastWindowHours: number;
  /**
   * The JSON-lines audit log of allocations, releases and reclaims (src/controller/audit-log.ts): a file path, off
   * when unset. Rotated before a line would take it past `auditLogMaxBytes`, keeping `auditLogFiles` old files.
   */
  auditLogPath: string | undefined;
  auditLogMaxBytes: number;
  auditLogFiles: number;
  gcMaxRetries: number;
  gcDbCap: number;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  maxAllocatedIPs: number;
  /** The release (upstream's VERSION build variable); CRDs older than it are upgraded at start. */
  version: string;
  upgradeCrds: boolean;
}

interface ConfFile {
  enableIPv4?: boolean;
  enableIPv6?: boolean;
  enableStatefulSet?: boolean;
  enableKubevirtStaticIP?: boolean;
  enableSpiderSubnet?: boolean;
  enableAutoPoolForApplication?: boolean;
  enableCleanOutdatedEndpoint?: boolean;
  enableValidatingResourcesDeletedWebhook?: boolean;
}

function readConf(path: string | undefined): ConfFile & {
  flexible: number;
  inject: ControllerConfig["podResourceInject"];
  steps: PodResourceSteps;
} {
  const fail = (m: string): ControllerConfigError => new ControllerConfigError(m);
  const conf = readConfMapping(path, fail, (k) => k.startsWith("enable"));
  return {
    ...(conf as ConfFile),
    flexible: defaultFlexibleIPNumber(conf, path ?? "", fail),
    inject: podResourceInject(conf["podResourceInject"], path ?? ""),
    steps: podResourceSteps(conf, (m) => new ControllerConfigError(`config file '${path ?? ""}': ${m}`)),
  };
}

const DEFAULT_INJECT_EXCLUDE = ["kube-system", "spiderpool", "metallb-system", "istio-system"];

function podResourceInject(v: unknown, path: string): ControllerConfig["podResourceInject"] {
  const fail = (m: string) => new ControllerConfigError(`config file '${path}': podResourceInject.${m}`);
  if (v === undefined || v === null)
    return { enabled: false, namespacesExclude: DEFAULT_INJECT_EXCLUDE, namespacesInclude: [] };
  if (typeof v !== "object" || Array.isArray(v)) throw fail("must be a mapping");
  const o = v as Record<string, unknown>;
  if (o["enabled"] !== undefined && typeof o["enabled"] !== "boolean") throw fail("enabled must be true or false");
  const list = (k: string, dflt: string[]): string[] => {
    const x = o[k];
    if (x === undefined || x === null) return dflt;
    if (!Array.isArray(x) || x.some((s) => typeof s !== "string")) throw fail(`${k} must be a list of names`);
    return x as string[];
  };
  return {
    enabled: o["enabled"] === true,
    namespacesExclude: list("namespacesExclude", DEFAULT_INJECT_EXCLUDE),
    namespacesInclude: list("namespacesInclude", []),
  };
}

export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env, confPath?: string): ControllerConfig {
  const conf = readConf(confPath);
  const e = new EnvReader(env, (m) => new ControllerConfigError(m));
  const opt = (k: string): string | undefined => (env[k] === undefined || env[k] === "" ? undefined : env[k]);
  const leaseS = e.int("SPIDERPOOL_LEADER_DURATION", 15, 1);
  const renewS = e.int("SPIDERPOOL_LEADER_RENEW_DEADLINE", 10, 1);
  const retryS = e.int("SPIDERPOOL_LEADER_RETRY_PERIOD", 2, 1);
  if (!(retryS < renewS && renewS < leaseS)) {
    throw new ControllerConfigError(
      `leader election needs SPIDERPOOL_LEADER_RETRY_PERIOD (${retryS}) < SPIDERPOOL_LEADER_RENEW_DEADLINE (${renewS}) < SPIDERPOOL_LEADER_DURATION (${leaseS})`,
    );
  }
  // Sub-second knobs for tests and the sandbox; production uses the upstream variables.
  const ms = (tsKey: string, upstreamKey: string, dfltS: number): number =>
    opt(tsKey) !== undefined ? e.int(tsKey, 0, 1) : e.int(upstreamKey, dfltS, 1) * 1000;
  return {
    logLevel: e.str("SPIDERPOOL_LOG_LEVEL", "info").toLowerCase(),
    podNamespace: e.str("SPIDERPOOL_POD_NAMESPACE"),
    podName: e.str("SPIDERPOOL_POD_NAME"),
    healthPort: e.int("SPIDERPOOL_HEALTH_PORT", 5720),
    metricPort: e.int("SPIDERPOOL_METRIC_HTTP_PORT", 5721),
    enableMetric: e.bool("SPIDERPOOL_ENABLED_METRIC", false),
    webhookPort: e.int("SPIDERPOOL_WEBHOOK_PORT", 5722),
    bindAddress: e.str("SPIDERPOOL_BIND_ADDRESS", "127.0.0.1"),
    webhookUrl: opt("SPIDERPOOL_TS_WEBHOOK_URL"),
    webhookServiceName: e.str("SPIDERPOOL_CONTROLLER_DEPLOYMENT_NAME", "spiderpool-controller"),
    tlsCertFile: opt("SPIDERPOOL_TS_TLS_SERVER_CERT"),
    tlsKeyFile: opt("SPIDERPOOL_TS_TLS_SERVER_KEY"),
    tlsCaFile: opt("SPIDERPOOL_TS_TLS_CA_CERT"),
    tlsSecretName: e.str("SPIDERPOOL_TS_TLS_SECRET_NAME", "spiderpool-controller-webhook-tls"),
    enableIPv4: conf.enableIPv4 ?? true,
    enableIPv6: conf.enableIPv6 ?? true,
    enableSpiderSubnet: conf.enableSpiderSubnet ?? true,
    enableAutoPoolForApplication: conf.enableAutoPoolForApplication ?? true,
    defaultFlexibleIPNumber: conf.flexible,
    autoPoolRetryMs: ms("SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS", "SPIDERPOOL_WORKQUEUE_RETRY_DELAY_DURATION", 5),
    autoPoolMaxRetries: e.int("SPIDERPOOL_WORKQUEUE_MAX_RETRIES", 500, 1),
    autoPoolResyncMs: ms("SPIDERPOOL_TS_SUBNET_RESYNC_MS", "SPIDERPOOL_SUBNET_INFORMER_RESYNC_PERIOD", 300),
    enableValidatingResourcesDeletedWebhook: conf.enableValidatingResourcesDeletedWebhook ?? false,
    enableCoordinator: e.bool("SPIDERPOOL_COORDINATOR_ENABLED", false),
    enableMultusConfig: e.bool("SPIDERPOOL_MULTUS_CONFIG_ENABLED", false),
    podResourceInject: conf.inject,
    podResourceSteps: conf.steps,
    multusConfigResyncMs: ms(
      "SPIDERPOOL_TS_MULTUS_CONFIG_RESYNC_MS",
      "SPIDERPOOL_MULTUS_CONFIG_INFORMER_RESYNC_PERIOD",
      60,
    ),
    coordinatorName: e.str("SPIDERPOOL_COORDINATOR_DEAFULT_NAME", "default"),
    cniConfigDir: e.str("SPIDERPOOL_CNI_CONFIG_DIR", "/etc/cni/net.d"),
    ciliumConfigMap: e.str("SPIDERPOOL_CILIUM_CONFIGMAP_NAMESPACE_NAME", "kube-system/cilium-config"),
    gc: {
      enabled: e.bool("SPIDERPOOL_GC_IP_ENABLED", true),
      terminatingOnReadyNode: e.bool("SPIDERPOOL_GC_STATELESS_TERMINATING_POD_ON_READY_NODE_ENABLED", true),
      terminatingOnNotReadyNode: e.bool("SPIDERPOOL_GC_STATELESS_TERMINATING_POD_ON_NOT_READY_NODE_ENABLED", true),
      runningPodOnEmptyPodIPs: e.bool("SPIDERPOOL_GC_ENABLE_STATELESS_RUNNING_POD_ON_EMPTY_POD_STATUS_IPS", false),
      additionalGraceDelaySeconds: e.int("SPIDERPOOL_GC_ADDITIONAL_GRACE_DELAY", 0),
      enableStatefulSet: conf.enableStatefulSet ?? true,
      enableKubevirtStaticIP: conf.enableKubevirtStaticIP ?? true,
      cleanOutdatedEndpoint: conf.enableCleanOutdatedEndpoint ?? false,
    },
    gcTraceGapMs: ms("SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS", "SPIDERPOOL_GC_TRACE_POD_GAP_DURATION", 5),
    gcWorkers: e.int("SPIDERPOOL_GC_IP_WORKER_NUM", 3, 1),
    gcScanIntervalMs: ms("SPIDERPOOL_TS_GC_INTERVAL_MS", "SPIDERPOOL_GC_DEFAULT_INTERVAL_DURATION", 600),
    forecastWindowHours: e.int("SPIDERPOOL_TS_FORECAST_WINDOW_HOURS", 24, 1),
    auditLogPath: opt("SPIDERPOOL_TS_AUDIT_LOG"),
    auditLogMaxBytes: e.int("SPIDERPOOL_TS_AUDIT_LOG_MAX_BYTES", 10485760, 1024),
    auditLogFiles: e.int("SPIDERPOOL_TS_AUDIT_LOG_FILES", 5, 1),
    gcMaxRetries: e.int("SPIDERPOOL_GC_PODENTRY_MAX_RETRIES", 5, 1),
    gcDbCap: e.int("SPIDERPOOL_GC_MAX_PODENTRY_DB_CAP", 100000, 1),
    leaseDurationMs: ms("SPIDERPOOL_TS_LEADER_DURATION_MS", "SPIDERPOOL_LEADER_DURATION", 15),
    renewDeadlineMs: ms("SPIDERPOOL_TS_LEADER_RENEW_DEADLINE_MS", "SPIDERPOOL_LEADER_RENEW_DEADLINE", 10),
    retryPeriodMs: ms("SPIDERPOOL_TS_LEADER_RETRY_PERIOD_MS", "SPIDERPOOL_LEADER_RETRY_PERIOD", 2),
    maxAllocatedIPs: e.int("SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS", 5000, 1),
    version: e.str("VERSION", "0.0.0"),
    upgradeCrds: e.bool("SPIDERPOOL_TS_UPGRADE_CRDS", true),
  };
}
