// Network namespaces for tests that touch the kernel: named with the host layer's prefix and
// a random suffix, removed after the test whatever its outcome.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import type { NetnsRef } from "../../src/host/model.ts";

export function netnsName(prefix = "spt-ho-"): string {
  return `${prefix}${randomBytes(4).toString("hex")}`;
}

/** Creates a namespace with `ip netns add` (so it lives at /var/run/netns/NAME) and deletes it after the test. */
export function tempNetns(t: TestContext, prefix = "spt-ho-"): NetnsRef & { kind: "path"; name: string } {
  const name = netnsName(prefix);
  execFileSync("ip", ["netns", "add", name]);
  t.after(() => {
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      // already gone
    }
  });
  return { kind: "path", path: `/var/run/netns/${name}`, name };
}

/** Runs a command inside the namespace (test assertions only: the code under test never does). */
export function inNetns(ns: { name: string }, cmd: string, args: string[]): string {
  return execFileSync("ip", ["netns", "exec", ns.name, cmd, ...args], { encoding: "utf8" });
}
