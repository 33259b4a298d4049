/**
 * A netlink socket inside one namespace (NETLINK_ROUTE, NETLINK_NETFILTER for nf_tables,
 * NETLINK_RDMA for RDMA devices) and the request/answer exchange over it. They all answer inside sendmsg()
 * (see native/host/host.c), so every exchange is synchronous: send, then read until the
 * ack, the error or NLMSG_DONE.
 */
import type { HostAddon } from "../addon.ts";
import { syscallError } from "../addon.ts";
import { errnoName, errnoText } from "../errno.ts";
import { NetlinkError } from "../errors.ts";
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  encodeMessage,
  parseError,
  splitMessages,
  type Attr,
  type Message,
} from "./wire.ts";

export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const NETLINK_RDMA = 20;

const RECV_BUFFER = 1 << 18;
const NLM_F_DUMP_INTR = 0x10;
const DUMP_ATTEMPTS = 5;

/** One request of a batch: its message type, flags (NLM_F_REQUEST is added), family header and attributes. */
export interface Request {
  type: number;
  flags: number;
  header: Uint8Array;
  attrs: readonly Attr[];
}

export class NetlinkSocket {
  private readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = new Uint8Array(RECV_BUFFER);
  private closed = false;
  private readonly addon: HostAddon;

  constructor(addon: HostAddon, nsPath: string | null, protocol: number = NETLINK_ROUTE) {
    this.addon = addon;
    try {
      this.fd = addon.netlinkOpen(nsPath, protocol);
    } catch (err) {
      throw syscallError(err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.fd);
  }

  /** Closes on libuv's pool without waiting: a NETLINK_NETFILTER socket's close can wait in the kernel (host.c). */
  closeInBackground(): void {
    if (this.closed) return;
    this.closed = true;
    void this.addon.closeAsync(this.fd);
  }

  /** A request that changes something: resolves on the kernel's ack, throws NetlinkError on its refusal. */
  exec(type: number, flags: number, header: Uint8Array, attrs: readonly Attr[]): void {
    const seq = this.send(type, flags | NLM_F_REQUEST | NLM_F_ACK, header, attrs);
    for (;;) {
      for (const m of this.read(seq)) {
        if (m.type === NLMSG_ERROR) return this.check(m);
      }
    }
  }

  /** A single get (RTM_GETLINK by name, RTM_GETROUTE for one destination): its one answer, or the error. */
  get(type: number, header: Uint8Array, attrs: readonly Attr[]): Message {
    const seq = this.send(type, NLM_F_REQUEST, header, attrs);
    for (;;) {
      for (const m of this.read(seq)) {
        if (m.type === NLMSG_ERROR) {
          this.check(m);
          continue;
        }
        return m;
      }
    }
  }

  /**
   * A dump: every message up to NLMSG_DONE, across as many datagrams as the kernel needs.
   * A dump the kernel marks interrupted (the table changed while it was read) is read again.
   */
  dump(type: number, header: Uint8Array, attrs: readonly Attr[] = []): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { messages, interrupted } = this.dumpOnce(type, header, attrs);
      if (!interrupted || attempt >= DUMP_ATTEMPTS) return messages;
    }
  }

  private dumpOnce(
    type: number,
    header: Uint8Array,
    attrs: readonly Attr[],
  ): { messages: Message[]; interrupted: boolean } {
    const seq = this.send(type, NLM_F_REQUEST | NLM_F_DUMP, header, attrs);
    const messages: Message[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.read(seq)) {
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE) return { messages, interrupted };
        if (m.type === NLMSG_ERROR) {
          this.check(m);
          continue;
        }
        messages.push(m);
      }
    }
  }

  /**
   * Several requests in one datagram, as nfnetlink takes a transaction (batch begin … end):
   * waits for the answer to each request flagged NLM_F_ACK. Resolves to the first refused
   * request's position and the kernel's error, or undefined when every one was accepted.
   */
  execBatch(requests: readonly Request[]): { index: number; error: NetlinkError } | undefined {
    const seqs: number[] = [];
    const parts = requests.map((r) => {
      this.seq = (this.seq + 1) >>> 0;
      seqs.push(this.seq);
      return encodeMessage(r.type, r.flags | NLM_F_REQUEST, this.seq, r.header, r.attrs);
    });
    const datagram = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      datagram.set(p, at);
      at += p.length;
    }
    try {
      this.addon.send(this.fd, datagram);
    } catch (err) {
      throw syscallError(err);
    }
    const pending = new Map<number, number>();
    requests.forEach((r, i) => {
      if (r.flags & NLM_F_ACK) pending.set(seqs[i] as number, i);
    });
    let failure: { index: number; error: NetlinkError } | undefined;
    while (pending.size > 0) {
      let n: number;
      try {
        n = this.addon.recv(this.fd, this.buf);
      } catch (err) {
        throw syscallError(err);
      }
      // A refused transaction may leave later requests unanswered: the refusal is the answer.
      if (n < 0 && failure !== undefined) break;
      if (n < 0) throw new NetlinkError("ETIMEDOUT", "netlink: the kernel's answer was not queued after the request");
      for (const m of splitMessages(this.buf.slice(0, n))) {
        const index = pending.get(m.seq);
        if (index === undefined || m.type !== NLMSG_ERROR) continue;
        pending.delete(m.seq);
        const e = parseError(m);
        if (e.errno === 0 || (failure !== undefined && failure.index < index)) continue;
        const name = errnoName(e.errno);
        failure = { index, error: new NetlinkError(name, errnoText(name), e.text) };
      }
    }
    return failure;
  }

  private send(type: number, flags: number, header: Uint8Array, attrs: readonly Attr[]): number {
    this.seq = (this.seq + 1) >>> 0;
    const msg = encodeMessage(type, flags, this.seq, header, attrs);
    try {
      this.addon.send(this.fd, msg);
    } catch (err) {
      throw syscallError(err);
    }
    return this.seq;
  }

  /** One datagram's messages of this exchange (a late answer to an abandoned one is dropped). */
  private read(seq: number): Message[] {
    let n: number;
    try {
      n = this.addon.recv(this.fd, this.buf);
    } catch (err) {
      throw syscallError(err);
    }
    if (n < 0) throw new NetlinkError("ETIMEDOUT", "netlink: the kernel's answer was not queued after the request");
    return [...splitMessages(this.buf.slice(0, n))].filter((m) => m.seq === seq);
  }

  private check(m: Message): void {
    const e = parseError(m);
    if (e.errno === 0) return;
    const name = errnoName(e.errno);
    throw new NetlinkError(name, errnoText(name), e.text);
  }
}
