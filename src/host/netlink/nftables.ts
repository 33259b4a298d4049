/**
 * The §1.8 reply-path marks as one nf_tables transaction (ADR 0009): per family a table of
 * our own, `ip spiderpool` / `ip6 spiderpool`, with two base chains at mangle priority
 * (-150) and the three rules iptables would put in the mangle table:
 *
 *   prerouting (type filter): iifname "veth0" ct state new meta mark set 0x1
 *                             meta mark 0x1 ct mark set meta mark
 *   output (type route):      meta mark set ct mark
 *
 * The output chain is `type route` for the reason iptables' mangle OUTPUT is: a packet whose
 * mark changes there is routed again, which is what sends a reply out through table 100.
 *
 * Idempotent by construction, and atomic: the batch creates the table and chains if they are
 * missing (NLM_F_CREATE without NLM_F_EXCL is "add", not "create"), flushes both chains and
 * appends the rules; the kernel commits all of it or none. Integers in nfnetlink attributes
 * are big-endian; register data (a mark, a ct state mask) is in host order, as the kernel
 * compares it.
 */
import type { Family } from "../model.ts";
import type { Request } from "./socket.ts";
import { NLM_F_ACK, NLM_F_CREATE, bytes, nest, str, type Attr } from "./wire.ts";

export const NFPROTO = { 4: 2, 6: 10 } as const satisfies Record<Family, number>;
const AF_UNSPEC = 0;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NLM_F_APPEND = 0x800;

export const NFT_MSG = {
  NEWTABLE: 0,
  NEWCHAIN: 3,
  NEWRULE: 6,
  DELRULE: 8,
} as const;

const TABLE_NAME = 1;
const CHAIN = { TABLE: 1, NAME: 3, HOOK: 4, POLICY: 5, TYPE: 7 } as const;
const HOOK = { NUM: 1, PRIORITY: 2 } as const;
const RULE = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4 } as const;
const LIST_ELEM = 1;
const EXPR = { NAME: 1, DATA: 2 } as const;
const DATA_VALUE = 1;

const NF_INET_PRE_ROUTING = 0;
const NF_INET_LOCAL_OUT = 3;
const NF_IP_PRI_MANGLE = -150;
const NF_ACCEPT = 1;

const NFT_REG_1 = 1;
const META = { DREG: 1, KEY: 2, SREG: 3 } as const;
const META_KEY = { MARK: 3, IIFNAME: 6 } as const;
const CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
const CMP_OP = { EQ: 0, NEQ: 1 } as const;
const CT = { DREG: 1, KEY: 2, SREG: 4 } as const;
const CT_KEY = { STATE: 0, MARK: 3 } as const;
const BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5 } as const;
const IMMEDIATE = { DREG: 1, DATA: 2 } as const;
/** NF_CT_STATE_BIT(IP_CT_NEW). */
const CT_STATE_NEW = 1 << 3;
const IFNAMSIZ = 16;

export const REPLY_MARK_TABLE = "spiderpool";

/** Which of upstream's three `EnsureRule` calls a request stands for: the spec's error texts name them. */
export type ReplyMarkStep = "set-xmark" | "save-mark" | "restore-mark";

export interface ReplyMarkBatch {
  requests: Request[];
  /** Per request, the step a refusal of it is reported as (undefined for batch begin/end). */
  steps: (ReplyMarkStep | undefined)[];
}

function be32(type: number, v: number): Attr {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v | 0, false);
  return { type, value: b };
}

/** A register value in host order (little-endian on every platform the agent ships for). */
function hostU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

const data = (type: number, value: Uint8Array): Attr => nest(type, [bytes(DATA_VALUE, value)]);
const expr = (name: string, attrs: readonly Attr[]): Attr =>
  nest(LIST_ELEM, [str(EXPR.NAME, name), nest(EXPR.DATA, attrs)]);

const metaLoad = (key: number) => expr("meta", [be32(META.DREG, NFT_REG_1), be32(META.KEY, key)]);
const metaSet = (key: number) => expr("meta", [be32(META.KEY, key), be32(META.SREG, NFT_REG_1)]);
const ctLoad = (key: number) => expr("ct", [be32(CT.DREG, NFT_REG_1), be32(CT.KEY, key)]);
const ctSet = (key: number) => expr("ct", [be32(CT.KEY, key), be32(CT.SREG, NFT_REG_1)]);
const cmp = (op: number, value: Uint8Array) =>
  expr("cmp", [be32(CMP.SREG, NFT_REG_1), be32(CMP.OP, op), data(CMP.DATA, value)]);

