/**
 * The container runtime's half of CNI for the sandbox's kubelets: runs an attachment's
 * plugin list as libcni does (ADD in order, each plugin handed the previous one's result as
 * `prevResult`; DEL in reverse with the cached result), inside the node's network namespace.
 * Without network namespaces ("ipam" mode) only the IPAM plugin of each chain's main plugin
 * is run, through our shim, which is all that can run without root.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findPlugin, runPlugin, type PluginResult } from "../netlab.ts";
import { CniPluginError } from "./errors.ts";
import type { Attachment } from "./network-plan.ts";

/** Our shim's names: one binary installed as each. */
const SHIM_TYPES = new Set(["spiderpool", "coordinator", "ifacer"]);

export interface RuntimeConfig {
  mode: "netns" | "ipam";
  /** Where the shim is installed (as spiderpool, coordinator, ifacer). */
  shimDir: string;
  /** This node's agent socket; every plugin of ours is pointed at it. */
  socket: string;
  /** The node's network namespace, where plugins run in "netns" mode. */
  nodeNamespace?: string;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface ChainResult {
  /** The final result of the chain (CNI result JSON). */
  result: Record<string, unknown>;
}

export class CniRuntime {
  readonly config: RuntimeConfig;

  constructor(config: RuntimeConfig) {
    this.config = config;
  }

  /** Which plugin binary a `type` names, or undefined when it is not installed. */
  pluginPath(type: string): string | undefined {
    if (SHIM_TYPES.has(type)) {
      const p = join(this.config.shimDir, type);
      return existsSync(p) ? p : undefined;
    }
    return findPlugin(type);
  }

  /** Runs the attachment's ADD; returns the last plugin's result. */
  async add(pod: PodRef, a: Attachment, netns: string): Promise<ChainResult> {
    let prev: Record<string, unknown> | undefined;
    for (const plugin of this.#plugins(a)) {
      const r = await this.#call("ADD", pod, a, plugin, netns, prev);
      prev = parseResult(r, a, plugin);
    }
    return { result: prev ?? {} };
  }

  /** Runs the attachment's DEL in reverse order; every plugin is called even after a failure (as libcni does not, but a kubelet retries until all succeed). */
  async del(pod: PodRef, a: Attachment, netns: string, prev?: Record<string, unknown>): Promise<void> {
    const failures: string[] = [];
    for (const plugin of [...this.#plugins(a)].reverse()) {
      const r = await this.#call("DEL", pod, a, plugin, netns, prev);
      if (r.code !== 0) failures.push(`${String(plugin["type"])}: ${cniMessage(r)}`);
    }
    if (failures.length > 0)
      throw new CniPluginError(`CNI DEL of ${a.ifName} (${a.network}) failed: ${failures.join("; ")}`);
  }

  /** The plugins run: the whole list with network namespaces, else the main plugin as IPAM only. */
  #plugins(a: Attachment): Array<Record<string, unknown>> {
    if (this.config.mode === "netns") return a.conf.plugins;
    const main = a.conf.plugins.find((p) => typeof p["ipam"] === "object" && p["ipam"] !== null);
    return main === undefined ? [] : [main];
  }

  #call(
    command: "ADD" | "DEL",
    pod: PodRef,
    a: Attachment,
    plugin: Record<string, unknown>,
    netns: string,
    prev: Record<string, unknown> | undefined,
  ): Promise<PluginResult> {
    const type = String(plugin["type"] ?? "");
    const ipamOnly = this.config.mode === "ipam";
    // IPAM only: the shim is the IPAM plugin, called as the main plugin would call it.
    const binary = ipamOnly ? this.pluginPath("spiderpool") : this.pluginPath(type);
    if (binary === undefined) {
      return Promise.resolve({
        code: 1,
        stdout: JSON.stringify({ code: 1, msg: `failed to find plugin "${type}" in path [${this.config.shimDir}]` }),
        stderr: "",
      });
    }
    const netconf: Record<string, unknown> = { cniVersion: a.conf.cniVersion, name: a.conf.name, ...plugin };
    const ipam = plugin["ipam"] as Record<string, unknown> | undefined;
    if (ipam !== undefined && ipam["type"] === "spiderpool")
      netconf["ipam"] = { ...ipam, ipam_unix_socket_path: this.config.socket };
    // Our coordinator and ifacer find the agent through the same key.
    if (SHIM_TYPES.has(type) && type !== "spiderpool")
      netconf["ipam"] = { ...(ipam ?? {}), ipam_unix_socket_path: this.config.socket };
    if (prev !== undefined) netconf["prevResult"] = prev;
    return runPlugin({
      plugin: binary,
      command,
      netconf,
      containerID: containerId(pod),
      netns,
      ifName: a.ifName,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${containerId(pod)};K8S_POD_UID=${pod.uid}`,
      cniPath: [this.config.shimDir, ...(this.config.mode === "netns" ? ["/usr/lib/cni", "/opt/cni/bin"] : [])].join(
        ":",
      ),
      ...(!ipamOnly && this.config.nodeNamespace !== undefined ? { inNamespace: this.config.nodeNamespace } : {}),
    });
  }
}

/** The pod sandbox's id: one per pod UID, so a retried ADD and the DEL name the same container. */
export function containerId(pod: PodRef): string {
  return `sandbox${pod.uid.replace(/-/g, "")}`.slice(0, 64);
}

/** The CNI error's `msg` (and `details`) when the plugin printed one, else its output. */
export function cniMessage(r: PluginResult): string {
  try {
    const e = JSON.parse(r.stdout) as { msg?: string; details?: string };
    if (typeof e.msg === "string")
      return e.details !== undefined && e.details !== "" ? `${e.msg}: ${e.details}` : e.msg;
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = `${r.stdout}${r.stderr}`.trim();
  return text === "" ? `exit status ${r.code}` : text;
}

function parseResult(r: PluginResult, a: Attachment, plugin: Record<string, unknown>): Record<string, unknown> {
  if (r.code !== 0)
    throw new CniPluginError(
      `plugin type="${String(plugin["type"])}" name="${a.conf.name}" failed (add): ${cniMessage(r)}`,
    );
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new CniPluginError(
      `plugin type="${String(plugin["type"])}" printed no CNI result: ${r.stdout.slice(0, 200)}`,
    );
  }
}
