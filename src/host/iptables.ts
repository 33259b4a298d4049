/**
 * `iptables.ensure` with Debian's iptables (ADR 0008): per family, one iptables-save per
 * table the rules name and one iptables-restore --noflush carrying every missing rule, run
 * inside the namespace by nsenter(1) — never a process per rule. iptables-save prints rules
 * in its own canonical spelling (`0x1/0xffffffff` for `0x000001`, default CONNMARK masks
 * written out), so both sides are normalised before comparing.
 */
import { spawn } from "node:child_process";
import type { Family } from "../ip/index.ts";
import { IptablesError } from "./errors.ts";

export interface IptablesPrograms {
  restore4: string;
  restore6: string;
  save4: string;
  save6: string;
}

const DEBIAN: IptablesPrograms = {
  restore4: "iptables-restore",
  restore6: "ip6tables-restore",
  save4: "iptables-save",
  save6: "ip6tables-save",
};

/** Splits `-t mangle -A CHAIN …` into its table and the rule as iptables-restore takes it. */
export function splitTable(rule: string): { table: string; rule: string } {
  const tokens = rule.trim().split(/\s+/);
  let table = "filter";
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if ((tokens[i] === "-t" || tokens[i] === "--table") && i + 1 < tokens.length) {
      table = tokens[++i] as string;
      continue;
    }
    rest.push(tokens[i] as string);
  }
  if (rest[0] !== "-A" && rest[0] !== "--append") throw new RangeError(`iptables rule must append (-A): '${rule}'`);
  rest[0] = "-A";
  return { table, rule: rest.join(" ") };
}

/** One spelling for a rule, whether we wrote it or iptables-save printed it. */
export function normaliseRule(rule: string): string {
  const t = rule.trim().split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    let tok = t[i] as string;
    if (tok === "--append") tok = "-A";
    if (/^0x[0-9a-fA-F]+(\/0x[0-9a-fA-F]+)?$/.test(tok)) {
      tok = tok
        .split("/")
        .map((h) => `0x${BigInt(h).toString(16)}`)
        .join("/");
    }
    const prev = out[out.length - 1];
    if (prev === "--set-xmark" && !tok.includes("/")) tok = `${tok}/0xffffffff`;
    if (prev === "--mark" && tok.endsWith("/0xffffffff")) tok = tok.slice(0, -"/0xffffffff".length);
    // CONNMARK's default masks, which iptables-save writes out.
    if (
      (tok === "--nfmask" || tok === "--ctmask") &&
      t[i + 1] !== undefined &&
      BigInt(t[i + 1] as string) === 0xffffffffn
    ) {
      i++;
      continue;
    }
    out.push(tok);
  }
  return out.join(" ");
}

export async function ensureIptables(
  nsPath: string | null,
  family: Family,
  rules: readonly string[],
  programs: IptablesPrograms = DEBIAN,
): Promise<void> {
  const byTable = new Map<string, string[]>();
  for (const r of rules) {
    const { table, rule } = splitTable(r);
    byTable.set(table, [...(byTable.get(table) ?? []), rule]);
  }
  const save = family === 4 ? programs.save4 : programs.save6;
  const restore = family === 4 ? programs.restore4 : programs.restore6;
  let input = "";
  for (const [table, wanted] of byTable) {
    const saved = await run(nsPath, save, ["-t", table], "");
    const have = new Set(
      saved
        .split("\n")
        .filter((l) => l.startsWith("-A "))
        .map(normaliseRule),
    );
    const missing = wanted.filter((r) => !have.has(normaliseRule(r)));
    const unique = missing.filter((r, i) => missing.findIndex((x) => normaliseRule(x) === normaliseRule(r)) === i);
    if (unique.length > 0) input += `*${table}\n${unique.join("\n")}\nCOMMIT\n`;
  }
  if (input !== "") await run(nsPath, restore, ["--noflush"], input);
}

function run(nsPath: string | null, program: string, args: string[], stdin: string): Promise<string> {
  const [cmd, argv] = nsPath === null ? [program, args] : ["nsenter", [`--net=${nsPath}`, "--", program, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", (e) => reject(new IptablesError(`${program}: ${e.message}`, { cause: e })));
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new IptablesError(`${program} exited ${code}: ${err.trim()}`));
    });
    // A program that fails early stops reading: its exit status says why, not our EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(stdin);
  });
}
