/**
 * The directory of the agent's socket: the shim refuses a socket whose directory anyone but
 * root (or the shim's own user) owns or may write (docs/shim-protocol.md), since a netconf,
 * which NAD authors write, names the socket. The agent makes the directory so, or repairs it.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";
import type { Logger } from "pino";

export function secureSocketDir(dir: string, log: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    log.error({ dir, owner: st.uid }, "the socket directory is not owned by root: the CNI plugin will refuse it");
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) !== 0) {
    // A shared directory such as /tmp is never changed: the socket belongs in a directory of its own.
    log.error({ dir }, "the socket directory is shared (sticky, writable by others): the CNI plugin will refuse it");
  } else if ((st.mode & 0o022) !== 0) {
    log.warn({ dir, mode: (st.mode & 0o777).toString(8) }, "the socket directory was writable by others; made 0755");
    chmodSync(dir, st.mode & 0o755);
  }
}
