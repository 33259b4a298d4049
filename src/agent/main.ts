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
import { HostAddonError } from "../host/errors.ts";
import type { HostNetwork } from "../host/network.ts";
import { NetlinkHost } from "../host/netlink-host.ts";
import { SpiderpoolAgent } from "./agent.ts";
import { AgentConfigError, loadAgentConfig } from "./config.ts";

const USAGE = `usage: spiderpool-agent [--config-path FILE]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account.
`;

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
  let host: HostNetwork | undefined;
  try {
    host = new NetlinkHost();
  } catch (err) {
    // IPAM needs no addon; the roles that change the node (ifacer) answer that it is missing.
    if (!(err instanceof HostAddonError)) throw err;
    log.warn({ err: err.message }, "the node's network is out of reach: ifacer calls will be refused");
  }
  const agent = new SpiderpoolAgent({
    config,
    client: new KubeClient(cluster),
    logger: log,
    ...(host === undefined ? {} : { host }),
  });
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
