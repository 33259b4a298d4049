/**
 * spiderpool-controller's entry point: configuration from the environment (spec §6.3) and
 * `--config-path` (conf.yml), the API server from $KUBECONFIG or the in-cluster service
 * account; `--tls-server-cert`/`--tls-server-key` as upstream's flags. Serves until
 * SIGTERM/SIGINT, then releases the Lease so a successor takes over at once.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import pino from "pino";
import { KubeClient } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";
import { KubeConfigError } from "../kube/errors.ts";
import { ControllerConfigError, loadControllerConfig } from "./config.ts";
import { SpiderpoolController } from "./controller.ts";

const USAGE = `usage: spiderpool-controller [--config-path FILE] [--tls-server-cert FILE --tls-server-key FILE]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account.
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "config-path": { type: "string" },
      "tls-server-cert": { type: "string" },
      "tls-server-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const confPath =
    values["config-path"] ??
    (existsSync("/tmp/spiderpool/config-map/conf.yml") ? "/tmp/spiderpool/config-map/conf.yml" : undefined);
  const env = { ...process.env };
  if (values["tls-server-cert"] !== undefined) env["SPIDERPOOL_TS_TLS_SERVER_CERT"] = values["tls-server-cert"];
  if (values["tls-server-key"] !== undefined) env["SPIDERPOOL_TS_TLS_SERVER_KEY"] = values["tls-server-key"];
  const config = loadControllerConfig(env, confPath);
  const log = pino({ level: config.logLevel, base: { component: "spiderpool-controller", pod: config.podName } });
  const kubeconfig = process.env["KUBECONFIG"];
  const cluster = kubeconfig !== undefined && kubeconfig !== "" ? loadKubeconfig(kubeconfig) : inClusterConfig();
  const controller = new SpiderpoolController({ config, client: new KubeClient(cluster), logger: log });
  await controller.start();
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info("stopping");
  await controller.stop();
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  // A mistyped option is the user's too: its message and the usage say what to fix.
  const badArgs = String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
  const known = err instanceof ControllerConfigError || err instanceof KubeConfigError || badArgs;
  const msg = known ? (err as Error).message : ((err as Error).stack ?? String(err));
  process.stderr.write(`spiderpool-controller: ${msg}\n`);
  if (badArgs) process.stderr.write(USAGE);
  process.exitCode = badArgs ? 2 : 1;
}
