// The README's main job: `spiderpoolctl sandbox --once` prints its tables and exits 0.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { labUnavailable } from "../../src/cli/netlab.ts";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "spiderpoolctl");

function sandbox(
  args: string[],
  prefix = `spt-sb-${randomBytes(2).toString("hex")}`,
): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const dir = mkdtempSync(join(tmpdir(), "sandbox-test-"));
    const child = spawn(BIN, ["sandbox", "--once", "--kubeconfig-out", join(dir, "kc"), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SPIDERPOOL_SANDBOX_NETNS_PREFIX: prefix },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => {
      const kcLeft = existsSync(join(dir, "kc"));
      rmSync(dir, { recursive: true, force: true });
      done({ code, out: kcLeft ? `${out}\nKUBECONFIG LEFT BEHIND` : out });
    });
  });
}

const noLab = await labUnavailable();

describe("spiderpoolctl sandbox --once", () => {
  it(
    "IPAM only: every pod gets its addresses, the check passes, everything is cleaned up",
    { timeout: 120_000 },
    async () => {
      const r = await sandbox(["--mode", "ipam", "--nodes", "2", "--pods", "4"]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /mode: IPAM only \(asked for\)/);
      assert.match(r.out, /chain: spiderpool IPAM only/);
      assert.match(r.out, /^NAMESPACE\s+POD\s+NODE\s+STATUS\s+ADDRESSES\s+SEEN IN$/m);
      // The scheduler spreads the pods; the StatefulSet's come up in order, so db-0 gets the first address.
      assert.match(r.out, /^sandbox\s+db-0\s+node\d\s+Running\s+198\.51\.100\.10 2001:db8:1::10\s+IPAM result$/m);
      assert.match(r.out, /^sandbox\s+db-1\s+node\d\s+Running\s+198\.51\.100\.11 2001:db8:1::11\s+IPAM result$/m);
      assert.equal(
        r.out.match(/^sandbox\s+web-[a-z0-9]{10}-[a-z0-9]{5}\s+node\d\s+Running\s+192\.0\.2\.1[01]\s/gm)?.length,
        2,
      );
      assert.match(
        r.out,
        /SpiderSubnet sandbox-subnet-v4: auto-created pool auto4-web-eth0-[0-9a-f]{5} with 3 addresses for Deployment web \(replicas 2, \+1\)/,
      );
      assert.match(r.out, /^auto4-web-eth0-[0-9a-f]{5}\s+192\.0\.2\.0\/24\s+2\s+3$/m);
      assert.match(r.out, /^sandbox-subnet-v4\s+192\.0\.2\.0\/24\s+3\s+241\s+auto4-web-eth0-[0-9a-f]{5}$/m);
      assert.match(r.out, /consistency check: ok \(6 records\)/);
      assert.match(r.out, /^sandbox\s+macvlan-eth-m\s+macvlan-eth-m\s+macvlan,coordinator$/m, "the NAD from the SMC");
      assert.match(
        r.out,
        /SpiderCoordinator default: Synced, overlayPodCIDR \["203\.0\.113\.0\/25"\], serviceCIDR \["203\.0\.113\.128\/25"\]/,
      );
      assert.doesNotMatch(r.out, /KUBECONFIG LEFT BEHIND/);
    },
  );

  it(
    "macvlan in network namespaces, as root with the plugins",
    { timeout: 120_000, skip: noLab ?? false },
    async () => {
      const prefix = `spt-sb-${randomBytes(2).toString("hex")}`;
      const r = await sandbox(["--mode", "macvlan", "--nodes", "2", "--pods", "2"], prefix);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /mode: macvlan in network namespaces/);
      assert.match(r.out, /chain: macvlan → spiderpool/);
      assert.match(
        r.out,
        /^sandbox\s+web-[a-z0-9]{10}-[a-z0-9]{5}\s+node\d\s+Running\s+192\.0\.2\.10\/24\s+netns spt-sb-/m,
      );
      assert.match(r.out, /consistency check: ok \(3 records\)/);
      assert.deepEqual(
        execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
          .split("\n")
          .filter((l) => l.startsWith(prefix)),
        [],
        "every namespace removed",
      );
    },
  );

  it("bad options exit 2 with the usage", async () => {
    const r = await sandbox(["--nodes", "0"]);
    assert.equal(r.code, 2);
    assert.match(r.out, /--nodes must be an integer from 1 to 50/);
  });
});
