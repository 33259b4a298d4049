// `spiderpoolctl top pools --html` opened in a real headless browser (Debian's Chromium):
// the cells the page draws per state equal the counts from the API (src/ipam/capacity.ts),
// and a held address names its pod on hover.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpiderIPPool } from "../../src/api/ippool.ts";
import { SpiderReservedIPKind } from "../../src/api/reservedip.ts";
import { runTop } from "../../src/cli/top.ts";
import { IPRangeSet } from "../../src/ip/index.ts";
import { poolCapacity } from "../../src/ipam/capacity.ts";
import { resourceTypeOf } from "../../src/kube/index.ts";
import { POOLS } from "../../src/poolstore/pool-writer.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool } from "../support/cluster.ts";
import { writeRecord } from "../support/controller.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const skip = CHROMIUM === undefined ? "Chromium is not installed (Debian package chromium)" : false;

function dumpDom(file: string, profile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM as string,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=2000",
        "--dump-dom",
        `file://${file}`,
      ],
      { timeout: 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err !== null ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&amp;/g, "&");

describe("the pool grid in headless Chromium", { skip }, () => {
  let h: Harness;
  let dir: string;

  before(async () => {
    h = await startApiServer();
    dir = mkdtempSync(join(tmpdir(), "grid-"));
    writeFileSync(join(dir, "kubeconfig"), h.server.kubeconfig());
    await createPool(h, "web", {
      subnet: "192.0.2.0/24",
      ipVersion: 4,
      ips: ["192.0.2.10-192.0.2.49"],
      excludeIPs: ["192.0.2.40-192.0.2.42"],
    });
    await createPool(h, "v6", { subnet: "2001:db8::/64", ipVersion: 6, ips: ["2001:db8::1-2001:db8::ffff"] });
    await h.client.create(resourceTypeOf(SpiderReservedIPKind), {
      apiVersion: "spiderpool.spidernet.io/v2beta1",
      kind: "SpiderReservedIP",
      metadata: { name: "keep" },
      spec: { ipVersion: 4, ips: ["192.0.2.30-192.0.2.31"] },
    });
    for (let i = 10; i < 15; i++) await writeRecord(h, "web", `192.0.2.${i}`, `app/web-${i}`, `u${i}`);
    await writeRecord(h, "v6", "2001:db8::2", "app/six", "u6");
  });
  after(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the drawn cells equal the API's counts; hover names the holder; a big pool says what it shows", async () => {
    const file = join(dir, "pools.html");
    let text = "";
    const code = await runTop(["pools", "--kubeconfig", join(dir, "kubeconfig"), "--html", file], {
      write: (s: string) => (text += s),
    });
    assert.equal(code, 0, text);
    const dom = await dumpDom(file, join(dir, "profile"));
    const sections = new Map<string, string>();
    for (const m of dom.matchAll(
      /<section class="pool" data-pool="([^"]+)" data-drawn="([^"]+)">([\s\S]*?)<\/section>/g,
    ))
      sections.set(m[1] as string, m[3] as string);
    assert.deepEqual([...sections.keys()].sort(), ["v6", "web"], dom.slice(0, 2000));

    const web = await h.client.get<SpiderIPPool>(POOLS, "web");
    const cap = poolCapacity(web, IPRangeSet.parse(4, ["192.0.2.30-192.0.2.31"]));
    const cells = (html: string, state: string): number =>
      [...html.matchAll(new RegExp(`class="c ${state}"`, "g"))].length;
    const body = sections.get("web") as string;
    assert.deepEqual(
      {
        allocated: cells(body, "allocated"),
        reserved: cells(body, "reserved"),
        excluded: cells(body, "excluded"),
        free: cells(body, "free"),
      },
      { allocated: cap.allocated, reserved: cap.reserved, excluded: cap.excluded, free: cap.free },
    );
    assert.deepEqual([cap.allocated, cap.reserved, cap.excluded, cap.free], [5, 2, 3, 30]);
    assert.match(body, /title="192\.0\.2\.12 — app\/web-12"/);
    const drawn = JSON.parse(unescape(/data-pool="web" data-drawn="([^"]+)"/.exec(dom)?.[1] ?? "{}")) as Record<
      string,
      number
    >;
    assert.equal(drawn["allocated"], 5);

    const six = sections.get("v6") as string;
    assert.equal(cells(six, "allocated") + cells(six, "free"), 4096);
    assert.match(six, /the first 4096 of 65535 addresses shown/);
    assert.match(six, /title="2001:db8::2 — app\/six"/);
  });
});