/** `iifname NAME`: the whole IFNAMSIZ register, zero-padded, as nft(8) compares it. */
function ifname(name: string): Uint8Array {
  const enc = new TextEncoder().encode(name);
  if (enc.length === 0 || enc.length >= IFNAMSIZ) throw new RangeError(`not an interface name: '${name}'`);
  const b = new Uint8Array(IFNAMSIZ);
  b.set(enc);
  return b;
}

/** The three rules' expressions, for `dev` (veth0) and `mark` (0x1). */
export function replyMarkRules(dev: string, mark: number): { chain: string; step: ReplyMarkStep; exprs: Attr[] }[] {
  return [
    {
      chain: "prerouting",
      step: "set-xmark",
      exprs: [
        metaLoad(META_KEY.IIFNAME),
        cmp(CMP_OP.EQ, ifname(dev)),
        ctLoad(CT_KEY.STATE),
        expr("bitwise", [
          be32(BITWISE.SREG, NFT_REG_1),
          be32(BITWISE.DREG, NFT_REG_1),
          be32(BITWISE.LEN, 4),
          data(BITWISE.MASK, hostU32(CT_STATE_NEW)),
          data(BITWISE.XOR, hostU32(0)),
        ]),
        cmp(CMP_OP.NEQ, hostU32(0)),
        expr("immediate", [be32(IMMEDIATE.DREG, NFT_REG_1), data(IMMEDIATE.DATA, hostU32(mark))]),
        metaSet(META_KEY.MARK),
      ],
    },
    {
      chain: "prerouting",
      step: "save-mark",
      exprs: [metaLoad(META_KEY.MARK), cmp(CMP_OP.EQ, hostU32(mark)), metaLoad(META_KEY.MARK), ctSet(CT_KEY.MARK)],
    },
    { chain: "output", step: "restore-mark", exprs: [ctLoad(CT_KEY.MARK), metaSet(META_KEY.MARK)] },
  ];
}

function nfgenmsg(family: number, resId = 0): Uint8Array {
  return Uint8Array.of(family, 0, resId >> 8, resId & 0xff);
}

const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

export function replyMarkBatch(family: Family, dev: string, mark: number): ReplyMarkBatch {
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff) throw new RangeError(`not a packet mark: ${mark}`);
  const h = nfgenmsg(NFPROTO[family]);
  // NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are the same attribute number.
  const table = str(CHAIN.TABLE, REPLY_MARK_TABLE);
  const requests: Request[] = [];
  const steps: (ReplyMarkStep | undefined)[] = [];
  const add = (r: Request, step: ReplyMarkStep | undefined) => {
    requests.push(r);
    steps.push(step);
  };
  const batch = nfgenmsg(AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  add({ type: NFNL_MSG_BATCH_BEGIN, flags: 0, header: batch, attrs: [] }, undefined);
  add(
    {
      type: nftType(NFT_MSG.NEWTABLE),
      flags: NLM_F_CREATE | NLM_F_ACK,
      header: h,
      attrs: [str(TABLE_NAME, REPLY_MARK_TABLE)],
    },
    "set-xmark",
  );
  const chains = [
    { name: "prerouting", type: "filter", hook: NF_INET_PRE_ROUTING, step: "set-xmark" },
    { name: "output", type: "route", hook: NF_INET_LOCAL_OUT, step: "restore-mark" },
  ] as const;
  for (const c of chains) {
    add(
      {
        type: nftType(NFT_MSG.NEWCHAIN),
        flags: NLM_F_CREATE | NLM_F_ACK,
        header: h,
        attrs: [
          table,
          str(CHAIN.NAME, c.name),
          nest(CHAIN.HOOK, [be32(HOOK.NUM, c.hook), be32(HOOK.PRIORITY, NF_IP_PRI_MANGLE)]),
          be32(CHAIN.POLICY, NF_ACCEPT),
          str(CHAIN.TYPE, c.type),
        ],
      },
      c.step,
    );
  }
  // Flush then append: however often applied, each chain holds exactly its rules.
  for (const c of chains) {
    add(
      { type: nftType(NFT_MSG.DELRULE), flags: NLM_F_ACK, header: h, attrs: [table, str(RULE.CHAIN, c.name)] },
      c.step,
    );
  }
  for (const r of replyMarkRules(dev, mark)) {
    add(
      {
        type: nftType(NFT_MSG.NEWRULE),
        flags: NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
        header: h,
        attrs: [table, str(RULE.CHAIN, r.chain), nest(RULE.EXPRESSIONS, r.exprs)],
      },
      r.step,
    );
  }
  add({ type: NFNL_MSG_BATCH_END, flags: 0, header: batch, attrs: [] }, undefined);
  return { requests, steps };
}
