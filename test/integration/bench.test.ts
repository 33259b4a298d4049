// The benchmarks keep working: each scenario of `npm run bench`, run tiny, ends with a
// passing `spiderpoolctl check`, exits 0 and writes the JSON fields the issue names. No
// figure is asserted (benchmarks measure; tests never time anything).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findPlugin } from "../../src/cli/netlab.ts";
import { shimBuilt } from "../support/cluster.ts";

const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
const skip = !shimBuilt()
  ? "the shim is not built (gcc missing)"
  : findPlugin("host-local") === undefined
    ? "host-local is not installed (containernetworking-plugins)"
    : false;

function bench(args: string[]): Promise<{ code: number; out: string; json: Record<string, unknown> }> {
  const file = join(dir, `${args[0] ?? "x"}.json`);
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["bench/main.ts", ...args, "--json", file],
      { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
        } catch {
          // reported by the assertions below
        }
        done({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), out: stdout + stderr, json });
      },
    );
  });
}

function assertShape(json: Record<string, unknown>, extra: string[]): void {
  for (const k of ["scenario", "machine", "check", "failures", "duplicates", "wallSeconds", "add", "del", ...extra])
    assert.ok(k in json, `JSON has ${k}`);
  for (const k of ["add", "del"])
    assert.deepEqual(Object.keys(json[k] as object).sort(), ["medianMs", "minMs", "p95Ms", "p99Ms"]);
  assert.equal(json["check"], "pass");
  assert.equal(json["failures"], 0);
  assert.equal(json["duplicates"], 0);
  // The shim is built, so gcc is here: the plugins must have been started by the C runner,
  // not by forking this process (whose cost would be measured as the plugins').
  assert.equal(json["harness"], "cni-runner");
}

describe("npm run bench", { skip }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("storm: IPv4 and dual stack beside host-local, with API writes, conflicts and RSS", async () => {
    const r = await bench(["storm", "--pods", "12", "--nodes", "2"]);
    assert.equal(r.code, 0, r.out);
    assertShape(r.json, [
      "allocationsPerSecond",
      "apiWrites",
      "conflicts",
      "rssMB",
      "privateMB",
      "hostLocal",
      "dualToIPv4WallRatio",
    ]);
    assert.ok(Number(r.json["apiWrites"]) >= 12, "at least one pool write per pod was counted");
    assert.match(r.out, /spiderpoolctl check: pass/);
    // The plots docs/performance.md shows come from this JSON: one PNG per stack.
    const out = join(dir, "img");
    await new Promise<void>((done, fail) =>
      execFile(process.execPath, ["bench/plot.ts", join(dir, "storm.json"), "--out", out], (err) =>
        err === null ? done() : fail(err),
      ),
    );
    for (const stack of ["ipv4", "dual"])
      assert.deepEqual(
        [...readFileSync(join(out, `storm-${stack}.png`)).subarray(0, 8)],
        [137, 80, 78, 71, 13, 10, 26, 10],
      );
  });

  it("latency: the side-by-side ratio with host-local", async () => {
    const r = await bench(["latency", "--n", "3"]);
    assert.equal(r.code, 0, r.out);
    assertShape(r.json, ["hostLocal", "ratioMedianAdd"]);
    assert.match(r.out, /median ADD ratio \(spiderpool \/ host-local\): IPv4 [\d.]+, dual stack [\d.]+/);
  });

  it("scale and gc", async () => {
    const s = await bench(["scale", "--records", "30", "--n", "10", "--burst", "3"]);
    assert.equal(s.code, 0, s.out);
    assertShape(s.json, ["agentCpuMsPerAllocation", "agentCpuMsPerAllocationBurst", "pools"]);
    const pools = s.json["pools"] as Record<
      string,
      { concurrency: number; agentCpuMsPerAdd: number; agentSysMsPerAdd: number }
    >;
    assert.deepEqual(Object.keys(pools), ["big", "bigBurst", "v64", "v24"]);
    assert.equal(pools["bigBurst"]?.concurrency, 3);
    for (const f of Object.values(pools)) {
      // The kernel's part is a part: never more than the whole, never negative.
      assert.ok(f.agentSysMsPerAdd >= 0 && f.agentSysMsPerAdd <= f.agentCpuMsPerAdd, JSON.stringify(f));
    }
    const g = await bench(["gc", "--pods", "3", "--interval-ms", "20"]);
    assert.equal(g.code, 0, g.out);
    assertShape(g.json, ["freeAfterDelete", "freeAfterBurstDelete"]);
  });
});
