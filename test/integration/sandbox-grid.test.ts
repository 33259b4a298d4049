// The sandbox's pool grid: served on loopback, drawn afresh from the API on each visit (a new
// allocation shows on the next reload), reloading itself, and nothing but the page served.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GRID_REFRESH_SECONDS, serveGrid, type GridServer } from "../../src/cli/sandbox-grid.ts";
import type { GridPool } from "../../src/cli/pool-grid.ts";
import { startApiServer, type Harness } from "../support/apiserver.ts";
import { createPool } from "../support/cluster.ts";
import { writeRecord } from "../support/controller.ts";

describe("spiderpoolctl sandbox: the pool grid page", () => {
  let h: Harness;
  let grid: GridServer | undefined;
  let said = "";

  before(async () => {
    h = await startApiServer();
    await createPool(h, "web", { subnet: "192.0.2.0/24", ipVersion: 4, ips: ["192.0.2.10-192.0.2.19"] });
    await writeRecord(h, "web", "192.0.2.10", "app/a", "ua");
    grid = await serveGrid(h.client, { write: (s: string) => (said += s) });
  });
  after(async () => {
    await grid?.close();
    await h?.close();
  });

  const pools = async (): Promise<GridPool[]> => {
    const res = await fetch(grid?.url ?? "");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`<meta http-equiv="refresh" content="${GRID_REFRESH_SECONDS}">`));
    assert.match(html, /by spiderpoolctl sandbox/);
    const data = /<script id="data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] ?? "[]";
    return JSON.parse(data) as GridPool[];
  };

  it("is served on 127.0.0.1 and the sandbox says where", () => {
    assert.match(grid?.url ?? "", /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(said.includes(grid?.url ?? "?"));
  });

  it("draws the pools as they are now, a new allocation on the next visit", async () => {
    const first = (await pools()).find((p) => p.name === "web");
    assert.deepEqual(
      first?.cells.filter((c) => c[1] === "allocated"),
      [["192.0.2.10", "allocated", "app/a"]],
    );
    assert.equal(first?.cells.length, 10);
    await writeRecord(h, "web", "192.0.2.11", "app/b", "ub");
    const second = (await pools()).find((p) => p.name === "web");
    assert.deepEqual(
      second?.cells.filter((c) => c[1] === "allocated").map((c) => c[2]),
      ["app/a", "app/b"],
    );
  });

  it("serves nothing else", async () => {
    assert.equal((await fetch(new URL("/etc/passwd", grid?.url))).status, 404);
    assert.equal((await fetch(grid?.url ?? "", { method: "POST" })).status, 404);
  });
});
