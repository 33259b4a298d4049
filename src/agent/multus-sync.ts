/**
 * The Multus sidecar's executor: reads the node's CNI configuration directory and the pod's
 * service-account files, writes 00-multus.conf and multus.d/multus.kubeconfig only when
 * they differ from what is there (each atomically, so the runtime never reads half a file),
 * and on uninstall removes Multus's binary and both files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fsyncDir, writeAtomically } from "./install-cni.ts";
import {
  clusterNetwork,
  MULTUS_CONF,
  MultusConfigError,
  MULTUS_KUBECONFIG,
  MULTUS_KUBECONFIG_DIR,
  multusConf,
  multusKubeconfig,
  type CniConfFile,
} from "./multus-config.ts";

export interface MultusSyncOptions {
  /** The node's CNI configuration directory as mounted in the pod. */
  confDir: string;
  /** The same directory as the node sees it (paths inside 00-multus.conf). */
  hostConfDir: string;
  namespace: string;
  /** multus.multusCNI.defaultCniCRName; empty: the first CNI configuration's network. */
  clusterNetwork: string;
  /** The pod's service-account directory (token, ca.crt). */
  serviceAccountDir: string;
  apiHost: string;
  apiPort: string;
}

function readConfFiles(dir: string): CniConfFile[] {
  return readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

function writeIfChanged(dir: string, name: string, text: string, mode: number): boolean {
  const path = join(dir, name);
  if (existsSync(path) && readFileSync(path, "utf8") === text) return false;
  writeAtomically(dir, name, Buffer.from(text), mode);
  fsyncDir(dir);
  return true;
}

/** One pass; returns the files it rewrote (none when the token and the directory are as before). */
export function syncMultus(o: MultusSyncOptions): string[] {
  const written: string[] = [];
  const read = (f: string): string => {
    try {
      return readFileSync(join(o.serviceAccountDir, f), "utf8");
    } catch (err) {
      throw new MultusConfigError(`the service account's ${f}: ${(err as Error).message}`, { cause: err });
    }
  };
  const kubeconfig = multusKubeconfig({
    host: o.apiHost,
    port: o.apiPort,
    caPem: read("ca.crt"),
    token: read("token"),
  });
  const kcDir = join(o.confDir, MULTUS_KUBECONFIG_DIR);
  mkdirSync(kcDir, { recursive: true, mode: 0o700 });
  // The kubeconfig first: a 00-multus.conf naming a missing kubeconfig would fail every pod.
  if (writeIfChanged(kcDir, MULTUS_KUBECONFIG, kubeconfig, 0o600))
    written.push(`${MULTUS_KUBECONFIG_DIR}/${MULTUS_KUBECONFIG}`);
  const conf = multusConf({
    clusterNetwork: clusterNetwork(o.clusterNetwork, readConfFiles(o.confDir)),
    namespace: o.namespace,
    hostConfDir: o.hostConfDir,
  });
  if (writeIfChanged(o.confDir, MULTUS_CONF, conf, 0o644)) written.push(MULTUS_CONF);
  return written;
}

/** What `multus.multusCNI.uninstall` removes from the node. */
export function uninstallMultus(confDir: string, binDir: string): string[] {
  const targets = [join(binDir, "multus"), join(confDir, MULTUS_KUBECONFIG_DIR), join(confDir, MULTUS_CONF)];
  const removed = targets.filter((t) => existsSync(t));
  for (const t of removed) rmSync(t, { recursive: true, force: true });
  return removed;
}
