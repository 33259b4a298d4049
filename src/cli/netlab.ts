/**
 * A small network lab built only from network namespaces this process creates: a "node"
 * namespace holding a veth pair whose one end is the macvlan master, and one namespace per
 * pod. CNI plugins run inside the node namespace (`ip netns exec`), so the host's own
 * network is never touched. Everything made is recorded and removed by cleanup(), also after
 * a failure.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);
export const CNI_PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

export function findPlugin(name: string): string | undefined {
  for (const d of CNI_PLUGIN_DIRS) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return undefined;
}

/** Why the lab cannot run here, or undefined when it can. */
export async function labUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "not root";
  if (findPlugin("macvlan") === undefined)
    return "the macvlan CNI plugin is not installed (containernetworking-plugins)";
  try {
    await run("ip", ["-V"]);
  } catch {
    return "iproute2 is not installed";
  }
  return undefined;
}

async function ip(args: string[]): Promise<string> {
  const { stdout } = await run("ip", args);
  return stdout;
}

export class NetLab {
  readonly prefix: string;
  readonly #namespaces: string[] = [];

  constructor(prefix: string) {
    // Namespace names are short and unique per run, so labs never collide or leak into each other.
    this.prefix = prefix;
  }

  nsPath(name: string): string {
    return `/var/run/netns/${name}`;
  }

  async addNamespace(name: string): Promise<string> {
    // Recorded first: a failed `ip netns add` (concurrent ones can race on /run/netns's mount)
    // may still leave the namespace's file, and cleanup must try it too.
    this.#namespaces.push(name);
    try {
      await ip(["netns", "add", name]);
      await ip(["-n", name, "link", "set", "lo", "up"]);
    } catch (err) {
      await this.removeNamespace(name).catch(() => undefined);
      throw err;
    }
    return this.nsPath(name);
  }

  /** Removes one namespace this lab made (a pod's, when its pod goes). */
  async removeNamespace(name: string): Promise<void> {
    const i = this.#namespaces.indexOf(name);
    if (i < 0) return;
    if (existsSync(this.nsPath(name))) await ip(["netns", "del", name]);
    this.#namespaces.splice(this.#namespaces.indexOf(name), 1);
  }

  /** A node namespace with `master` (one end of a veth pair) up, ready to parent macvlans. */
  async addNode(name: string, master = "eth-m"): Promise<string> {
    await this.addNamespace(name);
    await ip(["-n", name, "link", "add", master, "type", "veth", "peer", "name", `${master}-p`]);
    await ip(["-n", name, "link", "set", master, "up"]);
    await ip(["-n", name, "link", "set", `${master}-p`, "up"]);
    return name;
  }

  /** Addresses (with prefix) of an interface inside a namespace. */
  async addresses(ns: string, ifName: string): Promise<string[]> {
    const out = JSON.parse(await ip(["-n", ns, "-j", "addr", "show", "dev", ifName])) as Array<{
      addr_info?: Array<{ local: string; prefixlen: number; scope: string }>;
    }>;
    return (out[0]?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
  }

  async routes(ns: string, family: 4 | 6): Promise<Array<{ dst: string; gateway?: string; dev?: string }>> {
    return JSON.parse(await ip(["-n", ns, `-${family}`, "-j", "route", "show"])) as Array<{
      dst: string;
      gateway?: string;
      dev?: string;
    }>;
  }

  async links(ns: string): Promise<string[]> {
    const out = JSON.parse(await ip(["-n", ns, "-j", "link", "show"])) as Array<{ ifname: string }>;
    return out.map((l) => l.ifname);
  }

  /** Removes every namespace this lab made (their links go with them). Never throws. */
  async cleanup(): Promise<string[]> {
    const failed: string[] = [];
    for (const ns of this.#namespaces.splice(0).reverse()) {
      try {
        if (existsSync(this.nsPath(ns))) await ip(["netns", "del", ns]);
      } catch {
        failed.push(ns);
      }
    }
    return failed;
  }
}

export interface PluginCall {
  plugin: string;
  command: "ADD" | "DEL" | "CHECK";
  netconf: Record<string, unknown>;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  /** Directory holding the IPAM plugin (our shim, installed as `spiderpool`). */
  cniPath: string;
  /** Run the plugin inside this network namespace (the lab's node). */
  inNamespace?: string;
}

export interface PluginResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a CNI plugin exactly as a container runtime would: environment, netconf on stdin. */
export function runPlugin(c: PluginCall): Promise<PluginResult> {
  const argv = c.inNamespace !== undefined ? ["netns", "exec", c.inNamespace, c.plugin] : [];
  const cmd = c.inNamespace !== undefined ? "ip" : c.plugin;
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      argv,
      {
        env: {
          PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          CNI_COMMAND: c.command,
          CNI_CONTAINERID: c.containerID,
          CNI_NETNS: c.netns,
          CNI_IFNAME: c.ifName,
          CNI_ARGS: c.args,
          CNI_PATH: c.cniPath,
        },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code =
          err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(JSON.stringify(c.netconf));
  });
}
