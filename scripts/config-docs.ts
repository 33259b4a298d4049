// docs/configuration.md, generated from the code so the list cannot drift: every
// environment variable (SPIDERPOOL_*, MULTUS_CLUSTER_NETWORK, KUBECONFIG) a file under src/
// reads, with its default as the code spells it and the chart value that sets it, and every
// conf.yml key the daemons' configuration loaders read. The words come from DESCRIPTIONS
// below; a variable or key the code reads without one fails generation (and the drift test),
// so a new setting cannot ship undocumented.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { format } from "prettier";
import { CHART_DIR, ROOT } from "./chart-docs.ts";

const DESCRIPTIONS: Record<string, string> = {
  KUBECONFIG: "kubeconfig of the API server; unset: the pod's in-cluster service account",
  MULTUS_CLUSTER_NETWORK:
    "`namespace/name` of the cluster's default network (set when `multus.multusCNI.defaultCniCRName` is)",
  VERSION:
    "the release (upstream's build variable; the chart sets the chart's appVersion): CRDs older than it are upgraded at start",
  SPIDERPOOL_TS_UPGRADE_CRDS:
    "bring the six Spider* CRDs up to this controller's schemas at start unless a newer controller wrote them",
  SPIDERPOOL_LOG_LEVEL: "log level: debug, info, warn, error, fatal (panic is taken as fatal)",
  SPIDERPOOL_POD_NAMESPACE: "the pod's namespace (downward API); the controller's Lease lives there",
  SPIDERPOOL_POD_NAME: "the pod's name (downward API); the controller's leader identity",
  SPIDERPOOL_NODE_NAME: "the node the agent serves (downward API)",
  SPIDERPOOL_HEALTH_PORT: "port of the health server (`/v1/runtime/{startup,readiness,liveness}`)",
  SPIDERPOOL_METRIC_HTTP_PORT: "port of the Prometheus metrics",
  SPIDERPOOL_ENABLED_METRIC: "serve the Prometheus metrics",
  SPIDERPOOL_BIND_ADDRESS: "address the health, metrics and webhook servers listen on (ours; the chart sets 0.0.0.0)",
  SPIDERPOOL_IPPOOL_MAX_ALLOCATED_IPS: "most allocation records one SpiderIPPool may hold",
  SPIDERPOOL_WAIT_SUBNET_POOL_TIME_IN_SECOND: "pause between looks for an application's auto-created pool",
  SPIDERPOOL_WAIT_SUBNET_POOL_MAX_RETRIES: "looks for an application's auto-created pool before an ADD fails",
  SPIDERPOOL_TS_WAIT_SUBNET_POOL_MS:
    "SPIDERPOOL_WAIT_SUBNET_POOL_TIME_IN_SECOND in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_ENABLED_RELEASE_CONFLICT_IPS: "let the CNI release addresses found in conflict for stateless pods",
  SPIDERPOOL_TS_MAX_WRITE_RETRIES:
    "most pool status writes one allocation or release is sent in while they keep conflicting (counted per call, not per batch)",
  SPIDERPOOL_TS_WRITE_DEADLINE_SECONDS:
    "longest time one allocation or release waits for a pool status write to succeed, from its arrival (per call: one that joins a losing batch late keeps its own time)",
  SPIDERPOOL_TS_POOL_WATCH:
    "how the agent follows pools: `metadata` (versions as PartialObjectMetadata, a pool's body read when a write needs it or every 10 s when stale; ADR 13) or `full` (every version's body on the watch)",
  SPIDERPOOL_WEBHOOK_PORT: "port of the admission webhooks (HTTPS)",
  SPIDERPOOL_TS_WEBHOOK_URL: "URL the API server calls the webhooks at (sandbox, tests); unset: the Service",
  SPIDERPOOL_CONTROLLER_DEPLOYMENT_NAME: "the controller's Deployment and Service name, which the webhooks point at",
  SPIDERPOOL_TS_TLS_SERVER_CERT: "webhook serving certificate (also `--tls-server-cert`); unset: generated and rotated",
  SPIDERPOOL_TS_TLS_SERVER_KEY: "its key (also `--tls-server-key`)",
  SPIDERPOOL_TS_TLS_CA_CERT: "the CA that signed it, put into the webhooks' caBundle; unset: the certificate itself",
  SPIDERPOOL_WORKQUEUE_RETRY_DELAY_DURATION:
    "first delay before a failed auto-pool reconcile is retried (doubles up to 30 s)",
  SPIDERPOOL_TS_WORKQUEUE_RETRY_DELAY_MS:
    "SPIDERPOOL_WORKQUEUE_RETRY_DELAY_DURATION in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_WORKQUEUE_MAX_RETRIES: "retries of an auto-pool reconcile before it is dropped",
  SPIDERPOOL_SUBNET_INFORMER_RESYNC_PERIOD:
    "period at which every application with a subnet annotation is reconciled again",
  SPIDERPOOL_TS_SUBNET_RESYNC_MS:
    "SPIDERPOOL_SUBNET_INFORMER_RESYNC_PERIOD in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_COORDINATOR_ENABLED: "register the SpiderCoordinator webhooks",
  SPIDERPOOL_MULTUS_CONFIG_ENABLED: "register the SpiderMultusConfig webhooks",
  SPIDERPOOL_GC_IP_ENABLED: "IP garbage collection",
  SPIDERPOOL_GC_STATELESS_TERMINATING_POD_ON_READY_NODE_ENABLED:
    "collect stateless pods stuck terminating on a Ready node once their grace period is over",
  SPIDERPOOL_GC_STATELESS_TERMINATING_POD_ON_NOT_READY_NODE_ENABLED:
    "collect stateless pods stuck terminating on a NotReady node",
  SPIDERPOOL_GC_ENABLE_STATELESS_RUNNING_POD_ON_EMPTY_POD_STATUS_IPS:
    "collect running stateless pods whose status lists no IP",
  SPIDERPOOL_GC_ADDITIONAL_GRACE_DELAY: "extra seconds after a pod's grace period before its addresses are collected",
  SPIDERPOOL_GC_TRACE_POD_GAP_DURATION: "tick of the terminating-pod tracer",
  SPIDERPOOL_TS_GC_TRACE_POD_GAP_MS:
    "SPIDERPOOL_GC_TRACE_POD_GAP_DURATION in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_GC_IP_WORKER_NUM: "concurrent GC releases",
  SPIDERPOOL_GC_DEFAULT_INTERVAL_DURATION: "period of the full GC scan",
  SPIDERPOOL_TS_GC_INTERVAL_MS:
    "SPIDERPOOL_GC_DEFAULT_INTERVAL_DURATION in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_GC_PODENTRY_MAX_RETRIES: "retries of one traced pod's release",
  SPIDERPOOL_GC_MAX_PODENTRY_DB_CAP: "most pods traced at once",
  SPIDERPOOL_LEADER_DURATION: "leader Lease duration (`spiderpool-controller-leases`)",
  SPIDERPOOL_LEADER_RENEW_DEADLINE: "how long the leader keeps trying to renew before it steps down",
  SPIDERPOOL_LEADER_RETRY_PERIOD: "pause between attempts to acquire or renew the Lease",
  SPIDERPOOL_TS_LEADER_DURATION_MS: "the Lease duration in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_TS_LEADER_RENEW_DEADLINE_MS: "the renew deadline in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_TS_LEADER_RETRY_PERIOD_MS: "the retry period in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_TS_TLS_SECRET_NAME:
    "the Secret (in the pod's namespace) every replica shares the webhook certificate through when no files are given: read, renewed in place when a third of its validity is left, created when missing; the chart's `tls.method=auto` Secret",
  SPIDERPOOL_MULTUS_CONFIG_INFORMER_RESYNC_PERIOD:
    "period at which every SpiderMultusConfig's NetworkAttachmentDefinition is written again from it (a hand edit is undone)",
  SPIDERPOOL_TS_MULTUS_CONFIG_RESYNC_MS:
    "SPIDERPOOL_MULTUS_CONFIG_INFORMER_RESYNC_PERIOD in milliseconds (tests, sandbox); wins when set",
  SPIDERPOOL_COORDINATOR_DEAFULT_NAME:
    "the SpiderCoordinator whose status (pod and Service CIDRs, phase) the controller keeps (upstream's spelling)",
  SPIDERPOOL_CNI_CONFIG_DIR:
    "the node's CNI configuration directory; its first file names the default CNI for podCIDRType auto",
  SPIDERPOOL_CILIUM_CONFIGMAP_NAMESPACE_NAME:
    "`namespace/name` of Cilium's ConfigMap, read for its IPAM mode and pod CIDRs when the default CNI is Cilium",
  SPIDERPOOL_TS_NODE_NETNS:
    "network namespace (a path) the agent treats as its node's (benchmarks, sandbox); unset: the agent's own",
  SPIDERPOOL_NAMESPACE:
    "the release namespace: where spiderpool-init looks for the controller and puts the default CNI's SMC",
  SPIDERPOOL_CONTROLLER_NAME:
    "the controller's Endpoints (else its Lease holder) spiderpool-init waits for before it creates anything",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_NAME: "the default SpiderCoordinator spiderpool-init creates; unset: none",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_MODE: "its `spec.mode` (auto, underlay, overlay, disabled)",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POD_CIDR_TYPE: "its `spec.podCIDRType` (auto, cluster, calico, cilium, none)",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_TUNE_POD_ROUTES: "its `spec.tunePodRoutes`",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_HIJACK_CIDR:
    "its `spec.hijackCIDR`, a JSON list of CIDRs or addresses (an address becomes a /32 or /128)",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_POLICY_ROUTES:
    'its `spec.policyRoutes` (routes in the policy table of the coordinator NIC), a JSON list of `{"dst": CIDR or address, "gw": address}`',
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_VETH_LINK_ADDRESS: "its `spec.vethLinkAddress`; empty: none",
  SPIDERPOOL_INIT_DEFAULT_COORDINATOR_VETH_MTU: "its `spec.vethMTU`",
  SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_NAME:
    "the default IPv4 SpiderIPPool (`default: true`) spiderpool-init creates; unset with no subnet name: no IPv4 defaults",
  SPIDERPOOL_INIT_DEFAULT_IPV4_SUBNET_NAME: "the default IPv4 SpiderSubnet spiderpool-init creates, before the pool",
  SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_SUBNET: "their IPv4 CIDR (required when either name is set)",
  SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_IPRANGES: "their addresses, a JSON list of addresses and `a-b` ranges",
  SPIDERPOOL_INIT_DEFAULT_IPV4_IPPOOL_GATEWAY: "their gateway; empty: none",
  SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_NAME:
    "the default IPv6 SpiderIPPool (`default: true`) spiderpool-init creates; unset with no subnet name: no IPv6 defaults",
  SPIDERPOOL_INIT_DEFAULT_IPV6_SUBNET_NAME: "the default IPv6 SpiderSubnet spiderpool-init creates, before the pool",
  SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_SUBNET: "their IPv6 CIDR (required when either name is set)",
  SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_IPRANGES: "their addresses, a JSON list of addresses and `a-b` ranges",
  SPIDERPOOL_INIT_DEFAULT_IPV6_IPPOOL_GATEWAY: "their gateway; empty: none",
  SPIDERPOOL_INIT_ENABLE_MULTUS_CONFIG: "spiderpool-init creates the default CNI's SpiderMultusConfig",
  SPIDERPOOL_INIT_DEFAULT_CNI_NAME:
    "that SMC's name (type custom); unset: named after the first configuration file in SPIDERPOOL_INIT_DEFAULT_CNI_DIR",
  SPIDERPOOL_INIT_DEFAULT_CNI_DIR: "the CNI configuration directory spiderpool-init reads the default CNI from",
  SPIDERPOOL_INIT_DEFAULT_CNI_NAMESPACE: "the namespace of the default CNI's SMC; unset: SPIDERPOOL_NAMESPACE",
  SPIDERPOOL_INIT_READINESS_FILE: "a file spiderpool-init writes `ready` to once everything exists (probes, tests)",
  SPIDERPOOL_INIT_INSTALL_MULTUS:
    "the chart installs Multus, whose clusterNetwork each agent's sidecar takes from the first `.conf`/`.conflist`/`.json`: the default CNI's SMC is then named after that file too (upstream patches Multus's ConfigMap instead)",
  SPIDERPOOL_INIT_MULTUS_CONFIGMAP:
    "upstream's Multus ConfigMap to patch; no effect here (no such ConfigMap: the agents' sidecar writes Multus's configuration), a value is logged as unused",
  SPIDERPOOL_ENABLED_RDMA_METRIC: "serve the node's RDMA device and per-pod counters as Prometheus metrics",
  SPIDERPOOL_RDMA_METRIC_HTTP_PORT: "port of the RDMA metrics",
  SPIDERPOOL_TS_IP_EVENTS_BURST:
    "Events on pods for allocations and releases the agent may write in a burst (a token bucket; the rest are dropped and counted); 0: none",
  SPIDERPOOL_TS_IP_EVENTS_PER_MINUTE: "the rate at which that allowance refills, per minute",
  SPIDERPOOL_TS_FORECAST_WINDOW_HOURS: "hours of history the pools' exhaustion forecast fits its trend over",
  SPIDERPOOL_TS_AUDIT_LOG:
    "file of the JSON-lines audit log (one line per allocation, release and GC reclaim; `spiderpoolctl history --audit`); unset: off",
  SPIDERPOOL_TS_AUDIT_LOG_MAX_BYTES: "the audit log is rotated before a line would take it past this size (bytes)",
  SPIDERPOOL_TS_AUDIT_LOG_FILES: "rotated audit log files kept (FILE.1 newest ... FILE.N oldest)",
  SPIDERPOOL_SANDBOX_NETNS_PREFIX:
    "prefix of the network namespaces `spiderpoolctl sandbox` creates (tests set their own); unset: `spsb` and the pid",
  // conf.yml keys
  ipamUnixSocketPath: "the agent's socket, which the shim calls",
  enableIPv4: "allow IPv4 pools and allocations",
  enableIPv6: "allow IPv6 pools and allocations",
  enableStatefulSet: "keep the addresses of a StatefulSet's pods across restarts",
  enableKubevirtStaticIP: "keep the addresses of a KubeVirt VM across restarts and migrations",
  enableSpiderSubnet: "SpiderSubnet features (ownership and containment of pools)",
  enableAutoPoolForApplication: "create pools for applications from their subnet annotations",
  enableIPConflictDetection: "probe an address (ARP/NDP) before handing it out",
  enableGatewayDetection: "probe the gateway (ARP/NDP) before handing an address out",
  enableCleanOutdatedEndpoint: "let GC also delete stale SpiderEndpoints",
  enableValidatingResourcesDeletedWebhook: "refuse to delete pools and subnets that still have allocated addresses",
  clusterSubnetAutoPoolDefaultRedundantIPNumber:
    "spare addresses (the `+N`) of an auto-created pool whose application names none",
  clusterSubnetDefaultFlexibleIPNumber:
    "the same, under the key upstream's chart writes (read when the other is absent)",
};

