/**
 * Where the API server is and how to authenticate: from a kubeconfig file (token,
 * client certificate, CA data or file, insecure-skip-tls-verify) or from inside a pod
 * (service-account token, CA, KUBERNETES_SERVICE_HOST/PORT).
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { KubeConfigError } from "./errors.ts";

export interface ClusterConfig {
  /** `https://host:port` (or http for the embedded server on loopback). */
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** A fixed bearer token. */
  token?: string;
  /** A token file, re-read when it changes (service-account tokens rotate). */
  tokenFile?: string;
  /** The context's default namespace. */
  namespace?: string;
}

type Named<T> = { name?: string } & T;
interface RawKubeconfig {
  "current-context"?: string;
  clusters?: Array<Named<{ cluster?: Record<string, unknown> }>>;
  users?: Array<Named<{ user?: Record<string, unknown> }>>;
  contexts?: Array<Named<{ context?: Record<string, unknown> }>>;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function readPath(base: string, p: string, what: string): string {
  const full = isAbsolute(p) ? p : join(base, p);
  try {
    return readFileSync(full, "utf8");
  } catch (err) {
    throw new KubeConfigError(`cannot read ${what} '${full}': ${(err as Error).message}`, { cause: err });
  }
}

function decodeData(v: string, what: string): string {
  const text = Buffer.from(v, "base64").toString("utf8");
  if (!text.includes("-----BEGIN")) throw new KubeConfigError(`${what} is not base64 of a PEM block`);
  return text;
}

/** Loads a kubeconfig file; `context` defaults to current-context. */
export function loadKubeconfig(path: string, context?: string): ClusterConfig {
  let raw: RawKubeconfig;
  try {
    raw = (parse(readFileSync(path, "utf8")) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new KubeConfigError(`cannot load kubeconfig '${path}': ${(err as Error).message}`, { cause: err });
  }
  const base = dirname(path);
  const ctxName = context ?? raw["current-context"];
  if (ctxName === undefined) throw new KubeConfigError(`kubeconfig '${path}' has no current-context`);
  const ctx = raw.contexts?.find((c) => c.name === ctxName)?.context;
  if (ctx === undefined) throw new KubeConfigError(`kubeconfig '${path}' has no context '${ctxName}'`);
  const clusterName = str(ctx["cluster"]);
  const cluster = raw.clusters?.find((c) => c.name === clusterName)?.cluster;
  if (cluster === undefined) {
    throw new KubeConfigError(`kubeconfig '${path}': context '${ctxName}' names unknown cluster '${clusterName}'`);
  }
  const server = str(cluster["server"]);
  if (server === undefined) throw new KubeConfigError(`kubeconfig '${path}': cluster '${clusterName}' has no server`);
  const out: ClusterConfig = { server: server.replace(/\/+$/, "") };
  const caData = str(cluster["certificate-authority-data"]);
  const caFile = str(cluster["certificate-authority"]);
  if (caData !== undefined) out.ca = decodeData(caData, "certificate-authority-data");
  else if (caFile !== undefined) out.ca = readPath(base, caFile, "certificate-authority");
  if (cluster["insecure-skip-tls-verify"] === true) out.insecureSkipTLSVerify = true;
  const sni = str(cluster["tls-server-name"]);
  if (sni !== undefined) out.tlsServerName = sni;

  const userName = str(ctx["user"]);
  const user = userName === undefined ? undefined : raw.users?.find((u) => u.name === userName)?.user;
  if (userName !== undefined && user === undefined) {
    throw new KubeConfigError(`kubeconfig '${path}': context '${ctxName}' names unknown user '${userName}'`);
  }
  if (user !== undefined) {
    const token = str(user["token"]);
    const tokenFile = str(user["tokenFile"]);
    if (token !== undefined) out.token = token;
    else if (tokenFile !== undefined) out.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile);
    const certData = str(user["client-certificate-data"]);
    const certFile = str(user["client-certificate"]);
    const keyData = str(user["client-key-data"]);
    const keyFile = str(user["client-key"]);
    if (certData !== undefined) out.cert = decodeData(certData, "client-certificate-data");
    else if (certFile !== undefined) out.cert = readPath(base, certFile, "client-certificate");
    if (keyData !== undefined) out.key = decodeData(keyData, "client-key-data");
    else if (keyFile !== undefined) out.key = readPath(base, keyFile, "client-key");
    if ((out.cert === undefined) !== (out.key === undefined)) {
      throw new KubeConfigError(`kubeconfig '${path}': user '${userName}' needs both a client certificate and a key`);
    }
  }
  const ns = str(ctx["namespace"]);
  if (ns !== undefined) out.namespace = ns;
  return out;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** In-cluster configuration, as client-go's rest.InClusterConfig. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ClusterConfig {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  if (host === undefined || host === "" || port === undefined || port === "") {
    throw new KubeConfigError("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  const tokenFile = join(dir, "token");
  try {
    statSync(tokenFile);
  } catch (err) {
    throw new KubeConfigError(`service-account token '${tokenFile}' is missing`, { cause: err });
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const out: ClusterConfig = { server: `https://${hostPart}:${port}`, tokenFile, ca: readPath(dir, "ca.crt", "CA") };
  try {
    out.namespace = readFileSync(join(dir, "namespace"), "utf8").trim();
  } catch {
    // The namespace file is optional; callers that need one say so.
  }
  return out;
}

/**
 * Bearer tokens from a file are re-read when the file changes (checked at most once a
 * second), so rotated service-account tokens are picked up without a restart.
 */
export class TokenSource {
  readonly #config: ClusterConfig;
  #cached: string | undefined;
  #mtimeMs = -1;
  #checkedAt = 0;

  constructor(config: ClusterConfig) {
    this.#config = config;
  }

  token(now = Date.now()): string | undefined {
    if (this.#config.token !== undefined) return this.#config.token;
    const file = this.#config.tokenFile;
    if (file === undefined) return undefined;
    if (this.#cached !== undefined && now - this.#checkedAt < 1000) return this.#cached;
    this.#checkedAt = now;
    try {
      const st = statSync(file);
      if (st.mtimeMs !== this.#mtimeMs || this.#cached === undefined) {
        this.#cached = readFileSync(file, "utf8").trim();
        this.#mtimeMs = st.mtimeMs;
      }
    } catch (err) {
      if (this.#cached === undefined) throw new KubeConfigError(`cannot read token file '${file}'`, { cause: err });
    }
    return this.#cached;
  }
}
