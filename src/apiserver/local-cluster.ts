/**
 * The local cluster's API server as every local user boots it (`spiderpoolctl apiserver`,
 * the sandbox, the integration tests): listening on loopback, with TLS when it
 * authenticates (kubectl sends tokens only over HTTPS), and with the project's CRDs
 * registered, so what one of them serves the others serve too.
 */
import { toCrd } from "../api/crd.ts";
import { ALL_KINDS } from "../api/kinds.ts";
import { EmbeddedApiServer } from "./server.ts";
import type { ServerOptions } from "./server-options.ts";

export interface LocalApiServerOptions extends ServerOptions {
  /** false: start without the project's CRDs (tests of CRD handling itself). */
  crds?: boolean;
  port?: number;
  host?: string;
}

export async function startLocalApiServer(
  opts: LocalApiServerOptions = {},
): Promise<{ server: EmbeddedApiServer; url: string }> {
  const { crds, port, host, ...serverOpts } = opts;
  const server = new EmbeddedApiServer(
    serverOpts.auth === true && serverOpts.tls === undefined ? { ...serverOpts, tls: "generate" } : serverOpts,
  );
  const url = await server.listen(port, host);
  try {
    if (crds !== false)
      for (const def of ALL_KINDS)
        await server.registry.create(server.registry.builtin("customresourcedefinitions"), "", toCrd(def));
  } catch (err) {
    await server.close();
    throw err;
  }
  return { server, url };
}
