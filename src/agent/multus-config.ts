/**
 * What the Multus sidecar of Spiderpool's chart writes on each node (node-networking §6),
 * decided from what it reads: `00-multus.conf`, which makes the thin Multus plugin the
 * node's CNI with the cluster's default network as `clusterNetwork`, and the kubeconfig
 * Multus calls the API server with, built from the agent pod's service-account token (so it
 * follows the token as the kubelet rotates it). Pure; src/agent/multus-sync.ts acts.
 */
import { stringify } from "yaml";
import { SpiderpoolError } from "../errors/base.ts";

export class MultusConfigError extends SpiderpoolError {
  readonly code = "ERR_MULTUS_CONFIG";
}

export const MULTUS_CONF = "00-multus.conf";
export const MULTUS_KUBECONFIG_DIR = "multus.d";
export const MULTUS_KUBECONFIG = "multus.kubeconfig";

export interface CniConfFile {
  name: string;
  /** The file's text; its `name` field names the network. */
  text: string;
}

/**
 * The cluster's default network: the configured one, else the `name` of the first CNI
 * configuration (by file name) that is not Multus's own.
 */
export function clusterNetwork(configured: string, files: readonly CniConfFile[]): string {
  if (configured !== "") return configured;
  const candidates = files
    .filter((f) => /\.(conf|conflist|json)$/.test(f.name) && !f.name.includes("00-multus"))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const first = candidates[0];
  if (first === undefined) {
    throw new MultusConfigError("no CNI configuration to take as Multus's clusterNetwork, and none configured");
  }
  let name: unknown;
  try {
    name = (JSON.parse(first.text) as { name?: unknown }).name;
  } catch (err) {
    throw new MultusConfigError(`${first.name}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof name !== "string" || name === "") throw new MultusConfigError(`${first.name}: no network name`);
  return name;
}

/** 00-multus.conf as upstream's sidecar writes it; `hostConfDir` is the directory as the node sees it. */
export function multusConf(o: { clusterNetwork: string; namespace: string; hostConfDir: string }): string {
  const dir = o.hostConfDir.replace(/\/+$/, "");
  return `${JSON.stringify(
    {
      cniVersion: "0.3.1",
      name: "multus-cni-network",
      type: "multus",
      confDir: `${dir}/`,
      logLevel: "debug",
      logFile: "/var/log/multus.log",
      capabilities: { portMappings: true, bandwidth: true },
      namespaceIsolation: false,
      clusterNetwork: o.clusterNetwork,
      defaultNetworks: [],
      multusNamespace: o.namespace,
      systemNamespaces: [],
      kubeconfig: `${dir}/${MULTUS_KUBECONFIG_DIR}/${MULTUS_KUBECONFIG}`,
    },
    null,
    2,
  )}\n`;
}

/** The kubeconfig for Multus: the API server the pod sees, its CA, the pod's current token. */
export function multusKubeconfig(o: { host: string; port: string; caPem: string; token: string }): string {
  if (o.host === "" || o.port === "") throw new MultusConfigError("KUBERNETES_SERVICE_HOST/PORT are not set");
  if (o.token.trim() === "") throw new MultusConfigError("the service-account token is empty");
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "local",
        cluster: {
          server: `https://${host}:${o.port}`,
          "certificate-authority-data": Buffer.from(o.caPem).toString("base64"),
        },
      },
    ],
    users: [{ name: "multus", user: { token: o.token.trim() } }],
    contexts: [{ name: "multus-context", context: { cluster: "local", user: "multus" } }],
    "current-context": "multus-context",
  });
}
