/** spiderpoolctl: the command-line entry point. */
import { APISERVER_USAGE, runApiServer } from "./apiserver.ts";
import { CHECK_USAGE, runCheck } from "./check.ts";
import { EXPLAIN_USAGE, runExplain } from "./explain.ts";
import { HISTORY_USAGE, runHistory } from "./history.ts";
import { INIT_USAGE, runInitCommand } from "./init.ts";
import { runSandbox, SANDBOX_USAGE } from "./sandbox.ts";
import { runTop, TOP_USAGE } from "./top.ts";
import { UsageError } from "./usage.ts";

const USAGE = `usage: spiderpoolctl <command> [options]

commands:
  sandbox     run Spiderpool on this machine: API server, agents, pools, pods through the CNI
  apiserver   run the embedded Kubernetes-compatible API server (tests, benchmarks, sandbox)
  check       check a cluster's IPAM state for consistency (exit 0 only when consistent)
  init        spiderpool-init: the default SpiderCoordinator, pools and default-CNI SpiderMultusConfig
  explain     why a pod gets (or does not get) its addresses: the agent's pool selection, step by step
  top pools   every pool and subnet as a bar of its addresses, fullest first, with the forecast
  history     who held an address when, what a pod or a pool handed out: Events and records in one timeline

Run 'spiderpoolctl <command> --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "apiserver":
        return await runApiServer(rest);
      case "sandbox":
        return await runSandbox(rest);
      case "check":
        return await runCheck(rest);
      case "init":
        return await runInitCommand(rest);
      case "explain":
        return await runExplain(rest);
      case "top":
        return await runTop(rest);
      case "history":
        return await runHistory(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    const usageLike = err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    if (usageLike) {
      process.stderr.write(
        `spiderpoolctl: ${(err as Error).message}\n\n${command === "apiserver" ? APISERVER_USAGE : command === "sandbox" ? SANDBOX_USAGE : command === "check" ? CHECK_USAGE : command === "init" ? INIT_USAGE : command === "explain" ? EXPLAIN_USAGE : command === "top" ? TOP_USAGE : command === "history" ? HISTORY_USAGE : USAGE}`,
      );
      return 2;
    }
    process.stderr.write(`spiderpoolctl: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
