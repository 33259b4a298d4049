// Issue 20's acceptance flow, as a user runs it: `spiderpoolctl sandbox --apply
// examples/statefulset.yaml`, then from another shell kubectl creates a namespace, applies a
// Deployment naming a pool, scales it to 5, lists the pods with their IPs and deletes it. Every
// pod gets a unique address of the named pool, its network namespace holds it (as root with
// the plugins), deleting frees the addresses and removes the namespaces, `spiderpoolctl check` passes.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { labUnavailable } from "../../src/cli/netlab.ts";
import { eventually } from "../support/apiserver.ts";
import { shimBuilt } from "../support/cluster.ts";
import { KUBECTL, runKubectl } from "../support/kubectl.ts";

const exec = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CTL = join(ROOT, "bin", "spiderpoolctl");
const noLab = await labUnavailable();
const skip = KUBECTL === undefined ? "kubectl is not installed" : shimBuilt() ? false : "the shim is not built";

const DEPLOYMENT = `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: demo-v4
spec:
  subnet: 192.0.2.0/24
  ips: ["192.0.2.40-192.0.2.60"]
  gateway: 192.0.2.1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        ipam.spidernet.io/ippool: '{"ipv4": ["demo-v4"]}'
    spec:
      containers: [{name: app, image: pause}]
`;

/** Addresses of eth0 in each pod namespace the sandbox made. */
async function namespaceAddresses(prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const list = (await exec("ip", ["-j", "netns", "list"])).stdout;
  for (const { name } of JSON.parse(list === "" ? "[]" : list) as Array<{ name: string }>) {
    // Pods' namespaces are <prefix>-<node>-<6 hex>; the nodes' own are <prefix>-<node>.
    if (!new RegExp(`^${prefix}-node\\d+-[0-9a-f]{6}$`).test(name)) continue;
    // A namespace being set up or torn down has no eth0 (yet, or any more).
    const shown = await exec("ip", ["-n", name, "-j", "addr", "show", "dev", "eth0"]).catch(() => ({ stdout: "[]" }));
    const j = JSON.parse(shown.stdout) as Array<{ addr_info?: Array<{ local: string; scope: string }> }>;
    out.set(
      name,
      (j[0]?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => a.local),
    );
  }
  return out;
}

