/**
 * `spiderpoolctl init`: spiderpool-init, the chart's post-install Job (spiderpool-api §6.4).
 * Configuration from the environment; the cluster from --kubeconfig, $KUBECONFIG or the
 * in-cluster service account. Exit 0 once every object exists.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import { loadInitConfig } from "../init/config.ts";
import { runInit } from "../init/run.ts";
import { KubeClient } from "../kube/client.ts";
import { inClusterConfig, loadKubeconfig } from "../kube/config.ts";

export const INIT_USAGE = `usage: spiderpoolctl init [--kubeconfig FILE]

Waits for spiderpool-controller, then creates the default SpiderCoordinator, the optional
default SpiderSubnets and SpiderIPPools, and the SpiderMultusConfig of the default CNI, from
the environment of upstream's spiderpool-init (SPIDERPOOL_INIT_*). Objects that exist are
left as they are, so running it again changes nothing.

  --kubeconfig FILE   the cluster (default: $KUBECONFIG, else in-cluster)
`;

export async function runInitCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { kubeconfig: { type: "string" } }, strict: true });
  const config = loadInitConfig(env);
  const path = values.kubeconfig ?? env["KUBECONFIG"];
  const client = new KubeClient(path !== undefined && path !== "" ? loadKubeconfig(path) : inClusterConfig());
  const log = pino({
    level: env["SPIDERPOOL_LOG_LEVEL"]?.toLowerCase() ?? "info",
    base: { component: "spiderpool-init" },
  });
  try {
    const r = await runInit({ client, config, log });
    log.info({ created: r.created, existing: r.existing }, "spiderpool-init done");
    return 0;
  } finally {
    await client.close();
  }
}
