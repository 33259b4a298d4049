// What the kernel holds in one nf_tables table, read by Debian's nft(8) — a decoder that is
// not ours, so a test of the executor's encoding cannot share its mistakes. Test assertions
// only: the code under test never runs nft.
import { execFileSync } from "node:child_process";

export interface NftChain {
  name: string;
  type: string;
  hook: string;
  prio: number;
  policy: string;
}

export interface NftTable {
  chains: NftChain[];
  /** Each chain's rules in order, each rule its expressions as `nft -j` prints them. */
  rules: Record<string, unknown[][]>;
}

/** `nft -j list table FAMILY NAME` in the namespace named `ns`; undefined when there is no such table. */
export function nftTable(ns: string, family: "ip" | "ip6", table: string): NftTable | undefined {
  let out: string;
  try {
    out = execFileSync("ip", ["netns", "exec", ns, "nft", "-j", "list", "table", family, table], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    if (/No such file or directory/.test(String((err as { stderr?: unknown }).stderr))) return undefined;
    throw err;
  }
  const items = (JSON.parse(out) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  const chains: NftChain[] = [];
  const rules: Record<string, unknown[][]> = {};
  for (const item of items) {
    if (item["chain"] !== undefined) {
      const c = item["chain"];
      chains.push({
        name: c["name"] as string,
        type: c["type"] as string,
        hook: c["hook"] as string,
        prio: c["prio"] as number,
        policy: c["policy"] as string,
      });
    }
    if (item["rule"] !== undefined) {
      const chain = item["rule"]["chain"] as string;
      (rules[chain] ??= []).push(item["rule"]["expr"] as unknown[]);
    }
  }
  return { chains, rules };
}

/**
 * §1.8's three mangle rules in nft's terms, as the kernel should hold them in
 * `ip|ip6 spiderpool` after mark.replyPath for `dev` and mark 1.
 */
export function replyMarkTable(dev: string): NftTable {
  const meta = (key: string) => ({ meta: { key } });
  const ct = (key: string) => ({ ct: { key } });
  return {
    chains: [
      { name: "prerouting", type: "filter", hook: "prerouting", prio: -150, policy: "accept" },
      { name: "output", type: "route", hook: "output", prio: -150, policy: "accept" },
    ],
    rules: {
      prerouting: [
        // -i veth0 -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff
        [
          { match: { op: "==", left: meta("iifname"), right: dev } },
          { match: { op: "in", left: ct("state"), right: "new" } },
          { mangle: { key: meta("mark"), value: 1 } },
        ],
        // -m mark --mark 0x1 -j CONNMARK --save-mark
        [{ match: { op: "==", left: meta("mark"), right: 1 } }, { mangle: { key: ct("mark"), value: meta("mark") } }],
      ],
      // -j CONNMARK --restore-mark
      output: [[{ mangle: { key: meta("mark"), value: ct("mark") } }]],
    },
  };
}