describe("issue 20 acceptance: kubectl against a running sandbox", { skip }, () => {
  const prefix = `spt-sb-${randomBytes(2).toString("hex")}`;
  let dir: string;
  let kubeconfig: string;
  let child: ChildProcess;
  let output = "";
  const kubectl = async (...args: string[]): Promise<string> => {
    const r = await runKubectl(dir, kubeconfig, args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sandbox-kubectl-"));
    kubeconfig = join(dir, "kubeconfig");
    child = spawn(
      CTL,
      [
        "sandbox",
        "--apply",
        join(ROOT, "examples", "statefulset.yaml"),
        "--nodes",
        "2",
        "--pods",
        "0",
        "--kubeconfig-out",
        kubeconfig,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SPIDERPOOL_SANDBOX_NETNS_PREFIX: prefix } },
    );
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    await eventually(
      () => output.includes("running; Ctrl-C") || child.exitCode !== null,
      90_000,
      "the sandbox up",
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    assert.equal(child.exitCode, null, output);
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
    const left = (await exec("ip", ["netns", "list"]).catch(() => ({ stdout: "" }))).stdout
      .split("\n")
      .filter((l) => l.startsWith(prefix));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], "the sandbox removed every namespace it made");
  });

  it(
    "SB-18: create namespace, apply, scale to 5, get -o wide, delete; check passes",
    { timeout: 180_000 },
    async () => {
      assert.match(output, /^example-sts\s+db-0\s+node\d\s+Running\s+203\.0\.113\.66/m, "the applied example runs");
      await kubectl("create", "namespace", "demo");
      const manifest = join(dir, "web.yaml");
      writeFileSync(manifest, DEPLOYMENT);
      assert.match(await kubectl("apply", "-f", manifest), /deployment\.apps\/web created/);
      assert.match(
        await kubectl("-n", "demo", "scale", "deployment", "web", "--replicas=5"),
        /deployment\.apps\/web scaled/,
      );

      let table = "";
      await eventually(
        async () => {
          table = await kubectl("-n", "demo", "get", "pods", "-o", "wide");
          return table.split("\n").filter((l) => /^web-\S+\s+Running\s+192\.0\.2\.\d+\s+node\d/.test(l)).length === 5;
        },
        60_000,
        "5 pods Running with IPs in kubectl get pods -o wide",
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${table}`);
      });
      assert.match(table, /^NAME\s+STATUS\s+IP\s+NODE\s+AGE$/m);
      let ips = [...table.matchAll(/^web-\S+\s+Running\s+(192\.0\.2\.\d+)\s/gm)].map((m) => m[1] as string);
      assert.equal(new Set(ips).size, 5, `unique addresses: ${ips.join(" ")}`);
      for (const ip of ips) {
        const last = Number(ip.split(".")[3]);
        assert.ok(last >= 40 && last <= 60, `${ip} from demo-v4`);
      }
      const pool = JSON.parse(await kubectl("get", "spiderippool", "demo-v4", "-o", "json")) as {
        status?: { allocatedIPCount?: number };
      };
      assert.equal(pool.status?.allocatedIPCount, 5);

      let before = new Map<string, string[]>();
      if (noLab === undefined) {
        before = await namespaceAddresses(prefix);
        const held = [...before.values()].flat();
        for (const ip of ips) assert.ok(held.includes(ip), `a network namespace holds ${ip}`);
        // With the host addon the chain ends with the coordinator, whose veth0 links the pod to its node.
        if (/^chain: macvlan → spiderpool → coordinator$/m.test(output))
          for (const [ns, addrs] of before)
            if (addrs.some((a) => ips.includes(a)))
              assert.match((await exec("ip", ["-n", ns, "link", "show", "veth0"])).stdout, /veth0@/, `${ns} has veth0`);
      }

      // kubectl rollout restart: every pod is replaced, the new ones again with addresses of the pool.
      const oldNames = new Set([...table.matchAll(/^(web-\S+)\s/gm)].map((m) => m[1]));
      assert.match(await kubectl("-n", "demo", "rollout", "restart", "deployment", "web"), /restarted/);
      assert.match(
        await kubectl("-n", "demo", "rollout", "status", "deployment", "web", "--timeout=60s"),
        /successfully rolled out/,
      );
      await eventually(
        async () => {
          table = await kubectl("-n", "demo", "get", "pods", "-o", "wide");
          const rows = [...table.matchAll(/^(web-\S+)\s+(\S+)\s+(\S+)/gm)];
          return rows.length === 5 && rows.every((m) => m[2] === "Running" && !oldNames.has(m[1]));
        },
        60_000,
        "5 new pods after the restart",
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${table}`);
      });
      ips = [...table.matchAll(/^web-\S+\s+Running\s+(192\.0\.2\.\d+)\s/gm)].map((m) => m[1] as string);
      assert.equal(new Set(ips).size, 5, `unique addresses after the restart: ${ips.join(" ")}`);
      if (noLab === undefined) {
        before = await namespaceAddresses(prefix);
        const held = [...before.values()].flat();
        for (const ip of ips) assert.ok(held.includes(ip), `a network namespace holds ${ip} after the restart`);
      }

      assert.match(await kubectl("-n", "demo", "delete", "deployment", "web"), /deployment\.apps "web" deleted/);
      await eventually(
        async () => (await kubectl("-n", "demo", "get", "pods", "-o", "name")).trim() === "",
        60_000,
        "the Deployment's pods gone",
      );
      await eventually(
        async () =>
          (
            JSON.parse(await kubectl("get", "spiderippool", "demo-v4", "-o", "json")) as {
              status?: { allocatedIPCount?: number };
            }
          ).status?.allocatedIPCount === 0,
        10_000,
        "demo-v4's addresses freed",
      );
      if (noLab === undefined) {
        // A pod goes only after its kubelet's DEL and namespace removal, so this holds at once.
        const now = await namespaceAddresses(prefix);
        const heldNow = [...now.values()].flat();
        for (const ip of ips) assert.ok(!heldNow.includes(ip), `no namespace holds ${ip} any more`);
        assert.equal(now.size, 3, `only the StatefulSet's 3 pods keep namespaces: ${[...now.keys()].join(" ")}`);
      }
      const check = await exec(CTL, ["check", "--kubeconfig", kubeconfig]).catch(
        (err: { code?: number; stdout?: string }) => err,
      );
      assert.equal((check as { code?: number }).code ?? 0, 0, (check as { stdout?: string }).stdout);
    },
  );
});
