/**
 * The native parts the sandbox runs: the CNI shim (built when missing) and the host addon
 * the coordinator's node side needs (built when stale, then loaded once to see that it can).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NetlinkHost } from "../../host/netlink-host.ts";
import { UsageError } from "../usage.ts";

/** The repository's root (this file is src/cli/sandbox/native.ts). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SHIM_DIR = join(ROOT, "native", "shim", "build");

export function ensureShim(out: NodeJS.WritableStream): string {
  const shim = join(SHIM_DIR, "spiderpool");
  if (existsSync(shim)) return shim;
  out.write("building the CNI shim (native/shim/build.sh)...\n");
  try {
    execFileSync("bash", [join(ROOT, "native", "shim", "build.sh")], { stdio: "inherit" });
  } catch {
    throw new UsageError(
      "the CNI shim is not built and gcc could not build it: install gcc, or run native/shim/build.sh",
    );
  }
  return shim;
}

/**
 * Why the host addon (the coordinator's node side) cannot load here, or undefined when it can.
 * It is built first when missing or older than its source, under the lock the daemons' launcher
 * takes (scripts/daemon.sh), so parallel runs do not write it at once.
 */
export function nodeNetworkUnavailable(): string | undefined {
  const addon = join(ROOT, "native", "host", "build", "spiderpool_host.node");
  const source = join(ROOT, "native", "host", "host.c");
  const stale = (): boolean => !existsSync(addon) || statSync(source).mtimeMs > statSync(addon).mtimeMs;
  if (stale()) {
    try {
      mkdirSync(join(ROOT, "dist"), { recursive: true });
      execFileSync(
        "flock",
        [
          join(ROOT, "dist", ".build.lock"),
          "bash",
          "-c",
          `if [ ! -f "$1" ] || [ "$2" -nt "$1" ]; then bash "$3" >&2; fi`,
          "build-host-addon",
          addon,
          source,
          join(ROOT, "native", "host", "build.sh"),
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (err) {
      return `the host addon could not be built: ${(err as Error).message.split("\n")[0] ?? ""}`;
    }
  }
  try {
    new NetlinkHost();
    return undefined;
  } catch (err) {
    return `the host addon is not loadable: ${(err as Error).message}`;
  }
}
