/**
 * Loads the native addon (native/host/build/spiderpool_host.node, built by
 * native/host/build.sh) from a known path at run time, with process.dlopen rather than an
 * import, so esbuild's bundle carries no .node file and needs no loader: the bundle in
 * dist/ and the sources in src/host/ both find it relative to the repository root.
 * SPIDERPOOL_HOST_ADDON names another path (an image installs it elsewhere).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { errnoName, errnoText } from "./errno.ts";
import { HostAddonError, HostSyscallError } from "./errors.ts";

/** ethtoolStats' answer: names in ETH_GSTRING_LEN-byte slots, u64 values (src/host/ethtool.ts decodes them). */
export interface RawEthtoolStats {
  busInfo: string;
  strings: ArrayBuffer;
  values: ArrayBuffer;
}

export interface HostAddon {
  /** A bound netlink socket inside the namespace: NETLINK_ROUTE (0) unless `protocol` is NETLINK_NETFILTER (12) or NETLINK_RDMA (20). */
  netlinkOpen(nsPath: string | null, protocol?: number): number;
  send(fd: number, buf: Uint8Array): number;
  /** Bytes of one datagram, -1 when none is queued. */
  recv(fd: number, buf: Uint8Array): number;
  close(fd: number): void;
  /** close(2) on libuv's pool, for a close the kernel makes wait (a NETLINK_NETFILTER socket after a commit). */
  closeAsync(fd: number): Promise<void>;
  packetOpen(nsPath: string | null, ifindex: number, ethertype: number): number;
  /** Length of the frame read into `buf`, -1 at the deadline; never blocks the event loop. */
  packetRecv(fd: number, buf: Uint8Array, timeoutMs: number): Promise<number>;
  writeProcSys(nsPath: string | null, path: string, value: string): void;
  /** A netdev's driver statistics and bus, raw (src/host/ethtool.ts decodes them). */
  ethtoolStats(nsPath: string | null, ifname: string): RawEthtoolStats;
}

const CANDIDATES = [
  "../../native/host/build/spiderpool_host.node", // src/host/addon.ts
  "../native/host/build/spiderpool_host.node", // dist/spiderpool-agent.mjs
];

let loaded: HostAddon | undefined;

export function addonPath(): string | undefined {
  const env = process.env.SPIDERPOOL_HOST_ADDON;
  if (env !== undefined && env !== "") return env;
  for (const rel of CANDIDATES) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function loadAddon(): HostAddon {
  if (loaded !== undefined) return loaded;
  const path = addonPath();
  if (path === undefined)
    throw new HostAddonError("the host addon is not built: run native/host/build.sh (or set SPIDERPOOL_HOST_ADDON)");
  const mod = { exports: {} as HostAddon };
  try {
    process.dlopen(mod, path);
  } catch (err) {
    throw new HostAddonError(`cannot load the host addon at ${path}: ${(err as Error).message}`, { cause: err });
  }
  loaded = mod.exports;
  return loaded;
}

/**
 * The addon throws Errors whose `code` is the errno's number and whose message names the call:
 * one with the errno's name and Go's wording instead (what upstream's messages wrap), the
 * addon's text kept as the cause.
 */
export function syscallError(err: unknown): HostSyscallError {
  const e = err as { code?: unknown };
  const n = typeof e.code === "string" ? Number(e.code) : NaN;
  const name = Number.isInteger(n) ? errnoName(n) : "EIO";
  return new HostSyscallError(name, errnoText(name), { cause: err });
}
