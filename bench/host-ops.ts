// What one coordinator-sized step costs through each way of reaching the kernel (ADR 0008):
// a route add + a rule add + a permanent neighbour add in a pod namespace, then their
// deletes, through NetlinkHost.apply (the addon's netlink socket opened inside the netns)
// against one `ip -n NS …` process per op, and against the floor of a helper binary (an
// exec of /bin/true per plan, before it does any work). Runs as root inside a namespace it
// creates and removes; prints medians and p99; asserts nothing.
// Usage: node bench/host-ops.ts [--n 200] [--json FILE]
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HostOp, NetnsRef } from "../src/host/model.ts";
import { NetlinkHost } from "../src/host/netlink-host.ts";
import { describeMachine, machineInfo } from "./lib/machine.ts";

const { values } = parseArgs({ options: { n: { type: "string", default: "200" }, json: { type: "string" } } });
const N = Math.max(10, Number(values.n));

const name = `spt-ho-b${randomBytes(3).toString("hex")}`;
const ns: NetnsRef = { kind: "path", path: `/var/run/netns/${name}` };
const ip = (...args: string[]) => execFileSync("ip", ["-n", name, ...args], { stdio: "ignore" });

function stats(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const us = (ns0: bigint) => Number(ns0) / 1000;

async function main(): Promise<void> {
  execFileSync("ip", ["netns", "add", name]);
  try {
    ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
    ip("link", "set", "veth0", "up");
    ip("link", "set", "veth1", "up");
    ip("addr", "add", "192.0.2.1/24", "dev", "veth0");
    const host = new NetlinkHost();
    const add: HostOp[] = [
      {
        op: "route.add",
        ns,
        route: { family: 4, table: 101, dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: "veth0" },
      },
      { op: "rule.add", ns, rule: { family: 4, table: 101, src: "192.0.2.1/32", priority: 999 } },
      {
        op: "neigh.add",
        ns,
        neighbour: { family: 4, dev: "veth0", address: "192.0.2.254", mac: "0a:00:00:00:00:02", permanent: true },
      },
    ];
    const del: HostOp[] = [
      { op: "route.del", ns, route: { family: 4, table: 101, dst: "198.51.100.0/24" } },
      { op: "rule.del", ns, rule: { family: 4, table: 101, src: "192.0.2.1/32", priority: 999 } },
      { op: "neigh.del", ns, neighbour: { family: 4, dev: "veth0", address: "192.0.2.254" } },
    ];
    const addon: number[] = [];
    const procs: number[] = [];
    const floor: number[] = [];
    // Warm both paths once (module load, page cache of ip(8)).
    for (let i = 0; i < 3; i++) {
      await host.apply(add);
      await host.apply(del);
    }
    for (let i = 0; i < N; i++) {
      let t = process.hrtime.bigint();
      const f1 = await host.apply(add);
      const f2 = await host.apply(del);
      addon.push(us(process.hrtime.bigint() - t));
      if (f1 !== undefined || f2 !== undefined) throw new Error(`executor failed: ${(f1 ?? f2)?.message}`);

      t = process.hrtime.bigint();
      ip("route", "add", "198.51.100.0/24", "via", "192.0.2.254", "dev", "veth0", "table", "101");
      ip("rule", "add", "from", "192.0.2.1", "lookup", "101", "pref", "999");
      ip("neigh", "add", "192.0.2.254", "lladdr", "0a:00:00:00:00:02", "dev", "veth0", "nud", "permanent");
      ip("route", "del", "198.51.100.0/24", "table", "101");
      ip("rule", "del", "from", "192.0.2.1", "lookup", "101", "pref", "999");
      ip("neigh", "del", "192.0.2.254", "dev", "veth0");
      procs.push(us(process.hrtime.bigint() - t));

      // A helper binary needs at least one exec per plan (two here: add and del).
      t = process.hrtime.bigint();
      spawnSync("/bin/true");
      spawnSync("/bin/true");
      floor.push(us(process.hrtime.bigint() - t));
    }
    const result = {
      n: N,
      unit: "µs per add+del of route, rule, neighbour",
      addon: stats(addon),
      ipProcesses: stats(procs),
      helperExecFloor: stats(floor),
      machine: machineInfo(),
    };
    const f = (x: number) => x.toFixed(0).padStart(8);
    process.stdout.write(`${describeMachine(result.machine)}\n`);
    process.stdout.write(`N=${N}, ${result.unit}\n`);
    process.stdout.write(`                       median      p99\n`);
    process.stdout.write(`NetlinkHost.apply   ${f(result.addon.median)} ${f(result.addon.p99)}\n`);
    process.stdout.write(`6 × ip(8) processes ${f(result.ipProcesses.median)} ${f(result.ipProcesses.p99)}\n`);
    process.stdout.write(`2 × exec (floor)    ${f(result.helperExecFloor.median)} ${f(result.helperExecFloor.p99)}\n`);
    process.stdout.write(`ratio ip/addon: ${(result.ipProcesses.median / result.addon.median).toFixed(1)}×\n`);
    if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(result, null, 2));
  } finally {
    execFileSync("ip", ["netns", "del", name]);
  }
}

await main();
