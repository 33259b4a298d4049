// The nf_tables batch without a kernel: its shape (one transaction, add-not-create, flush
// before append), the byte order of what the kernel compares, and how NetlinkSocket reads a
// batch's answers. The kernel's reading of it is test/integration/netlink-host.test.ts's.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { HostAddon } from "../addon.ts";
import { NFT_MSG, replyMarkBatch } from "./nftables.ts";
import { NetlinkSocket, type Request } from "./socket.ts";
import {
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  listAttrs,
  parseAttrs,
  readStr,
  splitMessages,
} from "./wire.ts";

const nft = (m: number): number => (10 << 8) | m;

test("NN-7 reply marks: one batch — table and chains added if missing, both chains flushed, then the three rules", () => {
  const { requests, steps } = replyMarkBatch(4, "veth0", 1);
  assert.deepEqual(
    requests.map((r) => r.type),
    [
      0x10,
      nft(NFT_MSG.NEWTABLE),
      nft(NFT_MSG.NEWCHAIN),
      nft(NFT_MSG.NEWCHAIN),
      nft(NFT_MSG.DELRULE),
      nft(NFT_MSG.DELRULE),
      nft(NFT_MSG.NEWRULE),
      nft(NFT_MSG.NEWRULE),
      nft(NFT_MSG.NEWRULE),
      0x11,
    ],
  );
  // Batch begin and end name the nf_tables subsystem (res_id, big-endian) and are not acked.
  for (const r of [requests[0], requests.at(-1)]) {
    assert.deepEqual([...(r?.header ?? [])], [0, 0, 0, 10]);
    assert.equal((r?.flags ?? 0) & NLM_F_ACK, 0);
  }
  for (const r of requests.slice(1, -1)) {
    assert.deepEqual([...r.header], [2, 0, 0, 0], "NFPROTO_IPV4");
    assert.ok(r.flags & NLM_F_ACK);
    assert.equal(r.flags & NLM_F_EXCL, 0, "add, not create: a second ensure must not fail");
  }
  assert.ok((requests[1]?.flags ?? 0) & NLM_F_CREATE);
  assert.deepEqual(steps, [
    undefined,
    "set-xmark",
    "set-xmark",
    "restore-mark",
    "set-xmark",
    "restore-mark",
    "set-xmark",
    "save-mark",
    "restore-mark",
    undefined,
  ]);
  assert.deepEqual([...(replyMarkBatch(6, "veth0", 1).requests[1]?.header ?? [])], [10, 0, 0, 0], "NFPROTO_IPV6");
});

test("NN-7 reply marks: hooks at mangle priority, big-endian; iifname as the whole zero-padded register; the mark in host order", () => {
  const { requests } = replyMarkBatch(4, "veth0", 0x1234);
  const datagram = (i: number) => {
    const r = requests[i];
    assert.ok(r !== undefined);
    const m = [...splitMessages(encodeFor(r))][0];
    assert.ok(m !== undefined);
    return parseAttrs(m.body, 4);
  };
  const chain = datagram(2);
  assert.equal(readStr(chain.get(3)), "prerouting");
  assert.equal(readStr(chain.get(7)), "filter");
  const hook = parseAttrs(chain.get(4) as Uint8Array);
  assert.deepEqual([...(hook.get(1) ?? [])], [0, 0, 0, 0], "NF_INET_PRE_ROUTING");
  assert.deepEqual([...(hook.get(2) ?? [])], [0xff, 0xff, 0xff, 0x6a], "-150");
  assert.equal(readStr(datagram(3).get(7)), "route", "output is a route chain: a changed mark re-routes");
  const exprs = listAttrs(datagram(6).get(4) as Uint8Array).map(([, e]) => parseAttrs(e));
  assert.deepEqual(
    exprs.map((e) => readStr(e.get(1))),
    ["meta", "cmp", "ct", "bitwise", "cmp", "immediate", "meta"],
  );
  const value = (e: Map<number, Uint8Array> | undefined, attr: number) => [
    ...(parseAttrs(parseAttrs(e?.get(2) as Uint8Array).get(attr) as Uint8Array).get(1) ?? []),
  ];
  assert.deepEqual(value(exprs[1], 3), [0x76, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(value(exprs[3], 4), [8, 0, 0, 0], "ct state new");
  assert.deepEqual(value(exprs[5], 2), [0x34, 0x12, 0, 0]);
});

test("NN-7 reply marks: input the kernel never sees", () => {
  assert.throws(() => replyMarkBatch(4, "", 1), RangeError);
  assert.throws(() => replyMarkBatch(4, "a-name-too-long0", 1), /not an interface name/);
  assert.throws(() => replyMarkBatch(4, "veth0", 0), /not a packet mark/);
  assert.throws(() => replyMarkBatch(4, "veth0", 2 ** 32), /not a packet mark/);
});

/** The request as the socket frames it (acks off, so nothing is awaited). */
function encodeFor(r: Request): Uint8Array {
  const sent: Uint8Array[] = [];
  new NetlinkSocket(
    fakeAddon(sent, () => []),
    null,
  ).execBatch([{ ...r, flags: r.flags & ~NLM_F_ACK }]);
  return sent[0] as Uint8Array;
}

/** An addon whose kernel answers each sent datagram with `answer(seqs)`'s datagrams, queued. */
function fakeAddon(sent: Uint8Array[], answer: (seqs: number[]) => Uint8Array[]): HostAddon {
  const queue: Uint8Array[] = [];
  return {
    netlinkOpen: () => 3,
    send: (_fd, buf) => {
      sent.push(buf.slice());
      queue.push(...answer([...splitMessages(buf)].map((m) => m.seq)));
      return buf.length;
    },
    recv: (_fd, buf) => {
      const d = queue.shift();
      if (d === undefined) return -1;
      buf.set(d);
      return d.length;
    },
    close: () => {},
    closeAsync: async () => {},
    packetOpen: () => -1,
    packetRecv: async () => -1,
    writeProcSys: () => {},
    ethtoolStats: () => {
      throw new Error("no ethtool here");
    },
  };
}

function ack(seq: number, errno = 0): Uint8Array {
  const b = new Uint8Array(36);
  const v = new DataView(b.buffer);
  v.setUint32(0, 36, true);
  v.setUint16(4, NLMSG_ERROR, true);
  v.setUint32(8, seq, true);
  v.setInt32(16, -errno, true);
  return b;
}

test("execBatch: waits for every acked request; reports the first refused by position; a refusal may leave others unanswered", () => {
  const batch = replyMarkBatch(4, "veth0", 1).requests;
  // Every acked request answered, across two datagrams.
  let sock = new NetlinkSocket(
    fakeAddon([], (seqs) => {
      const acked = seqs.slice(1, -1);
      const half = acked.length >> 1;
      const join = (xs: number[]) => Uint8Array.from(xs.flatMap((s) => [...ack(s)]));
      return [join(acked.slice(0, half)), join(acked.slice(half))];
    }),
    null,
  );
  assert.equal(sock.execBatch(batch), undefined);
  // Two refusals, the later one answered first; nothing after them.
  sock = new NetlinkSocket(
    fakeAddon([], (seqs) => [ack(seqs[7] as number, 22), ack(seqs[3] as number, 95)]),
    null,
  );
  const failure = sock.execBatch(batch);
  assert.equal(failure?.index, 3);
  assert.equal(failure?.error.errno, "EOPNOTSUPP");
  // No answer at all is not success.
  sock = new NetlinkSocket(
    fakeAddon([], () => []),
    null,
  );
  assert.throws(() => sock.execBatch(batch), /not queued/);
});
