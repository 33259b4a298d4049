/**
 * Helpers for the kernel lab's tests (test/kernel/, run inside the guest by
 * test/kernel-lab/run.sh): commands against namespaces the test made, and the details
 * `ip -d -j` reports for one link.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Runs a command and returns its stdout; a failure carries the command's stderr. Killed after
 * two minutes, so a stuck command fails its test instead of the whole guest's time budget.
 */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { timeout: 120_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

/** `ip` inside namespace `ns`; `undefined` is the (guest's) root namespace. */
export function ipn(ns: string | undefined, ...args: string[]): Promise<string> {
  return ns === undefined ? sh("ip", ...args) : sh("ip", "-n", ns, ...args);
}

/** A name with the kernel lab's prefix and a random suffix, short enough for `<name>.4094`. */
export function labName(tag: string): string {
  return `spt-kl-${tag}${randomBytes(1).toString("hex")}`.slice(0, 10);
}

export interface LinkDetails {
  ifindex: number;
  ifname: string;
  address?: string;
  flags: string[];
  operstate: string;
  master?: string;
  link?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
  };
}

export async function linkDetails(ns: string | undefined, name: string): Promise<LinkDetails> {
  const [link] = JSON.parse(await ipn(ns, "-d", "-j", "link", "show", "dev", name)) as LinkDetails[];
  if (link === undefined) throw new Error(`no link ${name} in ${ns ?? "the root namespace"}`);
  return link;
}

export async function linkNames(ns: string | undefined): Promise<string[]> {
  return (JSON.parse(await ipn(ns, "-j", "link", "show")) as LinkDetails[]).map((l) => l.ifname).sort();
}

/** Whether the test runs in the kernel lab's guest (guest.sh sets it); tests refuse to run elsewhere. */
export const IN_GUEST = process.env["KLAB_GUEST"] === "1";
