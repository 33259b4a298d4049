/**
 * spiderpool-init's own entry point, the image's `/usr/bin/spiderpool-init` (the chart's
 * post-install Job runs it with no arguments): `spiderpoolctl init` without the rest of
 * spiderpoolctl, so its bundle carries neither the sandbox nor the embedded API server.
 * A configuration or kubeconfig error is reported in one line and exits 1, which the Job
 * retries up to its backoffLimit.
 */
import { runEntry } from "../daemon/entry.ts";
import { InitConfigError } from "../init/config.ts";
import { KubeConfigError } from "../kube/errors.ts";
import { INIT_USAGE, runInitCommand } from "./init.ts";

await runEntry(
  "spiderpool-init",
  INIT_USAGE,
  (err) => err instanceof InitConfigError || err instanceof KubeConfigError,
  async () => {
    const argv = process.argv.slice(2);
    if (argv.includes("--help") || argv.includes("-h")) {
      process.stdout.write(INIT_USAGE);
      return 0;
    }
    return runInitCommand(argv);
  },
);
