/**
 * spiderpool-agent's entry point: configuration from the environment (spec §6.2) and
 * `--config-path` (conf.yml, §6.1), the API server from $KUBECONFIG or the in-cluster
 * service account, then serve until SIGTERM/SIGINT.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import pino from "pino";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { KubeClient } from "../kube/client.ts";
import { KubeConfigError } from "../kube/errors.ts";
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
  const confPath =
    values["config-path"] ??
    (existsSync("/tmp/spiderpool/config-map/conf.yml") ? "/tmp/spiderpool/config-map/conf.yml" : undefined);
  const config = loadAgentConfig(process.env, confPath);
  const log = pino({ level: config.logLevel, base: { component: "spiderpool-agent", node: config.nodeName } });
  const kubeconfig = process.env["KUBECONFIG"];
  const cluster = kubeconfig !== undefined && kubeconfig !== "" ? loadKubeconfig(kubeconfig) : inClusterConfig();
  const agent = new SpiderpoolAgent({ config, client: new KubeClient(cluster), logger: log });
  await agent.start();
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info("stopping");
  await agent.stop();
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  // Configuration mistakes are the user's to fix: their message says what; anything else needs the stack.
  // A mistyped option is the user's too: its message and the usage say what to fix.
  const badArgs = String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
  const known = err instanceof AgentConfigError || err instanceof KubeConfigError || badArgs;
  const msg = known ? (err as Error).message : ((err as Error).stack ?? String(err));
  process.stderr.write(`spiderpool-agent: ${msg}\n`);
  if (badArgs) process.stderr.write(USAGE);
  process.exitCode = badArgs ? 2 : 1;
}
