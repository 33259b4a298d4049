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
import { cleanWebhooks } from "./clean.ts";
import { SpiderpoolController } from "./controller.ts";
import { WEBHOOK_CONFIG_NAME } from "./webhooks/registration.ts";

const USAGE = `usage: spiderpool-controller [--config-path FILE] [--tls-server-cert FILE --tls-server-key FILE]
       spiderpool-controller clean [--validate NAME] [--mutating NAME]
  Configuration comes from the environment (SPIDERPOOL_*) and conf.yml (default
  /tmp/spiderpool/config-map/conf.yml when it exists); the API server from $KUBECONFIG or
  the in-cluster service account. \`clean\` deletes the webhook configurations (the chart's
  pre-delete hook); both names default to spiderpool-controller.
`;

function client(): KubeClient {
  const kubeconfig = process.env["KUBECONFIG"];
  return new KubeClient(kubeconfig !== undefined && kubeconfig !== "" ? loadKubeconfig(kubeconfig) : inClusterConfig());
}

async function clean(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { validate: { type: "string" }, mutating: { type: "string" } },
    strict: true,
  });
  const c = client();
  try {
    const removed = await cleanWebhooks(c, {
      validating: values.validate ?? WEBHOOK_CONFIG_NAME,
      mutating: values.mutating ?? WEBHOOK_CONFIG_NAME,
    });
    process.stdout.write(removed.length === 0 ? "nothing to remove\n" : `removed ${removed.join(", ")}\n`);
    return 0;
  } finally {
    await c.close();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === "clean") return clean(argv.slice(1));
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
  const controller = new SpiderpoolController({ config, client: client(), logger: log });
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