const DAEMONS: Record<string, string> = {
  agent: "agent",
  controller: "controller",
  cli: "spiderpoolctl",
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return f.endsWith(".ts") && !f.endsWith(".test.ts") ? [p] : [];
  });
}

export interface EnvVar {
  name: string;
  readers: string[];
  /** Per reader when they differ ("agent: 5710, controller: 5720"). */
  default: string;
  chartValue: string;
}

/** The default as the code spells it next to the read. */
function defaultOf(text: string, name: string): string | undefined {
  const q = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // An override read only when set has no default of its own.
  if (new RegExp(`env\\["${q}"\\] !== undefined`).test(text)) return undefined;
  const call = new RegExp(`\\be\\.(?:bool|int|str)\\("${q}"(?:,\\s*([^,)]+))?`).exec(text);
  if (call !== null) return call[1]?.trim();
  // Also when prettier has broken the call over lines.
  const ms = new RegExp(`ms\\(\\s*"\\w+",\\s*"${q}",\\s*(\\d+),?\\s*\\)`).exec(text);
  if (ms !== null) return `${ms[1]} (s)`;
  const list = new RegExp(`jsonList<[^>]*>\\(env, "${q}", (\\[[^\\]]*\\])`).exec(text);
  if (list !== null) return list[1];
  const nullish = new RegExp(`env\\["${q}"\\]\\s*\\?\\?\\s*([^,;\\n]+)`).exec(text);
  if (nullish !== null) return nullish[1]!.trim();
  return undefined;
}

