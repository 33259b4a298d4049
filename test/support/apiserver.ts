// Starts an embedded API server with our CRDs and a client on it, for integration tests.
import { toCrd } from "../../src/api/crd.ts";
import { ALL_KINDS } from "../../src/api/kinds.ts";
import { EmbeddedApiServer, type ServerOptions } from "../../src/apiserver/index.ts";
import { KubeClient, Resources, type ClientOptions } from "../../src/kube/index.ts";

export interface Harness {
  server: EmbeddedApiServer;
  client: KubeClient;
  url: string;
  newClient(opts?: ClientOptions): KubeClient;
  close(): Promise<void>;
}

export async function startApiServer(opts: ServerOptions & { crds?: boolean } = {}): Promise<Harness> {
  const server = new EmbeddedApiServer(opts);
  const url = await server.listen();
  const clients: KubeClient[] = [];
  const newClient = (o?: ClientOptions): KubeClient => {
    const c = new KubeClient({ server: url }, o);
    clients.push(c);
    return c;
  };
  const client = newClient();
  if (opts.crds !== false) {
    for (const k of ALL_KINDS) await client.create(Resources.customresourcedefinitions, toCrd(k) as never);
  }
  return {
    server,
    client,
    url,
    newClient,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

/** Polls until `check` returns true, or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
