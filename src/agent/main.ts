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
import { SpiderpoolAgent } from "./agent.ts";
import { AgentConfigError, loadAgentConfig } from "./config.ts";
import { InstallCniError, installCniBinaries } from "./install-cni.ts";

const USAGE = `usage: spiderpool-agent [--config-path FILE]
       spiderpool-agent install-cni [--source FILE] [--dest DIR]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account. \`install-cni\` copies the CNI shim (default
  /usr/bin/spiderpool-shim) into DIR (default /host/opt/cni/bin) as spiderpool, coordinator
  and ifacer, each atomically (the chart's init container).
`;

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
  const agent = new SpiderpoolAgent({ config, client: new KubeClient(cluster), logger: log });
  await agent.start();
  await untilStopSignal();
  log.info("stopping");
  await agent.stop();
  return 0;
}

await runEntry(
  "spiderpool-agent",
  USAGE,
  (err) => err instanceof AgentConfigError || err instanceof KubeConfigError || err instanceof InstallCniError,
  main,
);
