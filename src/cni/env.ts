/**
 * The CNI_* variables of a call, validated as the CNI spec and libcni's skel do: which
 * command needs which variable, a container ID of `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, and an
 * interface name the kernel accepts (dev_valid_name: 1..15 bytes, not `.` or `..`, no `/`,
 * `:` or whitespace). Names are also refused when they hold control characters or bytes
 * that are not UTF-8: they are stored in a SpiderEndpoint, which is JSON. Failures are
 * code 4 (invalid environment).
 */
import { CniCode, CniError } from "./errors.ts";

export interface CniEnv {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  /** CNI_PATH; undefined when the caller did not forward it. */
  path?: string | undefined;
}

const COMMANDS = new Set(["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"]);
const NEEDS: Readonly<Record<string, readonly (keyof CniEnv)[]>> = {
  ADD: ["containerID", "netns", "ifName", "path"],
  CHECK: ["containerID", "netns", "ifName", "path"],
  DEL: ["containerID", "ifName", "path"],
};
const VAR: Readonly<Record<keyof CniEnv, string>> = {
  command: "CNI_COMMAND",
  containerID: "CNI_CONTAINERID",
  netns: "CNI_NETNS",
  ifName: "CNI_IFNAME",
  path: "CNI_PATH",
};
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux IFNAMSIZ less the terminating NUL. */
const MAX_IFNAME_BYTES = 15;

const invalid = (details: string): CniError => new CniError(CniCode.InvalidEnvironment, "invalid environment", details);

/** Why the kernel (or the endpoint's JSON) would refuse this interface name; undefined when fine. */
export function ifNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name === "." || name === "..") return `'${name}' is not a valid name`;
  if (name.includes("\uFFFD")) return "is not valid UTF-8";
  if (Buffer.byteLength(name, "utf8") > MAX_IFNAME_BYTES) return `is longer than ${MAX_IFNAME_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[/:\s\u0000-\u001f\u007f]/.test(name)) return "holds '/', ':', whitespace or a control character";
  return undefined;
}

export function validateCniEnv(env: CniEnv): void {
  if (!COMMANDS.has(env.command)) throw invalid(`unknown CNI_COMMAND '${env.command}'`);
  for (const k of NEEDS[env.command] ?? []) {
    const v = env[k];
    // A caller that does not forward CNI_PATH (undefined) cannot be judged on it.
    if (k === "path" && v === undefined) continue;
    if (v === undefined || v === "") throw invalid(`${VAR[k]} is required for ${env.command}`);
  }
  if (env.containerID !== "" && !CONTAINER_ID.test(env.containerID))
    throw invalid(`CNI_CONTAINERID '${env.containerID.slice(0, 64)}' must match ${CONTAINER_ID.source}`);
  if (env.ifName !== "" || (NEEDS[env.command] ?? []).includes("ifName")) {
    const why = ifNameProblem(env.ifName);
    if (why !== undefined) throw invalid(`CNI_IFNAME ${why}`);
  }
}