const TEMPLATE_READERS: Record<string, string> = {
  "agent-daemonset.yaml": "agent",
  "controller-deployment.yaml": "controller",
  "init-job.yaml": "spiderpool-init",
};

/** What the chart's templates set each variable to, per reader: a value path, a literal or the downward API. */
function chartValues(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const put = (name: string, reader: string, v: string): void => {
    const m = out.get(name) ?? new Map<string, string>();
    m.set(reader, v);
    out.set(name, m);
  };
  const dir = join(CHART_DIR, "templates");
  for (const f of readdirSync(dir)) {
    const reader = TEMPLATE_READERS[f];
    if (reader === undefined) continue;
    const text = readFileSync(join(dir, f), "utf8");
    const prefixes: Record<string, string> = { a: "spiderpoolAgent.", c: "spiderpoolController.", co: "coordinator." };
    for (const m of text.matchAll(/- name: ([A-Z0-9_]+)\n\s+value: (.*)/g)) {
      const v = m[2]!;
      const values = /\.Values\.([\w.]+)/.exec(v);
      const local = /\$(a|c|co)\.([\w.]+)/.exec(v);
      if (v.includes(".Chart.AppVersion")) {
        put(m[1]!, reader, "the chart's `appVersion`");
        continue;
      }
      put(
        m[1]!,
        reader,
        values !== null
          ? `\`${values[1]}\``
          : local !== null
            ? `\`${prefixes[local[1]!]}${local[2]}\``
            : `\`${v.trim()}\``,
      );
    }
    for (const m of text.matchAll(/- name: ([A-Z0-9_]+)\n\s+valueFrom:\n\s+fieldRef:\n\s+fieldPath: (\S+)/g)) {
      put(m[1]!, reader, `downward API \`${m[2]}\``);
    }
  }
  return out;
}

