/**
 * What both daemons' entry points do around their own start: the conf.yml upstream's
 * charts mount, waiting for SIGTERM/SIGINT, and turning a failure into an exit code. A
 * mistake the user can fix (configuration, a mistyped option) is reported by its message,
 * with the usage for an option; anything else needs its stack.
 */
import { existsSync } from "node:fs";

const MOUNTED_CONF = "/tmp/spiderpool/config-map/conf.yml";

/** `--config-path`, else the chart's mounted conf.yml when there is one. */
export function confPath(explicit: string | undefined): string | undefined {
  return explicit ?? (existsSync(MOUNTED_CONF) ? MOUNTED_CONF : undefined);
}

export function untilStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}

/** Runs `main` and sets the exit code: 1 on a failure, 2 on a bad option (with the usage). */
export async function runEntry(
  name: string,
  usage: string,
  isUserError: (err: unknown) => boolean,
  main: () => Promise<number>,
): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    const badArgs = String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
    const known = badArgs || isUserError(err);
    process.stderr.write(`${name}: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
    if (badArgs) process.stderr.write(usage);
    process.exitCode = badArgs ? 2 : 1;
  }
}
