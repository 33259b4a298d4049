import { SpiderpoolError } from "../errors/base.ts";

/**
 * The kernel refused a netlink request; `errno` is its name (`EEXIST`, `ENOENT`, …), the
 * message Go's text for it (what upstream's messages wrap), `detail` the kernel's extended ack.
 */
export class NetlinkError extends SpiderpoolError {
  readonly code = "NETLINK_ERROR";
  readonly errno: string;
  readonly detail: string | undefined;
  constructor(errno: string, message: string, detail?: string) {
    super(message);
    this.errno = errno;
    this.detail = detail;
  }
}

/** A path given as a network namespace exists but is not one (a plain file, a mount of something else). */
export class NotANetnsError extends SpiderpoolError {
  readonly code = "NOT_A_NETNS";
  readonly path: string;
  constructor(path: string) {
    super(`${path} is not a network namespace`);
    this.path = path;
  }
}

/** A link named in an op does not exist in the namespace the op runs in. */
export class LinkNotFoundError extends SpiderpoolError {
  readonly code = "LINK_NOT_FOUND";
  readonly errno = "ENODEV";
  readonly link: string;
  constructor(link: string) {
    super(`Link not found: ${link}`);
    this.link = link;
  }
}

/** The native addon could not be loaded (not built, or built for another Node ABI). */
export class HostAddonError extends SpiderpoolError {
  readonly code = "HOST_ADDON_UNAVAILABLE";
}

/** A system call of the addon failed (socket, setns, open of /proc/sys, …). */
export class HostSyscallError extends SpiderpoolError {
  readonly code = "HOST_SYSCALL_FAILED";
  readonly errno: string;
  constructor(errno: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.errno = errno;
  }
}

/** iptables-restore / iptables-save failed inside a namespace. */
export class IptablesError extends SpiderpoolError {
  readonly code = "IPTABLES_FAILED";
}
