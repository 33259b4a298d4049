/**
 * `mark.replyPath` on the kernel: the nf_tables batch of netlink/nftables.ts sent over a
 * NETLINK_NETFILTER socket opened inside the namespace — one datagram, one transaction, no
 * process (ADR 0009).
 */
import type { HostAddon } from "./addon.ts";
import { HostSyscallError, ReplyMarkError } from "./errors.ts";
import type { Family } from "./model.ts";
import { replyMarkBatch } from "./netlink/nftables.ts";
import { NETLINK_NETFILTER, NetlinkSocket } from "./netlink/socket.ts";

/** A NETLINK_NETFILTER socket in the namespace; a kernel without nfnetlink fails as the first rule would. */
export function openNetfilter(addon: HostAddon, nsPath: string | null): NetlinkSocket {
  try {
    return new NetlinkSocket(addon, nsPath, NETLINK_NETFILTER);
  } catch (err) {
    if (err instanceof HostSyscallError)
      throw new ReplyMarkError("set-xmark", err.errno, err.message, undefined, { cause: err });
    throw err;
  }
}

export function applyReplyMark(sock: NetlinkSocket, family: Family, dev: string, mark: number): void {
  const { requests, steps } = replyMarkBatch(family, dev, mark);
  const failure = sock.execBatch(requests);
  if (failure === undefined) return;
  const { error } = failure;
  throw new ReplyMarkError(steps[failure.index] ?? "set-xmark", error.errno, error.message, error.detail, {
    cause: error,
  });
}
