/**
 * spiderpool-agent's entry point: configuration from the environment (spec §6.2) and
 * `--config-path` (conf.yml, §6.1), the API server from $KUBECONFIG or the in-cluster
 * service account, then serve until SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { confPath, runEntry, untilStopSignal } from "../daemon/entry.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { KubeClient } from "../kube/client.ts";
import { KubeConfigError } from "../kube/errors.ts";
import { NetlinkHost } from "../host/netlink-host.ts";
import { SpiderpoolAgent, type AgentOptions } from "./agent.ts";
import { AgentConfigError, loadAgentConfig } from "./config.ts";

const USAGE = `usage: spiderpool-agent [--config-path FILE]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account.
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

async function main(): Promise<number> {
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
  const agent = new SpiderpoolAgent({ config, client: new KubeClient(cluster), logger: log, ...nodeNetwork(log) });
  await agent.start();
  await untilStopSignal();
  log.info("stopping");
  await agent.stop();
  return 0;
}

await runEntry(
  "spiderpool-agent",
  USAGE,
  (err) => err instanceof AgentConfigError || err instanceof KubeConfigError,
  main,
);
