// Starts an embedded API server with our CRDs and a client on it, for integration tests.
import { startLocalApiServer, type EmbeddedApiServer, type LocalApiServerOptions } from "../../src/apiserver/index.ts";
import { KubeClient, type ClientOptions } from "../../src/kube/index.ts";

export interface Harness {
  server: EmbeddedApiServer;
  client: KubeClient;
  url: string;
  newClient(opts?: ClientOptions): KubeClient;
  /** A client with this bearer token (with `auth`; without it, any token is the admin). */
  clientWithToken(token: string, opts?: ClientOptions): KubeClient;
  close(): Promise<void>;
}

/**
 * With `auth`, the server authenticates and authorizes (over HTTPS, as kubectl needs) and
 * `client`/`newClient` carry the admin's token and the CA.
 */
export async function startApiServer(opts: LocalApiServerOptions = {}): Promise<Harness> {
  const { server, url } = await startLocalApiServer(opts);
  const clients: KubeClient[] = [];
  const as = (token: string, o?: ClientOptions): KubeClient => {
    const c = new KubeClient(opts.auth === true ? { server: url, ca: server.caPem ?? "", token } : { server: url }, o);
    clients.push(c);
    return c;
  };
  const newClient = (o?: ClientOptions): KubeClient => as(server.adminToken, o);
  const client = newClient();
  return {
    server,
    client,
    url,
    newClient,
    clientWithToken: as,
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

/** A client acting as the ServiceAccount `namespace/name`, with a token from its TokenRequest. */
export async function serviceAccountClient(h: Harness, namespace: string, name: string): Promise<KubeClient> {
  const r = await h.client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } } },
  );
  return h.clientWithToken(r.status.token);
}
