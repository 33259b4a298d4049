/**
 * `spiderpoolctl apiserver`: runs the embedded API server alone, writes a kubeconfig for
 * it, prints `ready <url>` once it serves, and runs until SIGINT/SIGTERM.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startLocalApiServer } from "../apiserver/index.ts";
import { UsageError } from "./usage.ts";

export const APISERVER_USAGE = `usage: spiderpoolctl apiserver [options]

Runs the embedded Kubernetes-compatible API server (for tests, benchmarks and the sandbox;
never a production store) until interrupted.

  --listen HOST:PORT        address to listen on (default 127.0.0.1:0, a free port)
  --kubeconfig-out FILE     write a kubeconfig for the server to FILE
  --tls                     serve HTTPS with a generated certificate (its CA goes into the kubeconfig)
  --auth                    require tokens (the kubeconfig's admin token, ServiceAccount tokens from
                            kubectl create token) and authorize with RBAC; implies --tls, since
                            kubectl sends tokens only over HTTPS
  --skip-crds               do not install the Spiderpool CRDs at start
  --write-latency-ms N      add N ms to every write, to model etcd (default 0)
  --pod-deletion MODE       immediate (default) or graceful: pods stay Terminating until deleted with grace 0
  --history N               watch history kept for resuming watches (default 10000 events)
  --log-requests            print one line per request
`;

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535)
    throw new UsageError(`--listen '${value}': expected HOST:PORT, e.g. 127.0.0.1:0 or [::1]:6443`);
  const host = (m[1] ?? m[2]) as string;
  // No authentication: the embedded server may only be reachable from this machine.
  if (host !== "localhost" && host !== "::1" && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw new UsageError(
      `--listen '${value}': the embedded API server has no authentication and listens on loopback only`,
    );
  }
  return { host, port };
}

export async function runApiServer(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: "string", default: "127.0.0.1:0" },
      "kubeconfig-out": { type: "string" },
      tls: { type: "boolean", default: false },
      auth: { type: "boolean", default: false },
      "skip-crds": { type: "boolean", default: false },
      "write-latency-ms": { type: "string", default: "0" },
      "pod-deletion": { type: "string", default: "immediate" },
      history: { type: "string", default: "10000" },
      "log-requests": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    out.write(APISERVER_USAGE);
    return 0;
  }
  const { host, port } = parseListen(values.listen);
  const latency = Number(values["write-latency-ms"]);
  if (!Number.isFinite(latency) || latency < 0)
    throw new UsageError(`--write-latency-ms must be a non-negative number`);
  const history = Number(values.history);
  if (!Number.isInteger(history) || history < 1) throw new UsageError(`--history must be a positive integer`);
  const mode = values["pod-deletion"];
  if (mode !== "immediate" && mode !== "graceful") throw new UsageError(`--pod-deletion must be immediate or graceful`);

  const { server, url } = await startLocalApiServer({
    ...(values.tls ? { tls: "generate" as const } : {}),
    auth: values.auth,
    writeLatencyMs: latency,
    podDeletion: mode,
    historyCapacity: history,
    ...(values["log-requests"]
      ? {
          onRequest: (r: { method: string; path: string; status: number; ms: number }) =>
            out.write(`${r.method} ${r.path} ${r.status} ${r.ms.toFixed(1)}ms\n`),
        }
      : {}),
    crds: !values["skip-crds"],
    port,
    host,
  });
  if (values["kubeconfig-out"] !== undefined)
    writeFileSync(values["kubeconfig-out"], server.kubeconfig(), { mode: 0o600 });
  out.write(`ready ${url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
  out.write("stopped\n");
  return 0;
}
