/**
 * A bond's `options` text (`miimon=100;primary=ens192`) as upstream reads it: `k=v` pairs
 * split on `;`, a value starting with `[` is a JSON list, an integer is a number, anything
 * else is text; unknown keys are ignored, a value of the wrong type is an error, and integer
 * options count only when above 0. The result uses the kernel's option names, ready for a
 * `link.addBond` op.
 *
 * Two upstream quirks are not kept (docs/compatibility.md): a key or value with spaces around
 * it is trimmed (upstream ignored ` miimon=100` after `; `, spec Q6), and a malformed pair
 * before a good one is skipped (upstream then built invalid JSON and failed).
 */
import { isIPv4 } from "../ip/index.ts";
import { BondOptionsError } from "./errors.ts";

type Kind = "int" | "string" | "list";

/** Upstream's option keys, their Go types, and the kernel's name for each (`ip link … type bond`). */
const OPTIONS: ReadonlyMap<string, { kind: Kind; kernel: string }> = new Map([
  ["active_slave", { kind: "string", kernel: "active_slave" }],
  ["ad_actor_sys_prio", { kind: "int", kernel: "ad_actor_sys_prio" }],
  ["ad_actor_system", { kind: "string", kernel: "ad_actor_system" }],
  ["ad_select", { kind: "int", kernel: "ad_select" }],
  ["ad_user_port_key", { kind: "int", kernel: "ad_user_port_key" }],
  ["all_slaves_active", { kind: "int", kernel: "all_slaves_active" }],
  ["arp_interval", { kind: "int", kernel: "arp_interval" }],
  ["arp_ip_target", { kind: "list", kernel: "arp_ip_target" }],
  ["arp_validate", { kind: "int", kernel: "arp_validate" }],
  ["arp_all_targets", { kind: "int", kernel: "arp_all_targets" }],
  ["downdelay", { kind: "int", kernel: "downdelay" }],
  ["fail_over_mac", { kind: "int", kernel: "fail_over_mac" }],
  ["lacp_rate", { kind: "int", kernel: "lacp_rate" }],
  ["miimon", { kind: "int", kernel: "miimon" }],
  ["min_links", { kind: "int", kernel: "min_links" }],
  ["packets_per_slave", { kind: "int", kernel: "packets_per_slave" }],
  ["primary", { kind: "string", kernel: "primary" }],
  ["primary_reselect", { kind: "int", kernel: "primary_reselect" }],
  ["tlb_dynamic_lb", { kind: "int", kernel: "tlb_dynamic_lb" }],
  ["up_delay", { kind: "int", kernel: "updelay" }],
  ["use_carrier", { kind: "int", kernel: "use_carrier" }],
  ["xmit_hash_policy", { kind: "int", kernel: "xmit_hash_policy" }],
  ["lp_interval", { kind: "int", kernel: "lp_interval" }],
  ["resend_igmp", { kind: "int", kernel: "resend_igmp" }],
  ["peer_notif_delay", { kind: "int", kernel: "peer_notif_delay" }],
]);

export const RECOGNISED_BOND_OPTIONS: readonly string[] = [...OPTIONS.keys()];

/** Options by kernel name; `arp_ip_target` is comma-separated, `primary`/`active_slave` are link names. */
export type BondOptions = Record<string, string | number>;

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

function mismatch(key: string, got: string, want: Kind): BondOptionsError {
  const goType = want === "int" ? "int" : want === "string" ? "string" : "[]string";
  return new BondOptionsError(
    `failed to convert options to BondOptions: json: cannot unmarshal ${got} into Go struct field BondOptions.${key} of type ${goType}`,
  );
}

function jsonKind(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v;
}

export function parseBondOptions(text: string): BondOptions {
  const out: BondOptions = {};
  for (const pair of text.trim().split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) continue;
    // Go's JSON decoding matched keys case-insensitively; so do we.
    const key = (kv[0] as string).trim().toLowerCase();
    const value = (kv[1] as string).trim();
    const spec = OPTIONS.get(key);
    if (spec === undefined) continue;
    if (value.startsWith("[")) {
      let list: unknown;
      try {
        list = JSON.parse(value);
      } catch (err) {
        throw new BondOptionsError(`failed to convert options to BondOptions: ${key}: ${(err as Error).message}`);
      }
      if (spec.kind !== "list") throw mismatch(key, jsonKind(list), spec.kind);
      const bad = (list as unknown[]).find((x) => typeof x !== "string");
      if (bad !== undefined) throw mismatch(key, jsonKind(bad), "string");
      const targets = list as string[];
      for (const t of targets) {
        // The kernel takes IPv4 ARP targets only (IPv6 ones are ns_ip6_target).
        if (!isIPv4(t)) throw new BondOptionsError(`invalid bond arp_ip_target: ${t}`);
      }
      if (targets.length > 0) out[spec.kernel] = targets.join(",");
      continue;
    }
    const isInt = /^[+-]?\d+$/.test(value);
    if (spec.kind === "int") {
      if (!isInt) throw mismatch(key, "string", "int");
      const n = Number(value);
      if (n > 0) out[spec.kernel] = n;
      else delete out[spec.kernel];
      continue;
    }
    if (isInt) throw mismatch(key, "number", spec.kind);
    if (spec.kind === "list") throw mismatch(key, "string", "list");
    if (value === "") {
      delete out[spec.kernel];
      continue;
    }
    if (key === "ad_actor_system") {
      if (!MAC_RE.test(value)) throw new BondOptionsError(`invalid bond ad_actor_system: ${value}`);
      out[spec.kernel] = value.toLowerCase().replaceAll("-", ":");
      continue;
    }
    out[spec.kernel] = value;
  }
  return out;
}