/** One value, or "reader: value" for each when they differ. */
function perReader(m: Map<string, string>): string {
  const distinct = new Set(m.values());
  if (distinct.size <= 1) return [...distinct][0] ?? "";
  return [...m.entries()].map(([r, v]) => `${r}: ${v}`).join("; ");
}

/**
 * The file's text once per value of a loop its names are built in, with `${PREFIX}SUFFIX`
 * templates spelled out: `const C = "SPIDERPOOL_X_"` … `${C}NAME` reads SPIDERPOOL_X_NAME, and
 * `const P = \`SPIDERPOOL_IPV${family}_\`` inside `for (const family of [4, 6])` reads both
 * families' names. Returns the prefixes too, which are not variables themselves.
 */
export function expandPrefixes(text: string): { texts: string[]; prefixes: Set<string> } {
  const prefixes = new Set<string>();
  let texts = [text];
  for (const m of text.matchAll(/const (\w+) = ["'`](SPIDERPOOL_[A-Z0-9_]*_)["'`];/g)) {
    prefixes.add(m[2]!);
    texts = texts.map((t) => t.replaceAll(new RegExp(`\`\\$\\{${m[1]}\\}([A-Z0-9_]+)\``, "g"), `"${m[2]}$1"`));
  }
  for (const m of text.matchAll(/const (\w+) = `(SPIDERPOOL_[A-Z0-9_]*)\$\{(\w+)\}([A-Z0-9_]*)`;/g)) {
    const [, name, head, loopVar, tail] = m as unknown as [string, string, string, string, string];
    const loop = new RegExp(`for \\(const ${loopVar} of \\[([^\\]]+)\\]`).exec(text);
    const values = (loop?.[1] ?? "")
      .split(",")
      .map((v) => v.trim().replace(/^["']|["']$/g, ""))
      .filter(Boolean);
    const use = new RegExp(`\`\\$\\{${name}\\}([A-Z0-9_]+)\``, "g");
    texts = texts.flatMap((t) => values.map((v) => t.replaceAll(use, `"${head}${v}${tail}$1"`)));
  }
  return { texts, prefixes };
}

export function envVars(): EnvVar[] {
  const found = new Map<string, { readers: Set<string>; defaults: Map<string, string> }>();
  for (const file of sources(join(ROOT, "src"))) {
    const { texts, prefixes } = expandPrefixes(readFileSync(file, "utf8"));
    const folder = relative(join(ROOT, "src"), file).split("/")[0]!;
    const reader = DAEMONS[folder] ?? folder;
    for (const text of texts)
      for (const m of text.matchAll(
        /["'`]((?:SPIDERPOOL_[A-Z0-9_]+)|MULTUS_CLUSTER_NETWORK|KUBECONFIG|VERSION)["'`]/g,
      )) {
        const name = m[1]!;
        if (prefixes.has(name)) continue;
        // "VERSION" is also a CNI command and a printer column: only a read of the environment counts.
        if (
          name === "VERSION" &&
          !/(?:e\.(?:str|int|bool)\(|env\[)$/.test(text.slice(Math.max(0, m.index - 8), m.index))
        )
          continue;
        const e = found.get(name) ?? { readers: new Set<string>(), defaults: new Map<string, string>() };
        e.readers.add(reader);
        const d = defaultOf(text, name);
        if (d !== undefined) e.defaults.set(reader, `\`${d}\``);
        found.set(name, e);
      }
  }
  const chart = chartValues();
  return [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, e]) => ({
      name,
      readers: [...e.readers].sort(),
      default: e.defaults.size === 0 ? "(unset)" : perReader(e.defaults),
      chartValue: perReader(chart.get(name) ?? new Map()),
    }));
}

export interface ConfKey {
  key: string;
  readers: string[];
  default: string;
}

export function confKeys(): ConfKey[] {
  const found = new Map<string, { readers: Set<string>; default: string }>();
  const add = (key: string, reader: string, dflt: string): void => {
    const e = found.get(key) ?? { readers: new Set<string>(), default: dflt };
    e.readers.add(reader);
    found.set(key, e);
  };
  for (const d of ["agent", "controller"]) {
    const text = readFileSync(join(ROOT, "src", d, "config.ts"), "utf8");
    for (const m of text.matchAll(/\bconf\.(\w+) \?\? ([^,\n]+)/g)) {
      const dflt = m[2]!.trim() === "DEFAULTS.socketPath" ? /socketPath: "([^"]+)"/.exec(text)![1]! : m[2]!.trim();
      add(m[1]!, DAEMONS[d]!, dflt);
    }
  }
  // The auto-pool "+N", read by both daemons through src/daemon/conf-file.ts.
  const shared = readFileSync(join(ROOT, "src", "daemon", "conf-file.ts"), "utf8");
  const keys = /for \(const k of \[([^\]]+)\]\)/.exec(shared)?.[1] ?? "";
  const dflt = /\n\s+return (\d+);\n\}\s*$/.exec(shared)?.[1] ?? "";
  for (const k of keys.matchAll(/"(\w+)"/g)) for (const d of ["agent", "controller"]) add(k[1]!, d, dflt);
  return [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, e]) => ({ key, readers: [...e.readers].sort(), default: e.default }));
}

