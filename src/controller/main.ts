/**
 * spiderpool-controller's entry point: configuration from the environment (spec §6.3) and
 * `--config-path` (conf.yml), the API server from $KUBECONFIG or the in-cluster service
 * account; `--tls-server-cert`/`--tls-server-key` as upstream's flags. Serves until
 * SIGTERM/SIGINT, then releases the Lease so a successor takes over at once.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { confPath, runEntry, untilStopSignal } from "../daemon/entry.ts";
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
  const env = { ...process.env };
  if (values["tls-server-cert"] !== undefined) env["SPIDERPOOL_TS_TLS_SERVER_CERT"] = values["tls-server-cert"];
  if (values["tls-server-key"] !== undefined) env["SPIDERPOOL_TS_TLS_SERVER_KEY"] = values["tls-server-key"];
  const config = loadControllerConfig(env, confPath(values["config-path"]));
  const log = pino({ level: config.logLevel, base: { component: "spiderpool-controller", pod: config.podName } });
  const kubeconfig = process.env["KUBECONFIG"];
  const cluster = kubeconfig !== undefined && kubeconfig !== "" ? loadKubeconfig(kubeconfig) : inClusterConfig();
  const controller = new SpiderpoolController({ config, client: new KubeClient(cluster), logger: log });
  await controller.start();
  await untilStopSignal();
  log.info("stopping");
  await controller.stop();
  return 0;
}

await runEntry(
  "spiderpool-controller",
  USAGE,
  (err) => err instanceof ControllerConfigError || err instanceof KubeConfigError,
  main,
);
