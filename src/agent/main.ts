/**
 * spiderpool-agent's entry point: configuration from the environment (spec §6.2) and
 * `--config-path` (conf.yml, §6.1), the API server from $KUBECONFIG or the in-cluster
 * service account, then serve until SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { confPath, runEntry, untilStopSignal } from "../daemon/entry.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { KubeClient, type RequestRecord } from "../kube/client.ts";
import { KubeConfigError } from "../kube/errors.ts";
import { NetlinkHost } from "../host/netlink-host.ts";
import { SpiderpoolAgent, type AgentOptions } from "./agent.ts";
import { AgentConfigError, loadAgentConfig } from "./config.ts";
import { InstallCniError, installCniBinaries } from "./install-cni.ts";
import { MultusConfigError } from "./multus-config.ts";
import { syncMultus, uninstallMultus } from "./multus-sync.ts";

const USAGE = `usage: spiderpool-agent [--config-path FILE]
       spiderpool-agent install-cni [--source FILE] [--dest DIR]
       spiderpool-agent multus-config [--conf-dir DIR] [--host-conf-dir DIR] [--cluster-network NAME] [--namespace NS] [--once]
       spiderpool-agent multus-uninstall [--conf-dir DIR] [--bin-dir DIR]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account. \`install-cni\` copies the CNI shim (default
  /usr/bin/spiderpool-shim) into DIR (default /host/opt/cni/bin) as spiderpool, coordinator
  and ifacer, each atomically (the chart's init container). \`multus-config\` keeps
  00-multus.conf and Multus's kubeconfig in DIR (default /host/etc/cni/net.d) up to date
  every 10 s (the chart's sidecar); \`multus-uninstall\` removes them and the multus binary.
`;

/**
 * The node's namespace through the host addon: the agent's own, or (SPIDERPOOL_TS_NODE_NETNS, for
 * benchmarks and the sandbox) a simulated node's. Without the addon the agent still serves IPAM.
 */
function nodeNetwork(log: pino.Logger): Pick<AgentOptions, "hostNetwork"> {
  const path = process.env["SPIDERPOOL_TS_NODE_NETNS"];
  try {
    const ns = path !== undefined && path !== "" ? { kind: "path" as const, path } : { kind: "host" as const };
    return { hostNetwork: { network: new NetlinkHost(), ns } };
  } catch (err) {
    log.warn({ err: (err as Error).message }, "host addon unavailable: the coordinator and ifacer roles are refused");
    return {};
  }
}

const MULTUS_OPTIONS = {
  "conf-dir": { type: "string", default: "/host/etc/cni/net.d" },
  "host-conf-dir": { type: "string", default: "/etc/cni/net.d" },
  "bin-dir": { type: "string", default: "/host/opt/cni/bin" },
  "cluster-network": { type: "string", default: "" },
  namespace: { type: "string", default: "kube-system" },
  "service-account-dir": { type: "string", default: "/var/run/secrets/kubernetes.io/serviceaccount" },
  once: { type: "boolean", default: false },
} as const;

async function multusConfig(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: MULTUS_OPTIONS, strict: true });
  const o = {
    confDir: values["conf-dir"],
    hostConfDir: values["host-conf-dir"],
    namespace: values.namespace,
    clusterNetwork: values["cluster-network"],
    serviceAccountDir: values["service-account-dir"],
    apiHost: process.env["KUBERNETES_SERVICE_HOST"] ?? "",
    apiPort: process.env["KUBERNETES_SERVICE_PORT"] ?? "",
  };
  if (values.once) {
    for (const f of syncMultus(o)) process.stdout.write(`wrote ${f}\n`);
    return 0;
  }
  // Every 10 s, as upstream's sidecar: the kubelet rotates the token, and a default CNI
  // installed after Spiderpool is picked up. A failed pass is logged and retried.
  let stopping = false;
  const stop = untilStopSignal().then(() => {
    stopping = true;
  });
  while (!stopping) {
    try {
      for (const f of syncMultus(o)) process.stdout.write(`wrote ${f}\n`);
    } catch (err) {
      process.stderr.write(`multus-config: ${(err as Error).message}\n`);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
  }
  return 0;
}

function multusUninstall(args: string[]): number {
  const { values } = parseArgs({ args, options: MULTUS_OPTIONS, strict: true });
  for (const f of uninstallMultus(values["conf-dir"], values["bin-dir"])) process.stdout.write(`removed ${f}\n`);
  return 0;
}

function installCni(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { source: { type: "string" }, dest: { type: "string" } },
    strict: true,
  });
  const results = installCniBinaries(values.source ?? "/usr/bin/spiderpool-shim", values.dest ?? "/host/opt/cni/bin");
  for (const r of results) process.stdout.write(`${r.name}: ${r.action}\n`);
  return 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === "install-cni") return installCni(argv.slice(1));
  if (argv[0] === "multus-config") return multusConfig(argv.slice(1));
  if (argv[0] === "multus-uninstall") return multusUninstall(argv.slice(1));
  const { values } = parseArgs({
    options: { "config-path": { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadAgentConfig(process.env, confPath(values["config-path"]));
  const log = pino({ level: config.logLevel, base: { component: "spiderpool-agent", node: config.nodeName } });
  const kubeconfig = process.env["KUBECONFIG"];
  const cluster = kubeconfig !== undefined && kubeconfig !== "" ? loadKubeconfig(kubeconfig) : inClusterConfig();
  // Requests are counted into the agent's metrics, which exist once the agent does.
  let onRequest: ((r: RequestRecord) => void) | undefined;
  const client = new KubeClient(cluster, { onRequest: (r) => onRequest?.(r) });
  const agent = new SpiderpoolAgent({ config, client, logger: log, ...nodeNetwork(log) });
  onRequest = (r) => agent.metrics.apiRequest(r);
  await agent.start();
  await untilStopSignal();
  log.info("stopping");
  await agent.stop();
  return 0;
}

await runEntry(
  "spiderpool-agent",
  USAGE,
  (err) =>
    err instanceof AgentConfigError ||
    err instanceof KubeConfigError ||
    err instanceof InstallCniError ||
    err instanceof MultusConfigError,
  main,
);