/** SPIDERPOOL_* variables the chart sets that no code reads yet (upstream's, for what comes next). */
export function chartOnlyVars(vars: EnvVar[]): string[] {
  const read = new Set(vars.map((v) => v.name));
  return [...chartValues().keys()].filter((n) => n.startsWith("SPIDERPOOL_") && !read.has(n)).sort();
}

const esc = (s: string): string => s.replaceAll("|", "\\|");

export async function renderConfigurationDoc(): Promise<string> {
  const vars = envVars();
  const conf = confKeys();
  const missing = [...vars.map((v) => v.name), ...conf.map((c) => c.key)].filter((n) => DESCRIPTIONS[n] === undefined);
  if (missing.length > 0) throw new Error(`scripts/config-docs.ts: no description for ${missing.join(", ")}`);
  const lines = [
    "<!-- Generated by scripts/gen-config-docs.ts from src/ and charts/spiderpool; do not edit. -->",
    "",
    "# Configuration",
    "",
    "Every environment variable and every `conf.yml` key the code reads, found in the code itself (a test fails when",
    "this page and the code differ). `conf.yml` is the `spiderpool-conf` ConfigMap the chart mounts at",
    "`/tmp/spiderpool/config-map/conf.yml` (`--config-path`); the daemons read it once, at start. Variables named",
    "`SPIDERPOOL_TS_*` are ours (docs/compatibility.md); the others are upstream's names and meanings.",
    "",
    "## Environment variables",
    "",
    "| Variable | Read by | Default | Chart value | Meaning |",
    "| --- | --- | --- | --- | --- |",
    ...vars.map(
      (v) =>
        `| \`${v.name}\` | ${v.readers.join(", ")} | ${esc(v.default)} | ${esc(v.chartValue)} | ${esc(DESCRIPTIONS[v.name]!)} |`,
    ),
    "",
    "## conf.yml keys",
    "",
    "| Key | Read by | Default | Meaning |",
    "| --- | --- | --- | --- |",
    ...conf.map(
      (c) => `| \`${c.key}\` | ${c.readers.join(", ")} | \`${esc(c.default)}\` | ${esc(DESCRIPTIONS[c.key]!)} |`,
    ),
    "",
    "## Set by the chart, not read by this version",
    "",
    "Upstream's variables the chart already sets so that manifests stay those of Spiderpool; the features that read them",
    "(`spiderpool-init`, the coordinator's controller, the SpiderMultusConfig controller) come with node networking.",
    "",
    ...chartOnlyVars(vars).map((n) => `- \`${n}\``),
  ];
  return format(`${lines.join("\n")}\n`, { parser: "markdown", printWidth: 120, proseWrap: "preserve" });
}
